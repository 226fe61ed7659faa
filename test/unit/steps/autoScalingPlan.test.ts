/** The autoscaling step's plan: what its ensure would do on the same Application Auto Scaling answers. */
import {
  ApplicationAutoScalingClient,
  DeleteScalingPolicyCommand,
  DeregisterScalableTargetCommand,
  DescribeScalableTargetsCommand,
  DescribeScalingPoliciesCommand,
  ListTagsForResourceCommand,
  PutScalingPolicyCommand,
  RegisterScalableTargetCommand,
  type ScalableTarget,
  type ScalingPolicy,
} from '@aws-sdk/client-application-auto-scaling';
import { ECSClient } from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { StackConfig } from '../../../src/config.js';
import { OperationError } from '../../../src/errors.js';
import { autoScalingStep } from '../../../src/steps/autoScaling.js';
import { testContext, type TestContext } from '../../helpers/context.js';
import { planContext, planThenEnsure, writesOf } from '../core/planAgreement.js';

const autoScaling = mockClient(ApplicationAutoScalingClient);
const ecs = mockClient(ECSClient);
const writes = writesOf(autoScaling, ecs);

const RESOURCE_ID = 'service/demo/demo';
const TARGET_KEY = { ServiceNamespace: 'ecs', ResourceId: RESOURCE_ID, ScalableDimension: 'ecs:service:DesiredCount' } as const;
const TARGET_ARN = 'arn:aws:application-autoscaling:us-east-1:123456789012:scalable-target/0ec9a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6';
const POLICY_ARN = 'arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:6d8972f3:resource/ecs/service/demo/demo:policyName/demo-target-tracking';
const LB_ARN = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/demo-alb/50dc6c495c0c9188';
const TG_ARN = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/demo-tg/73e2d6bc24d8a067';
const stackTags = { Tags: { 'ecs-ha:stack': 'demo' } };

function scalableTarget(min: number, max: number): ScalableTarget {
  return { ...TARGET_KEY, MinCapacity: min, MaxCapacity: max, RoleARN: 'arn:aws:iam::123456789012:role/autoscaling', CreationTime: new Date(0), ScalableTargetARN: TARGET_ARN };
}

