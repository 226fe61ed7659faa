import type { Reporter } from '../ui/reporter.js';

/**
 * The first Ctrl-C lets the calls in flight finish and the state be saved (the engine stops
 * starting steps); a second one exits at once.
 */
export function abortOnInterrupt(reporter: () => Reporter | undefined): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onSignal = (): void => {
    if (controller.signal.aborted) {
      process.stderr.write('\ninterrupted again: exiting now; run the command again to resume\n');
      process.exit(130);
    }
    controller.abort();
    reporter()?.warn('interrupted: finishing the calls in flight and saving state (Ctrl-C again to exit now)');
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
