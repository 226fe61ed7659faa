import { describe, expect, it } from 'vitest';
import { runPhase, type Engine } from '../../../src/engine/run.js';
import { lookedUp, type Step, type StepId } from '../../../src/engine/step.js';
import { createReporter } from '../../../src/ui/reporter.js';
import { testContext } from '../../helpers/context.js';

const sink = { write: () => true } as unknown as NodeJS.WritableStream;

function engine(concurrency?: number): Engine {
  const ctx = testContext();
  return {
    config: ctx.config,
    names: ctx.names,
    aws: ctx.aws,
    state: ctx.state,
    clock: ctx.clock,
    runner: ctx.runner,
    reporter: createReporter({ json: true, interactive: false, stdout: sink, stderr: sink }),
    waitTimeoutMs: 1000,
    ...(concurrency ? { concurrency } : {}),
  };
}

/** Two steps, the second depending on the first; the second has a lookup. Records the order of events. */
function steps(events: string[], lookupResult: () => Promise<string>): Step[] {
  const tick = () => new Promise((r) => setTimeout(r, 5));
  const first: Step = {
    id: 'network',
    title: 'first',
    dependsOn: [],
    ensure: async () => {
      events.push('first ensure start');
      await tick();
      events.push('first ensure end');
      return '';
    },
    destroy: async () => '',
    discover: async () => undefined,
  };
  const lookup = async () => {
    events.push('second lookup');
    return lookupResult();
  };
  const second: Step = {
    id: 'targetGroup' as StepId,
    title: 'second',
    dependsOn: ['network'],
    lookup,
    ensure: async (ctx) => {
      events.push(`second ensure got ${await lookedUp(ctx, lookup)}`);
      return '';
    },
    destroy: async () => '',
    discover: async () => undefined,
  };
  return [first, second];
}

describe('early lookups', () => {
  it('start before the steps they wait for, once, and reach ensure', async () => {
    const events: string[] = [];
    await runPhase(engine(), steps(events, async () => 'found'), 'ensure');
    expect(events.indexOf('second lookup')).toBeLessThan(events.indexOf('first ensure end'));
    expect(events.filter((e) => e === 'second lookup')).toHaveLength(1);
    expect(events.at(-1)).toBe('second ensure got found');
  });

  it('do not start early at a set concurrency (one call at a time means one call at a time)', async () => {
    const events: string[] = [];
    await runPhase(engine(1), steps(events, async () => 'found'), 'ensure');
    expect(events).toEqual(['first ensure start', 'first ensure end', 'second lookup', 'second ensure got found']);
  });

  it('report a lookup error in the step that owns it', async () => {
    const events: string[] = [];
    const failing = steps(events, async () => Promise.reject(Object.assign(new Error('denied'), { name: 'AccessDeniedException' })));
    await expect(runPhase(engine(), failing, 'ensure')).rejects.toThrow(/second: .*AccessDeniedException: denied/);
    expect(events).toContain('first ensure end');
  });
});
