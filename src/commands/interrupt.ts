import type { Reporter } from '../ui/reporter.js';

/**
 * Ctrl-C (or SIGTERM) aborts the returned signal and calls `onFirst`; a second one exits at once
 * (130), after writing `onSecond` when given.
 */
export function interruptSignal(onFirst: () => void, onSecond?: string): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onSignal = (): void => {
    if (controller.signal.aborted) {
      if (onSecond) process.stderr.write(onSecond);
      process.exit(130);
    }
    controller.abort();
    onFirst();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/**
 * The first Ctrl-C lets the calls in flight finish and the state be saved (the engine stops
 * starting steps); a second one exits at once.
 */
export function abortOnInterrupt(reporter: () => Reporter | undefined): { signal: AbortSignal; dispose: () => void } {
  return interruptSignal(
    () => reporter()?.warn('interrupted: finishing the calls in flight and saving state (Ctrl-C again to exit now)'),
    '\ninterrupted again: exiting now; run the command again to resume\n',
  );
}
