import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CreateClusterCommand, DescribeClustersCommand } from '@aws-sdk/client-ecs';
import { describe, expect, it } from 'vitest';
import { AwsClients } from '../../../src/aws/clients.js';
import { formatPlan, type PlanResult } from '../../../src/commands/plan.js';
import { existingResource, hasDrift, PlannedState, refuseMutatingCalls, runPlan, type PlannedChange } from '../../../src/engine/plan.js';
import type { Engine } from '../../../src/engine/run.js';
import type { Step, StepContext } from '../../../src/engine/step.js';
import { EnvironmentError, ExitCode, OperationError } from '../../../src/errors.js';
import { StateStore } from '../../../src/state/store.js';
import { createReporter } from '../../../src/ui/reporter.js';
import { ACCOUNT, REGION, testContext } from '../../helpers/context.js';
import { planThenEnsure } from './planAgreement.js';

const sink = { write: () => true } as unknown as NodeJS.WritableStream;

/** An engine over a state folder that does not exist: a plan must not make it. */
function engine(): Engine & { stateDir: string } {
  const ctx = testContext();
  const stateDir = join(ctx.state.dir, 'not-made');
  return {
    ...ctx,
    state: StateStore.open(stateDir, ctx.config.stack, ACCOUNT, REGION),
    reporter: createReporter({ json: true, interactive: false, stdout: sink, stderr: sink }),
    stateDir,
  };
}

function step(id: Step['id'], dependsOn: Step['id'][], plan?: Step['plan'], checksEnvironment = false): Step {
  return {
    id,
    title: id,
    dependsOn,
    ...(checksEnvironment ? { checksEnvironment } : {}),
    ...(plan ? { plan } : {}),
    ensure: async () => {
      throw new Error(`a plan ran ${id}'s ensure`);
    },
    destroy: async () => '',
    discover: async () => undefined,
  };
}

describe('PlannedState', () => {
  it('reads the recorded state, with what the plan foresees on top, and never writes it', () => {
    const ctx = testContext();
    ctx.state.record('cluster', { id: 'demo', origin: 'created' });
    ctx.state.record('logGroup', { id: '/ecs/demo', origin: 'created' });
    const planned = new PlannedState(ctx.state);

    planned.foresee('logGroup', { id: '/ecs/demo', origin: 'adopted' });
    planned.foreseeNew('targetGroup', 'target group');

    expect(planned.get('cluster')).toEqual({ id: 'demo', origin: 'created' });
    expect(planned.get('logGroup')?.origin).toBe('adopted');
    expect(planned.require('targetGroup')).toEqual({ id: '(new target group)', arn: '(new target group)', origin: 'created' });
    expect(planned.isNew('targetGroup')).toBe(true);
    expect(planned.isNew('cluster')).toBe(false);
    expect(() => planned.require('service')).toThrow(OperationError);
    expect([planned.account, planned.region, planned.stack]).toEqual([ACCOUNT, REGION, 'demo']);
    // The recorded state is untouched.
    expect(ctx.state.get('logGroup')?.origin).toBe('created');
    expect(ctx.state.get('targetGroup')).toBeUndefined();
  });

  it('a new resource whose record is known before it exists is new, and shows its record', () => {
    const planned = new PlannedState(testContext().state);
    planned.foreseeNew('logGroup', 'log group', { id: '/ecs/demo', origin: 'created' });
    expect(planned.isNew('logGroup')).toBe(true);
    expect(planned.get('logGroup')).toEqual({ id: '/ecs/demo', origin: 'created' });
  });
});

describe('existingResource', () => {
  it('keeps what the state has, records a tagged one found, adopts an untagged one', () => {
    expect(existingResource('cluster demo', true, 'created')).toEqual({ action: 'keep', resource: 'cluster demo' });
    expect(existingResource('cluster demo', true, 'adopted')).toEqual({ action: 'keep', resource: 'cluster demo', detail: 'adopted: `down` keeps it' });
    expect(existingResource('cluster demo', false, 'created').detail).toBe('carries the stack tag but is not in the state file: up records it');
    expect(existingResource('cluster demo', false, 'adopted', 'retention 3 days')).toEqual({
      action: 'adopt',
      resource: 'cluster demo',
      detail: 'retention 3 days; not created by ecs-ha: used as it is, and `down` keeps it',
    });
  });
});

