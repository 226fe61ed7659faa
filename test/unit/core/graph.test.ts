import { describe, expect, it } from 'vitest';
import { checkGraph, runGraph } from '../../../src/engine/graph.js';
import type { Step, StepId } from '../../../src/engine/step.js';

function step(id: StepId, dependsOn: StepId[] = []): Step {
  const nothing = async () => '';
  return { id, title: id, dependsOn, ensure: nothing, destroy: nothing, discover: async () => undefined };
}

const steps = [step('network'), step('albSecurityGroup', ['network']), step('targetGroup', ['network']), step('loadBalancer', ['albSecurityGroup']), step('listener', ['loadBalancer', 'targetGroup'])];

/** Runs the graph with an action that records start/end and yields between them. */
async function trace(options: Parameters<typeof runGraph>[2] = {}, fail?: StepId) {
  const events: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const done = await runGraph(
    steps,
    async (s) => {
      events.push(`start ${s.id}`);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      if (s.id === fail) throw new Error(`boom ${s.id}`);
      events.push(`end ${s.id}`);
    },
    options,
  ).catch((error: Error) => error);
  return { events, maxInFlight, done };
}

describe('runGraph', () => {
  it('starts a step only after all it depends on, and runs independent steps together', async () => {
    const { events, maxInFlight } = await trace();
    const at = (e: string) => events.indexOf(e);
    expect(at('start albSecurityGroup')).toBeGreaterThan(at('end network'));
    expect(at('start listener')).toBeGreaterThan(at('end loadBalancer'));
    expect(at('start listener')).toBeGreaterThan(at('end targetGroup'));
    expect(maxInFlight).toBe(2); // albSecurityGroup and targetGroup run at once
  });

  it('walks the graph backwards for teardown', async () => {
    const { events } = await trace({ reverse: true });
    const at = (e: string) => events.indexOf(e);
    expect(events[0]).toBe('start listener');
    expect(at('start network')).toBeGreaterThan(at('end albSecurityGroup'));
    expect(at('start albSecurityGroup')).toBeGreaterThan(at('end loadBalancer'));
  });

  it('respects a concurrency of one', async () => {
    const { maxInFlight, events } = await trace({ concurrency: 1 });
    expect(maxInFlight).toBe(1);
    expect(events.filter((e) => e.startsWith('end'))).toHaveLength(5);
  });

  it('starts nothing new after a failure, lets running steps finish, and throws the error', async () => {
    const { events, done } = await trace({}, 'targetGroup');
    expect(done).toBeInstanceOf(Error);
    expect((done as Error).message).toBe('boom targetGroup');
    expect(events).toContain('end albSecurityGroup'); // ran alongside the failing step
    expect(events).not.toContain('start listener');
  });

  it('starts nothing new once aborted', async () => {
    const controller = new AbortController();
    const started: string[] = [];
    await runGraph(
      steps,
      async (s) => {
        started.push(s.id);
        controller.abort();
      },
      { signal: controller.signal },
    );
    expect(started).toEqual(['network']);
  });

  it('rejects unknown dependencies and cycles', () => {
    expect(() => checkGraph([step('network', ['cluster'])])).toThrow('unknown step cluster');
    expect(() => checkGraph([step('network', ['cluster']), step('cluster', ['network'])])).toThrow('cycle');
  });
});
