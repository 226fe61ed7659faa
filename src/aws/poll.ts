import type { Clock } from '../clock.js';
import { OperationError } from '../errors.js';
import { awsErrorCode, isAwsError } from './errors.js';

export interface PollOptions {
  clock: Clock;
  /** What is being waited for, for messages: "service ecs-ha to become steady". */
  what: string;
  timeoutMs: number;
  intervalMs?: number;
  /** Called before each wait with the seconds waited so far and the latest status text. */
  onWait?: (elapsedSeconds: number, status: string) => void;
}

/**
 * Calls `check` until it reports done or the time runs out. `check` returns
 * `{ done: true, value }` or `{ done: false, status }` where status says what it saw.
 */
export async function pollUntil<T>(
  check: () => Promise<{ done: true; value: T } | { done: false; status: string }>,
  options: PollOptions,
): Promise<T> {
  const { clock, what, timeoutMs, intervalMs = 5_000, onWait } = options;
  const started = clock.now();
  for (;;) {
    const result = await check();
    if (result.done) return result.value;
    const elapsed = clock.now() - started;
    if (elapsed >= timeoutMs) {
      throw new OperationError(
        `timed out after ${Math.round(elapsed / 1000)}s waiting for ${what} (last seen: ${result.status})`,
        'run the command again to keep waiting; it resumes where it stopped',
      );
    }
    onWait?.(Math.round(elapsed / 1000), result.status);
    await clock.sleep(Math.min(intervalMs, Math.max(0, timeoutMs - elapsed)));
  }
}

export interface RetryOptions {
  clock: Clock;
  what: string;
  /** Error codes that mean "not yet" (DependencyViolation while ENIs are released), or a test of the error. */
  retryOn: string[] | ((error: unknown) => boolean);
  timeoutMs: number;
  initialDelayMs?: number;
  maxDelayMs?: number;
  onRetry?: (elapsedSeconds: number, code: string, error: unknown) => void;
}

/** Runs `action`, retrying with exponential backoff while it fails as `retryOn` says it may. */
export async function retryWhile<T>(action: () => Promise<T>, options: RetryOptions): Promise<T> {
  const { clock, retryOn, timeoutMs, initialDelayMs = 2_000, maxDelayMs = 20_000, onRetry } = options;
  const started = clock.now();
  let delay = initialDelayMs;
  for (;;) {
    try {
      return await action();
    } catch (error) {
      const elapsed = clock.now() - started;
      const retryable = typeof retryOn === 'function' ? retryOn(error) : isAwsError(error, ...retryOn);
      if (!retryable || elapsed >= timeoutMs) throw error;
      onRetry?.(Math.round(elapsed / 1000), awsErrorCode(error), error);
      await clock.sleep(delay);
      delay = Math.min(delay * 2, maxDelayMs);
    }
  }
}