function cpuPolicy(target: number): ScalingPolicy {
  return {
    ...TARGET_KEY,
    PolicyName: 'demo-target-tracking',
    PolicyARN: POLICY_ARN,
    PolicyType: 'TargetTrackingScaling',
    TargetTrackingScalingPolicyConfiguration: { TargetValue: target, PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' } },
    CreationTime: new Date(0),
  };
}

/** What Application Auto Scaling has, and answers to the writes ensure makes. */
function scriptLive(target: ScalableTarget | undefined, policy?: ScalingPolicy): void {
  autoScaling.on(DescribeScalableTargetsCommand).resolves({ ScalableTargets: target ? [target] : [] });
  autoScaling.on(DescribeScalingPoliciesCommand).resolves({ ScalingPolicies: policy ? [policy] : [] });
  autoScaling.on(RegisterScalableTargetCommand).resolves({ ScalableTargetARN: TARGET_ARN });
  autoScaling.on(PutScalingPolicyCommand).resolves({ PolicyARN: POLICY_ARN });
  autoScaling.on(DeleteScalingPolicyCommand).resolves({});
  autoScaling.on(DeregisterScalableTargetCommand).resolves({});
}

function stackContext(config: Partial<StackConfig> = {}, serviceOrigin: 'created' | 'adopted' = 'created'): TestContext {
  const ctx = testContext({ config });
  ctx.state.record('cluster', { id: 'demo', origin: 'created' });
  ctx.state.record('loadBalancer', { id: LB_ARN, arn: LB_ARN, origin: 'created' });
  ctx.state.record('targetGroup', { id: TG_ARN, arn: TG_ARN, origin: 'created' });
  ctx.state.record('service', { id: 'demo', origin: serviceOrigin, details: { cluster: 'demo' } });
  return ctx;
}

function recordAutoScaling(ctx: TestContext, min = 2, max = 4): void {
  ctx.state.record('autoScaling', { id: RESOURCE_ID, arn: TARGET_ARN, origin: 'created', details: { min, max, metric: 'cpu', target: 60, policyName: 'demo-target-tracking', policyArn: POLICY_ARN } });
}

beforeEach(() => {
  autoScaling.reset();
  ecs.reset();
  autoScaling.on(ListTagsForResourceCommand).resolves(stackTags);
});

describe('autoscaling plan', () => {
  it('none: not asked for, and the service has no scalable target', async () => {
    scriptLive(undefined);
    expect(await planThenEnsure(autoScalingStep, stackContext(), writes)).toEqual({ action: 'none', resource: 'autoscaling of service demo', detail: 'off (the service has no scalable target)' });
  });

  it('create: --autoscale 2:6 on a service without it', async () => {
    scriptLive(undefined);
    const ctx = stackContext({ autoScaling: { min: 2, max: 6 } });

    expect(await planThenEnsure(autoScalingStep, ctx, writes)).toEqual({ action: 'create', resource: 'autoscaling of service demo', detail: '2 to 6 tasks, average CPU at 60 %' });
  });

  it('keep: the recorded range and policy', async () => {
    scriptLive(scalableTarget(2, 4), cpuPolicy(60));
    const ctx = stackContext();
    recordAutoScaling(ctx);

    expect(await planThenEnsure(autoScalingStep, ctx, writes)).toEqual({ action: 'keep', resource: 'autoscaling of service demo', detail: '2 to 4 tasks, average CPU at 60 %' });
  });

  it('update: a new range and target, each said', async () => {
    scriptLive(scalableTarget(2, 4), cpuPolicy(60));
    const ctx = stackContext({ autoScaling: { min: 3, max: 8, tracking: { metric: 'cpu', target: 50 } } });
    recordAutoScaling(ctx);

    expect(await planThenEnsure(autoScalingStep, ctx, writes)).toEqual({
      action: 'update',
      resource: 'autoscaling of service demo',
      detail: 'range 2 to 4 tasks → 3 to 8 tasks; policy average CPU at 60 % → average CPU at 50 %',
    });
  });

  it('update: requests per target of a load balancer up would create again is a new policy (its label is not known yet)', async () => {
    scriptLive(scalableTarget(2, 4), cpuPolicy(60));
    const ctx = stackContext({ autoScaling: { min: 2, max: 4, tracking: { metric: 'requests', target: 500 } } });
    recordAutoScaling(ctx);
    const planCtx = planContext(ctx);
    planCtx.state.foreseeNew('loadBalancer', 'load balancer');

    expect(await autoScalingStep.plan!(planCtx)).toMatchObject({ action: 'update', detail: 'policy average CPU at 60 % → 500 requests per target per minute' });
    expect(writes()).toEqual([]);
  });

  it('delete: --autoscale off removes the stack\'s own', async () => {
    scriptLive(scalableTarget(2, 4), cpuPolicy(60));
    const ctx = stackContext({ autoScaling: 'off' });
    recordAutoScaling(ctx);

    expect(await planThenEnsure(autoScalingStep, ctx, writes)).toMatchObject({ action: 'delete', detail: expect.stringContaining('--autoscale off') });
  });

  it('adopt: a scalable target the stack did not make', async () => {
    scriptLive(scalableTarget(1, 3), cpuPolicy(70));
    autoScaling.on(ListTagsForResourceCommand).resolves({ Tags: {} });

    expect((await planThenEnsure(autoScalingStep, stackContext(), writes)).action).toBe('adopt');
  });

  it('--autoscale for an adopted service is the error up gives', async () => {
    await expect(autoScalingStep.plan!(planContext(stackContext({ autoScaling: { min: 2, max: 4 } }, 'adopted')))).rejects.toBeInstanceOf(OperationError);
  });
});
