/**
 * The emulator enforces no deletion order, so only this test catches a `down` that runs the steps
 * in the wrong order: the real step graph, destroy phase, with every resource recorded.
 */
import { describe, expect, it } from 'vitest';
import { runPhase, type Engine } from '../../../src/engine/run.js';
import type { Step } from '../../../src/engine/step.js';
import { ALL_STEPS } from '../../../src/steps/index.js';
import { createReporter } from '../../../src/ui/reporter.js';
import { testContext } from '../../helpers/context.js';

describe('down removes in reverse dependency order', () => {
  it('the service before the cluster and the task security group; the listener before the target group and the load balancer', async () => {
    const ctx = testContext();
    const events: string[] = [];
    // The real graph (ids and dependencies), with destroys that take a moment and record when they run.
    const steps: Step[] = ALL_STEPS.map((real) => ({
      ...real,
      proveOwnership: undefined,
      destroy: async () => {
        events.push(`start ${real.id}`);
        await new Promise((resolve) => setTimeout(resolve, 2));
        events.push(`end ${real.id}`);
        ctx.state.forget(real.id);
        return '';
      },
    }));
    for (const step of steps) ctx.state.record(step.id, { id: `${step.id}-id`, origin: 'created' });
    const sink = { write: () => true } as unknown as NodeJS.WritableStream;
    const engine: Engine = { ...ctx, reporter: createReporter({ json: true, interactive: false, stdout: sink, stderr: sink }) };

    await runPhase(engine, steps, 'destroy');

    const at = (event: string) => {
      const index = events.indexOf(event);
      expect(index, event).toBeGreaterThanOrEqual(0);
      return index;
    };
    expect(at('end service')).toBeLessThan(at('start cluster'));
    expect(at('end service')).toBeLessThan(at('start taskSecurityGroup'));
    expect(at('end service')).toBeLessThan(at('start discoveryService'));
    expect(at('end service')).toBeLessThan(at('start taskDefinition'));
    expect(at('end listener')).toBeLessThan(at('start targetGroup'));
    expect(at('end listener')).toBeLessThan(at('start loadBalancer'));
    expect(at('end loadBalancer')).toBeLessThan(at('start albSecurityGroup'));
    expect(at('end taskSecurityGroup')).toBeLessThan(at('start albSecurityGroup'));
    expect(at('end discoveryService')).toBeLessThan(at('start namespace'));
    expect(at('end taskDefinition')).toBeLessThan(at('start executionRole'));
    expect(at('end taskDefinition')).toBeLessThan(at('start logGroup'));
    expect(ctx.state.isEmpty()).toBe(true);
  });
});
