import { describe, expect, it } from 'vitest';
import { stepContext, type Engine } from '../../../src/engine/run.js';
import { serviceStep } from '../../../src/steps/service.js';
import { createReporter } from '../../../src/ui/reporter.js';
import { testContext } from '../../helpers/context.js';

describe('--timeout bounds the whole command', () => {
  it('gives each step what is left of the deadline, not the whole timeout again', async () => {
    const base = testContext();
    const sink = { write: () => true } as unknown as NodeJS.WritableStream;
    const engine: Engine = { ...base, waitTimeoutMs: 900_000, deadline: base.clock.now() + 900_000, reporter: createReporter({ json: false, interactive: false, stdout: sink, stderr: sink }) };

    expect(stepContext(engine, serviceStep).waitTimeoutMs).toBe(900_000);
    await base.clock.sleep(600_000); // earlier steps took ten minutes
    expect(stepContext(engine, serviceStep).waitTimeoutMs).toBe(300_000);
    await base.clock.sleep(400_000);
    expect(stepContext(engine, serviceStep).waitTimeoutMs).toBe(0);
  });

  it('without a deadline (tests, the benchmark) uses the fixed wait', () => {
    const base = testContext();
    const sink = { write: () => true } as unknown as NodeJS.WritableStream;
    const engine: Engine = { ...base, waitTimeoutMs: 1_000, reporter: createReporter({ json: false, interactive: false, stdout: sink, stderr: sink }) };
    expect(stepContext(engine, serviceStep).waitTimeoutMs).toBe(1_000);
  });
});
