import http from 'node:http';
import type { Logger } from '../shared/logger.ts';

export function listen(handler: http.RequestListener, port: number, host: string): Promise<http.Server> {
  return new Promise((resolve, reject) => {
    const server = http.createServer(handler);
    // Slightly above common load-balancer idle timeouts, so the balancer closes first.
    server.keepAliveTimeout = 65_000;
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

/**
 * On SIGTERM/SIGINT: stop accepting, let in-flight requests finish (up to 10 s), then release
 * resources (the database last). A second signal exits at once.
 */
export function shutdownGracefully(servers: http.Server[], release: () => Promise<void>, logger: Logger, graceMs = 10_000): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      logger.warn('in-flight requests did not finish in time; closing connections');
      for (const server of servers) server.closeAllConnections();
    }, graceMs);
    force.unref();
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    })));
    clearTimeout(force);
    await release();
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}
