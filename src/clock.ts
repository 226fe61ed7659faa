/** Time and waiting, injectable so that waits are instant in tests: not AWS code (the prober uses it too). */
import { InterruptedError } from './errors.js';

/** Time, injectable so that waits are instant in tests. */
export interface Clock {
  now(): number;
  /** Resolves after `ms`, or early (without error) once `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      // Cleared on abort so that a pending timer does not hold the process after Ctrl-C.
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
    }),
};

/**
 * A clock whose sleeps end with InterruptedError once `signal` aborts (Ctrl-C), so a long wait
 * (a service to become steady, ENIs to be released) stops at once; state is saved after every
 * resource, so nothing is lost.
 */
export function interruptibleClock(clock: Clock, signal: AbortSignal | undefined): Clock {
  if (!signal) return clock;
  const interrupted = () => new InterruptedError('interrupted while waiting for AWS; the state is saved: run the command again to resume');
  return {
    now: () => clock.now(),
    sleep: async (ms) => {
      if (signal.aborted) throw interrupted();
      await clock.sleep(ms, signal);
      if (signal.aborted) throw interrupted();
    },
  };
}
