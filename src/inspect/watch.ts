/**
 * The polling loops `chaos` and `deploy` share: look at the service every poll while the prober
 * runs, until what they wait for happens, Ctrl-C, or the deadline; then keep looking for a while
 * so that late events are still recorded. All waiting goes through the session's clock.
 */
import type { Session } from '../session.js';

/** How many looks in a row may fail (throttling, a network blip) before the command gives up. */
export const MAX_FAILED_LOOKS = 3;

/**
 * One look: fed to the tracker by `look`. A failed look is warned about and tolerated
 * MAX_FAILED_LOOKS - 1 times in a row; then its error ends the command.
 */
async function lookTolerantly(session: Session, look: () => Promise<void>, failedBefore: number): Promise<boolean> {
  try {
    await look();
    return true;
  } catch (error) {
    if (failedBefore + 1 >= MAX_FAILED_LOOKS) throw error;
    session.reporter.warn(`could not look at the service (${(error as Error).message}); trying again`);
    return false;
  }
}

/** Looks every `pollMs` until `done()`, Ctrl-C or `deadline` (clock time); `afterLook` runs after each look. */
export async function watchUntil(session: Session, options: { look: () => Promise<void>; afterLook: () => void; done: () => boolean; deadline: number; pollMs: number }): Promise<void> {
  const { clock, signal } = session;
  let failedLooks = 0;
  for (;;) {
    failedLooks = (await lookTolerantly(session, options.look, failedLooks)) ? 0 : failedLooks + 1;
    options.afterLook();
    const now = clock.now();
    if (options.done() || signal.aborted || now >= options.deadline) return;
    await clock.sleep(Math.min(options.pollMs, options.deadline - now), signal);
    if (signal.aborted) return;
  }
}

/**
 * Keeps looking for `durationMs` (until Ctrl-C). The outcome no longer depends on these looks, so a
 * failed one is only warned about.
 */
export async function keepWatching(session: Session, options: { look: () => Promise<void>; afterLook: () => void; durationMs: number; pollMs: number }): Promise<void> {
  const { clock, signal } = session;
  const end = clock.now() + options.durationMs;
  for (let now = clock.now(); now < end && !signal.aborted; now = clock.now()) {
    await clock.sleep(Math.min(options.pollMs, end - now), signal);
    if (signal.aborted) return;
    await lookTolerantly(session, options.look, 0);
    options.afterLook();
  }
}