describe('runPlan', () => {
  it('plans every step in the order up runs them; a later step sees what an earlier one foresaw; nothing is written', async () => {
    const e = engine();
    const seen: string[] = [];
    const steps = [
      step('cluster', ['network'], async (ctx) => {
        seen.push(`cluster sees network ${ctx.state.require('network').id}`);
        ctx.state.foreseeNew('cluster', 'ECS cluster');
        return { action: 'create', resource: 'ECS cluster demo' };
      }),
      step('network', [], async (ctx) => {
        ctx.state.foresee('network', { id: 'vpc-1', origin: 'adopted' });
        return { action: 'adopt', resource: 'VPC vpc-1' };
      }, true),
      step('service', ['cluster'], async (ctx) => {
        seen.push(`service sees a new cluster: ${ctx.state.isNew('cluster')}`);
        return [{ action: 'keep', resource: 'a' }, { action: 'none', resource: 'b' }];
      }),
    ];

    const { plans, state } = await runPlan(e, steps);

    expect(seen).toEqual(['cluster sees network vpc-1', 'service sees a new cluster: true']);
    expect(plans.map((plan) => [plan.step, plan.changes.map((change) => change.action)])).toEqual([
      ['cluster', ['create']],
      ['network', ['adopt']],
      ['service', ['keep', 'none']],
    ]);
    expect(state.get('network')?.id).toBe('vpc-1');
    expect(hasDrift(plans)).toBe(true);
    expect(e.state.get('network')).toBeUndefined();
    expect(existsSync(e.stateDir)).toBe(false);
  });

  it('a failing environment check stops the plan before the steps gated by it, with its own exit code', async () => {
    const e = engine();
    const planned: string[] = [];
    const steps = [
      step('network', [], async () => {
        throw new EnvironmentError('no default VPC in us-east-1');
      }, true),
      step('cluster', [], async () => {
        planned.push('cluster');
        return { action: 'create', resource: 'cluster' };
      }),
    ];

    const failure = await runPlan(e, steps).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(EnvironmentError);
    expect((failure as EnvironmentError).exitCode).toBe(ExitCode.environment);
    expect(planned).toEqual([]);
  });

  it('a step without a plan is "unknown" and counts as drift: the plan cannot say it would change nothing', async () => {
    const { plans } = await runPlan(engine(), [step('network', [], async () => ({ action: 'keep', resource: 'VPC' })), step('autoScaling', ['network'])]);
    expect(plans[1]!.changes).toEqual([{ action: 'unknown', resource: 'autoScaling', detail: expect.stringContaining('no plan') }]);
    expect(hasDrift(plans)).toBe(true);
  });

  it('no drift when every change keeps or does nothing', async () => {
    const { plans } = await runPlan(engine(), [step('network', [], async () => [{ action: 'keep', resource: 'VPC' }, { action: 'none', resource: 'Docker' }])]);
    expect(hasDrift(plans)).toBe(false);
  });
});

