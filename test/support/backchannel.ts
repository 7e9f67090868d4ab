import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A relying party's back-channel logout endpoint on loopback that keeps every logout token it receives. */
export interface BackchannelReceiver {
  url: string;
  logoutTokens: string[];
  close(): Promise<void>;
}

export async function startBackchannelReceiver(): Promise<BackchannelReceiver> {
  const logoutTokens: string[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      logoutTokens.push(new URLSearchParams(body).get('logout_token') ?? '');
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/backchannel-logout`,
    logoutTokens,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
