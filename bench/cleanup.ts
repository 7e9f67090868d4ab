/**
 * What must be undone however a run ends (done, failed, Ctrl-C): the IdP stopped, the database
 * dropped — in reverse order of creation, each step once.
 */
export interface Cleanup {
  add(run: () => Promise<void>, now?: () => void): void;
  run(): Promise<void>;
  /** From the synchronous `exit` event: only what can be done at once (SIGKILL the IdP). */
  killNow(): void;
}

export function createCleanup(onStepFailed: (error: Error) => void): Cleanup {
  const steps: Array<{ run: () => Promise<void>; now?: () => void }> = [];
  let running: Promise<void> | undefined;
  return {
    add(run, now) {
      steps.push({ run, now });
    },
    run() {
      running ??= (async () => {
        for (const step of [...steps].reverse()) {
          try {
            await step.run();
          } catch (error) {
            onStepFailed(error as Error);
          }
        }
      })();
      return running;
    },
    killNow() {
      for (const step of steps) step.now?.();
    },
  };
}