describe('refuseMutatingCalls', () => {
  // A real client (not a mock, which would skip the middleware) towards a port nothing listens on.
  function clients(): AwsClients {
    return new AwsClients({ region: REGION, endpointUrl: 'http://127.0.0.1:9', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
  }

  it('stops a mutating call before it is sent, and lets read calls through', async () => {
    const aws = clients();
    refuseMutatingCalls(aws);
    refuseMutatingCalls(aws); // twice is once

    const write = await aws.ecs.send(new CreateClusterCommand({ clusterName: 'demo' })).catch((error: unknown) => error);
    expect(write).toBeInstanceOf(OperationError);
    expect((write as Error).message).toBe('internal: a plan makes read calls only, but it asked for ECS CreateCluster; the call was not sent');

    // The read goes out (and finds nothing listening): it is not refused.
    const read = await aws.ecs.send(new DescribeClustersCommand({ clusters: ['demo'] })).catch((error: unknown) => error);
    expect(read).not.toBeInstanceOf(OperationError);
    expect(aws.calls.map((call) => [call.operation, call.error !== undefined])).toEqual([
      ['CreateCluster', true],
      ['DescribeClusters', true],
    ]);
  });

  it('leaves the clients of other sessions alone', async () => {
    refuseMutatingCalls(clients());
    const other = await clients().ecs.send(new CreateClusterCommand({ clusterName: 'demo' })).catch((error: unknown) => error);
    expect(other).not.toBeInstanceOf(OperationError);
  });
});

describe('planThenEnsure, the check the steps plan tests use', () => {
  /** A step whose plan says `says`, and whose ensure writes `does`. */
  function fake(says: PlannedChange['action'], does: string[]): { step: Step; writes: () => string[] } {
    const made: string[] = [];
    const fakeStep: Step = {
      ...step('cluster', [], async () => ({ action: says, resource: 'cluster' })),
      ensure: async (_ctx: StepContext) => {
        made.push(...does);
        return '';
      },
    };
    return { step: fakeStep, writes: () => made };
  }

  it('passes a plan that tells the truth', async () => {
    for (const [says, does] of [
      ['create', ['CreateCluster']],
      ['update', ['UpdateService']],
      ['keep', []],
    ] as const) {
      const { step: s, writes } = fake(says, [...does]);
      await expect(planThenEnsure(s, testContext(), writes)).resolves.toMatchObject({ action: says });
    }
  });

  it('fails a plan that lies (its negative twin)', async () => {
    for (const [says, does] of [
      ['keep', ['PutRetentionPolicy']],
      ['create', []],
      ['update', ['CreateCluster']],
      ['adopt', []],
    ] as const) {
      const { step: s, writes } = fake(says, [...does]);
      await expect(planThenEnsure(s, testContext(), writes), `${says} while ensure made [${does.join(', ')}]`).rejects.toThrow();
    }
  });
});

describe('formatPlan', () => {
  const result: PlanResult = {
    stack: 'demo',
    region: 'us-east-1',
    account: ACCOUNT,
    state: { path: '.ecs-ha/demo.json', exists: true },
    changes: [
      { step: 'logGroup', action: 'update', resource: 'log group /ecs/demo', detail: 'retention 7 days → 14 days' },
      { step: 'cluster', action: 'keep', resource: 'ECS cluster demo' },
    ],
    summary: { update: 1, keep: 1 },
    cost: { perHour: 0.0729, perMonth: 53.2, currency: 'USD', prices: { region: 'us-east-1', takenOn: '2026-11' }, items: [], basis: 'estimate at us-east-1 on-demand prices of 2026-11' },
    drift: true,
  };

  it('one line per resource, the counts, the cost labelled an estimate, and what to do next', () => {
    expect(formatPlan(result, { local: false })).toEqual([
      'Plan for stack "demo" in us-east-1 (account 123456789012): what `ecs-ha up` would do, found with read calls only',
      'State:   .ecs-ha/demo.json',
      '  update   log group /ecs/demo  retention 7 days → 14 days',
      '  keep     ECS cluster demo',
      'Changes: 1 update, 1 keep',
      'Cost:    once up, the stack costs about $0.073/hour ($53.20/month): estimate at us-east-1 on-demand prices of 2026-11',
      'Next:    `ecs-ha up` with the same options makes these changes (plan exits 4 while there are changes)',
    ]);
  });

  it('says when nothing would change, and what a local stack would cost on AWS', () => {
    const lines = formatPlan({ ...result, drift: false, state: { path: '.ecs-ha/demo.json', exists: false } }, { local: true });
    expect(lines[1]).toBe('State:   .ecs-ha/demo.json (none yet: a new stack)');
    expect(lines.at(-2)).toMatch(/^Cost: {4}on AWS this stack would cost about/);
    expect(lines.at(-1)).toBe('Next:    nothing to change: `ecs-ha up` with the same options would leave every resource as it is');
  });
});
