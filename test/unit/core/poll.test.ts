import { describe, expect, it } from 'vitest';
import { pollUntil, retryWhile } from '../../../src/aws/poll.js';
import { interruptibleClock, realClock } from '../../../src/clock.js';
import { ExitCode } from '../../../src/errors.js';
import { awsError, fakeClock } from '../../helpers/context.js';

describe('waiting', () => {
  it('polls until done and reports each wait', async () => {
    const clock = fakeClock();
    const seen: string[] = [];
    let calls = 0;
    const value = await pollUntil(async () => (++calls < 3 ? { done: false, status: `try ${calls}` } : { done: true, value: 'ok' }), {
      clock,
      what: 'x',
      timeoutMs: 60_000,
      intervalMs: 5_000,
      onWait: (seconds, status) => seen.push(`${seconds}s ${status}`),
    });
    expect(value).toBe('ok');
    expect(seen).toEqual(['0s try 1', '5s try 2']);
  });

  it('times out with what it last saw', async () => {
    await expect(
      pollUntil(async () => ({ done: false, status: '1/2 healthy' }), { clock: fakeClock(), what: 'targets to be healthy', timeoutMs: 20_000 }),
    ).rejects.toThrow('timed out after 20s waiting for targets to be healthy (last seen: 1/2 healthy)');
  });

  it('retries only the named error codes, with growing delays, then gives up', async () => {
    const clock = fakeClock();
    let calls = 0;
    const result = await retryWhile(
      async () => {
        if (++calls < 4) throw awsError('DependencyViolation');
        return 'deleted';
      },
      { clock, what: 'sg', retryOn: ['DependencyViolation'], timeoutMs: 600_000 },
    );
    expect(result).toBe('deleted');
    expect(clock.slept).toEqual([2000, 4000, 8000]);
    await expect(retryWhile(async () => Promise.reject(awsError('AccessDenied')), { clock, what: 'sg', retryOn: ['DependencyViolation'], timeoutMs: 1 })).rejects.toThrow('AccessDenied');
  });

  it('ends a sleep at once with exit 130 when interrupted', async () => {
    const controller = new AbortController();
    const clock = interruptibleClock(realClock, controller.signal);
    const started = Date.now();
    const sleeping = clock.sleep(60_000);
    setTimeout(() => controller.abort(), 20);
    await expect(sleeping).rejects.toMatchObject({ exitCode: ExitCode.interrupted });
    expect(Date.now() - started).toBeLessThan(5_000);
    await expect(clock.sleep(1)).rejects.toMatchObject({ exitCode: ExitCode.interrupted });
  });
});
