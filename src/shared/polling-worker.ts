import type { Logger } from './logger.ts';

/**
 * Runs `runOnce` every `pollMs` until stopped. `runOnce` returns how many items it handled; when
 * it handled some, the next round starts at once (drain the backlog), otherwise it waits.
 * Errors are logged and the loop goes on: a database blip must not stop deliveries for good.
 */
export function startPollingWorker(options: { name: string; pollMs: number; logger: Logger; runOnce: () => Promise<number> }): { stop(): Promise<void> } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  const round = async () => {
    if (stopped) return;
    let handled = 0;
    try {
      handled = await options.runOnce();
    } catch (error) {
      options.logger.warn({ err: error, worker: options.name }, 'worker round failed; will retry');
    }
    if (!stopped) {
      timer = setTimeout(schedule, handled > 0 ? 0 : options.pollMs);
      timer.unref();
    }
  };
  const schedule = () => {
    running = round();
  };
  schedule();

  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
