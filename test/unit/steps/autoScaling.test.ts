/**
 * The autoscaling step over scripted Application Auto Scaling answers (AWS's error codes, and what
 * moto 5 answers instead), and the validation of `up --autoscale*` before any AWS call.
 */
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
import { DescribeServicesCommand, ECSClient } from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { isMutatingOperation } from '../../../src/aws/clients.js';
import { upConfig, type UpOptions } from '../../../src/commands/up.js';
import { autoScalingRequest, type StackConfig } from '../../../src/config.js';
import { destroyProvenOwn } from '../../../src/engine/ownership.js';
import { ExitCode, UsageError } from '../../../src/errors.js';
import { autoScalingStep } from '../../../src/steps/autoScaling.js';
import { ALL_STEPS } from '../../../src/steps/index.js';
import { awsError, testContext, type TestContext } from '../../helpers/context.js';

const autoScaling = mockClient(ApplicationAutoScalingClient);
const ecs = mockClient(ECSClient);

const RESOURCE_ID = 'service/demo/demo';
const DIMENSION = 'ecs:service:DesiredCount' as const;
const TARGET_ARN = 'arn:aws:application-autoscaling:us-east-1:123456789012:scalable-target/0ec9a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6';
const POLICY_ARN = 'arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:6d8972f3:resource/ecs/service/demo/demo:policyName/demo-target-tracking';
const LB_ARN = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/demo-alb/50dc6c495c0c9188';
const TG_ARN = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/demo-tg/73e2d6bc24d8a067';
const SERVICE_ARN = 'arn:aws:ecs:us-east-1:123456789012:service/demo/demo';
const TARGET_KEY = { ServiceNamespace: 'ecs', ResourceId: RESOURCE_ID, ScalableDimension: DIMENSION } as const;
/** What plain moto answers ListTagsForResource of Application Auto Scaling with: an HTML 500 the SDK cannot parse. */
const NOT_IMPLEMENTED = awsError(
  'SyntaxError',
  `Unexpected token '<', "<!doctype "... is not valid JSON\n  Deserialization error: to see the raw response, inspect the hidden field {error}.$response on this object.`,
  500,
);

function scalableTarget(min: number, max: number, arn = TARGET_ARN): ScalableTarget {
  return { ...TARGET_KEY, MinCapacity: min, MaxCapacity: max, RoleARN: 'arn:aws:iam::123456789012:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService', CreationTime: new Date(0), ScalableTargetARN: arn };
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

/** What Application Auto Scaling has: a scalable target (or none) and its policy (or none). */
function scriptLive(target: ScalableTarget | undefined, policy: ScalingPolicy | undefined = undefined): void {
  autoScaling.on(DescribeScalableTargetsCommand).resolves({ ScalableTargets: target ? [target] : [] });
  autoScaling.on(DescribeScalingPoliciesCommand).resolves({ ScalingPolicies: policy ? [policy] : [] });
}

/** A stack whose service (and load balancer, target group) exist, as `up` records them before this step. */
function stackContext(config: Partial<StackConfig> = {}, serviceOrigin: 'created' | 'adopted' = 'created'): TestContext {
  const ctx = testContext({ config });
  ctx.state.record('cluster', { id: 'demo', arn: 'arn:aws:ecs:us-east-1:123456789012:cluster/demo', origin: 'created' });
  ctx.state.record('loadBalancer', { id: LB_ARN, arn: LB_ARN, origin: 'created', details: { dnsName: 'demo-alb-1.us-east-1.elb.amazonaws.com' } });
  ctx.state.record('targetGroup', { id: TG_ARN, arn: TG_ARN, origin: 'created', details: { name: 'demo-tg' } });
  ctx.state.record('service', { id: 'demo', arn: SERVICE_ARN, origin: serviceOrigin, details: { cluster: 'demo' } });
  return ctx;
}

function recordAutoScaling(ctx: TestContext, details: Record<string, unknown> = { min: 2, max: 4, metric: 'cpu', target: 60, policyName: 'demo-target-tracking', policyArn: POLICY_ARN }): void {
  ctx.state.record('autoScaling', { id: RESOURCE_ID, arn: TARGET_ARN, origin: 'created', details });
}

const inputsOf = <T extends object>(command: new (input: T) => object): unknown[] =>
  autoScaling.commandCalls(command as never).map((call) => (call.args[0] as { input: unknown }).input);

function mutatingCalls(): string[] {
  return [...autoScaling.calls(), ...ecs.calls()].map((call) => (call.args[0] as object).constructor.name.replace(/Command$/, '')).filter(isMutatingOperation);
}

beforeEach(() => {
  autoScaling.reset();
  ecs.reset();
});

describe('autoscaling step: creating and updating', () => {
  it('registers a tagged scalable target for the service after it, then a CPU target-tracking policy, recording both', async () => {
    const ctx = stackContext({ autoScaling: { min: 2, max: 4 } });
    scriptLive(undefined);
    autoScaling.on(RegisterScalableTargetCommand).resolves({ ScalableTargetARN: TARGET_ARN });
    autoScaling.on(PutScalingPolicyCommand).resolves({ PolicyARN: POLICY_ARN, Alarms: [] });

    expect(await autoScalingStep.ensure(ctx)).toBe('created autoscaling of service demo: 2 to 4 tasks, average CPU at 60 %');

    expect(inputsOf(RegisterScalableTargetCommand)).toEqual([{ ...TARGET_KEY, MinCapacity: 2, MaxCapacity: 4, Tags: { 'ecs-ha:stack': 'demo' } }]);
    expect(inputsOf(PutScalingPolicyCommand)).toEqual([
      {
        ...TARGET_KEY,
        PolicyName: 'demo-target-tracking',
        PolicyType: 'TargetTrackingScaling',
        TargetTrackingScalingPolicyConfiguration: { TargetValue: 60, PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' } },
      },
    ]);
    expect(ctx.state.get('autoScaling')).toEqual({
      id: RESOURCE_ID,
      arn: TARGET_ARN,
      origin: 'created',
      details: { min: 2, max: 4, metric: 'cpu', target: 60, policyName: 'demo-target-tracking', policyArn: POLICY_ARN },
    });
    expect(autoScalingStep.dependsOn).toEqual(expect.arrayContaining(['service', 'loadBalancer', 'targetGroup']));
    const order = ALL_STEPS.map((step) => step.id);
    expect(order.indexOf('autoScaling')).toBeGreaterThan(order.indexOf('service'));
  });

  it('tracks requests per target with the ResourceLabel of the stack load balancer and target group', async () => {
    const ctx = stackContext({ autoScaling: { min: 2, max: 6, tracking: { metric: 'requests', target: 500 } } });
    scriptLive(undefined);
    autoScaling.on(RegisterScalableTargetCommand).resolves({ ScalableTargetARN: TARGET_ARN });
    autoScaling.on(PutScalingPolicyCommand).resolves({ PolicyARN: POLICY_ARN });

    expect(await autoScalingStep.ensure(ctx)).toBe('created autoscaling of service demo: 2 to 6 tasks, 500 requests per target per minute');

    expect((inputsOf(PutScalingPolicyCommand)[0] as { TargetTrackingScalingPolicyConfiguration: unknown }).TargetTrackingScalingPolicyConfiguration).toEqual({
      TargetValue: 500,
      PredefinedMetricSpecification: {
        PredefinedMetricType: 'ALBRequestCountPerTarget',
        ResourceLabel: 'app/demo-alb/50dc6c495c0c9188/targetgroup/demo-tg/73e2d6bc24d8a067',
      },
    });
  });

  it('records the scalable target as soon as it exists: a failed policy call leaves it recorded, and the re-run finishes the policy', async () => {
    const ctx = stackContext({ autoScaling: { min: 2, max: 4 } });
    scriptLive(undefined);
    autoScaling.on(RegisterScalableTargetCommand).resolves({ ScalableTargetARN: TARGET_ARN });
    autoScaling.on(PutScalingPolicyCommand).rejects(awsError('AccessDeniedException', 'User is not authorized to perform: cloudwatch:PutMetricAlarm'));

    await expect(autoScalingStep.ensure(ctx)).rejects.toThrow('cloudwatch:PutMetricAlarm');
    expect(ctx.state.get('autoScaling')).toMatchObject({ id: RESOURCE_ID, arn: TARGET_ARN, origin: 'created', details: { min: 2, max: 4, metric: 'cpu', target: 60 } });

    // A plain `up` afterwards: the target exists as recorded, the policy is missing.
    autoScaling.reset();
    scriptLive(scalableTarget(2, 4));
    autoScaling.on(PutScalingPolicyCommand).resolves({ PolicyARN: POLICY_ARN });
    const resumed = stackContext();
    resumed.state.record('autoScaling', ctx.state.get('autoScaling')!);

    expect(await autoScalingStep.ensure(resumed)).toBe('updated autoscaling of service demo (policy)');
    expect(inputsOf(RegisterScalableTargetCommand)).toEqual([]);
    expect(resumed.state.get('autoScaling')?.details?.policyArn).toBe(POLICY_ARN);
  });

  it('changes nothing when the range and the target are as wanted (reads only)', async () => {
    const ctx = stackContext({ autoScaling: { min: 2, max: 4 } });
    recordAutoScaling(ctx);
    scriptLive(scalableTarget(2, 4), cpuPolicy(60));
    const before = JSON.stringify(ctx.state.snapshot().resources);

    expect(await autoScalingStep.ensure(ctx)).toBe('autoscaling exists for service demo: 2 to 4 tasks, average CPU at 60 %');

    expect(mutatingCalls()).toEqual([]);
    expect(JSON.stringify(ctx.state.snapshot().resources)).toBe(before);
  });

  it('a changed range updates the scalable target only, keeping its tags and the policy', async () => {
    const ctx = stackContext({ autoScaling: { min: 2, max: 5 } });
    recordAutoScaling(ctx);
    scriptLive(scalableTarget(2, 4), cpuPolicy(60));
    autoScaling.on(RegisterScalableTargetCommand).resolves({ ScalableTargetARN: TARGET_ARN });

    expect(await autoScalingStep.ensure(ctx)).toBe('updated autoscaling of service demo (range 2 to 4 tasks → 2 to 5 tasks)');

    expect(inputsOf(RegisterScalableTargetCommand)).toEqual([{ ...TARGET_KEY, MinCapacity: 2, MaxCapacity: 5 }]);
    expect(inputsOf(PutScalingPolicyCommand)).toEqual([]);
    expect(ctx.state.get('autoScaling')?.details).toMatchObject({ min: 2, max: 5, metric: 'cpu', target: 60 });
  });

  it('a changed target updates the policy only; a range alone keeps the recorded target', async () => {
    const ctx = stackContext({ autoScaling: { min: 2, max: 4, tracking: { metric: 'cpu', target: 75 } } });
    recordAutoScaling(ctx);
    scriptLive(scalableTarget(2, 4), cpuPolicy(60));
    autoScaling.on(PutScalingPolicyCommand).resolves({ PolicyARN: POLICY_ARN });

    expect(await autoScalingStep.ensure(ctx)).toBe('updated autoscaling of service demo (policy average CPU at 60 % → average CPU at 75 %)');
    expect(inputsOf(RegisterScalableTargetCommand)).toEqual([]);
    expect(mutatingCalls()).toEqual(['PutScalingPolicy']);

    // `--autoscale 2:4` without a metric on a stack that tracks 75 %: the recorded 75 % stays.
    autoScaling.reset();
    const again = stackContext({ autoScaling: { min: 2, max: 4 } });
    recordAutoScaling(again, { min: 2, max: 4, metric: 'cpu', target: 75, policyName: 'demo-target-tracking' });
    scriptLive(scalableTarget(2, 4), cpuPolicy(75));
    await autoScalingStep.ensure(again);
    expect(mutatingCalls()).toEqual([]);
  });

  it('a plain up keeps what the stack has, and registers it again when a re-created service lost its scalable target', async () => {
    const ctx = stackContext(); // no --autoscale
    recordAutoScaling(ctx, { min: 3, max: 5, metric: 'cpu', target: 70, policyName: 'demo-target-tracking' });
    // The service was deleted and created again under the same name: Application Auto Scaling knows no target for it.
    scriptLive(undefined);
    autoScaling.on(RegisterScalableTargetCommand).resolves({ ScalableTargetARN: TARGET_ARN });
    autoScaling.on(PutScalingPolicyCommand).resolves({ PolicyARN: POLICY_ARN });

    expect(await autoScalingStep.ensure(ctx)).toBe('created autoscaling of service demo: 3 to 5 tasks, average CPU at 70 %');
    expect(inputsOf(RegisterScalableTargetCommand)).toEqual([{ ...TARGET_KEY, MinCapacity: 3, MaxCapacity: 5, Tags: { 'ecs-ha:stack': 'demo' } }]);
    expect(mutatingCalls()).toEqual(['RegisterScalableTarget', 'PutScalingPolicy']);
  });

  it('a plain up on a stack without autoscaling makes one read and changes nothing', async () => {
    const ctx = stackContext();
    scriptLive(undefined);

    expect(await autoScalingStep.ensure(ctx)).toBe('autoscaling is off (service demo has no scalable target)');
    expect(autoScaling.calls()).toHaveLength(1);
    expect(ctx.state.get('autoScaling')).toBeUndefined();
  });

  it('leaves a scalable target ecs-ha did not create as it is, recorded as adopted, even with --autoscale', async () => {
    const ctx = stackContext({ autoScaling: { min: 2, max: 8 } });
    scriptLive(scalableTarget(1, 3), cpuPolicy(50));
    autoScaling.on(ListTagsForResourceCommand).resolves({ Tags: { team: 'payments' } });

    expect(await autoScalingStep.ensure(ctx)).toBe('adopted autoscaling of service demo (not created by ecs-ha, will be kept)');
    expect(mutatingCalls()).toEqual([]);
    expect(ctx.state.get('autoScaling')).toMatchObject({ origin: 'adopted', details: { min: 1, max: 3, metric: 'cpu', target: 50 } });
    expect(ctx.notices.join('\n')).toContain('--autoscale left it as it is');
    expect(await autoScalingStep.destroy(ctx)).toBe(`kept autoscaling ${RESOURCE_ID} (adopted)`);
    expect(mutatingCalls()).toEqual([]);
  });

  it('refuses --autoscale on an adopted service, and leaves its autoscaling alone without it', async () => {
    await expect(autoScalingStep.ensure(stackContext({ autoScaling: { min: 2, max: 4 } }, 'adopted'))).rejects.toThrow(/service was adopted/);
    expect(await autoScalingStep.ensure(stackContext({}, 'adopted'))).toBe('autoscaling of the adopted service demo left as it is');
    expect(autoScaling.calls()).toHaveLength(0);
  });
});

describe('autoscaling step: removing', () => {
  it('--autoscale off deletes the policy, then deregisters the scalable target, once it proved the stack tag', async () => {
    const ctx = stackContext({ autoScaling: 'off' });
    recordAutoScaling(ctx);
    scriptLive(scalableTarget(2, 4), cpuPolicy(60));
    autoScaling.on(ListTagsForResourceCommand).resolves({ Tags: { 'ecs-ha:stack': 'demo' } });

    expect(await autoScalingStep.ensure(ctx)).toBe('removed autoscaling of service demo (scalable target and policy)');

    expect(mutatingCalls()).toEqual(['DeleteScalingPolicy', 'DeregisterScalableTarget']);
    expect(inputsOf(DeleteScalingPolicyCommand)).toEqual([{ ...TARGET_KEY, PolicyName: 'demo-target-tracking' }]);
    expect(inputsOf(DeregisterScalableTargetCommand)).toEqual([TARGET_KEY]);
    expect(ctx.state.get('autoScaling')).toBeUndefined();
  });

  it('--autoscale off leaves an untagged scalable target alone, and with none there changes nothing', async () => {
    const ctx = stackContext({ autoScaling: 'off' });
    recordAutoScaling(ctx);
    scriptLive(scalableTarget(2, 4));
    autoScaling.on(ListTagsForResourceCommand).resolves({ Tags: {} });
    expect(await autoScalingStep.ensure(ctx)).toBe("kept autoscaling of service demo (not provably this stack's)");
    expect(mutatingCalls()).toEqual([]);

    autoScaling.reset();
    scriptLive(undefined);
    const none = stackContext({ autoScaling: 'off' });
    expect(await autoScalingStep.ensure(none)).toBe('autoscaling is off (service demo has no scalable target)');
    expect(mutatingCalls()).toEqual([]);
  });

  it('down removes it, and a second removal that finds nothing (ObjectNotFoundException) counts as removed', async () => {
    const ctx = stackContext();
    recordAutoScaling(ctx);
    autoScaling.on(DeleteScalingPolicyCommand).resolves({});
    autoScaling.on(DeregisterScalableTargetCommand).resolves({});
    expect(await autoScalingStep.destroy(ctx)).toBe('deleted autoscaling of service demo (scalable target and policy)');
    expect(mutatingCalls()).toEqual(['DeleteScalingPolicy', 'DeregisterScalableTarget']);
    expect(ctx.state.get('autoScaling')).toBeUndefined();

    // Removed already (by the first run, or with its service): AWS answers ObjectNotFoundException to both.
    autoScaling.reset();
    recordAutoScaling(ctx);
    autoScaling.on(DeleteScalingPolicyCommand).rejects(awsError('ObjectNotFoundException', 'No scaling policy found for service namespace: ecs, resource ID: service/demo/demo, scalable dimension: ecs:service:DesiredCount, policy name: demo-target-tracking'));
    autoScaling.on(DeregisterScalableTargetCommand).rejects(awsError('ObjectNotFoundException', 'No scalable target found for service namespace: ecs, resource ID: service/demo/demo, scalable dimension: ecs:service:DesiredCount'));
    expect(await autoScalingStep.destroy(ctx)).toBe(`autoscaling ${RESOURCE_ID} was already gone`);
    expect(ctx.state.get('autoScaling')).toBeUndefined();
  });

  it("takes moto's ValidationException \"No … found\" as gone too, but not any other ValidationException", async () => {
    const ctx = stackContext();
    recordAutoScaling(ctx);
    autoScaling.on(DeleteScalingPolicyCommand).rejects(awsError('ValidationException', 'No scaling policy found for service namespace: ecs, resource ID: service/demo/demo, scalable dimension: ecs:service:DesiredCount, policy name: demo-target-tracking'));
    autoScaling.on(DeregisterScalableTargetCommand).rejects(awsError('ValidationException', 'No scalable target found for service namespace: ecs, resource ID: service/demo/demo, scalable dimension: ecs:service:DesiredCount'));
    expect(await autoScalingStep.destroy(ctx)).toBe(`autoscaling ${RESOURCE_ID} was already gone`);

    autoScaling.reset();
    recordAutoScaling(ctx);
    autoScaling.on(DeleteScalingPolicyCommand).resolves({});
    autoScaling.on(DeregisterScalableTargetCommand).rejects(awsError('ValidationException', '1 validation error detected: Value null at resourceId'));
    await expect(autoScalingStep.destroy(ctx)).rejects.toThrow('1 validation error');
    expect(ctx.state.get('autoScaling')).toBeDefined();
  });

  it('retries while another update of the scalable target is in progress (ConcurrentUpdateException)', async () => {
    const ctx = stackContext();
    recordAutoScaling(ctx);
    autoScaling.on(DeleteScalingPolicyCommand).rejectsOnce(awsError('ConcurrentUpdateException', 'a concurrent update is in progress')).resolves({});
    autoScaling.on(DeregisterScalableTargetCommand).resolves({});

    expect(await autoScalingStep.destroy(ctx)).toBe('deleted autoscaling of service demo (scalable target and policy)');
    expect(autoScaling.commandCalls(DeleteScalingPolicyCommand)).toHaveLength(2);
    expect(ctx.clock.slept).toEqual([2_000]);
  });

  it('through down: a scalable target already gone with its service is "already gone", without a delete call', async () => {
    const ctx = stackContext();
    recordAutoScaling(ctx);
    scriptLive(undefined);

    const { removals } = await destroyProvenOwn(autoScalingStep, ctx);

    expect(removals).toEqual([{ key: 'autoScaling', id: RESOURCE_ID, disposition: 'already gone' }]);
    expect(mutatingCalls()).toEqual([]);
    expect(ctx.state.get('autoScaling')).toBeUndefined();
  });
});

describe('autoscaling step: ownership and discovery', () => {
  const serviceTagged = (tagged: boolean) =>
    ecs.on(DescribeServicesCommand).resolves({ services: [{ serviceName: 'demo', serviceArn: SERVICE_ARN, status: 'ACTIVE', tags: tagged ? [{ key: 'ecs-ha:stack', value: 'demo' }] : [] }] });
  const record = { id: RESOURCE_ID, arn: TARGET_ARN, origin: 'created' as const };

  it('is the stack own when it carries the stack tag, and not when it does not', async () => {
    scriptLive(scalableTarget(2, 4));
    autoScaling.on(ListTagsForResourceCommand).resolves({ Tags: { 'ecs-ha:stack': 'demo' } });
    expect(await autoScalingStep.proveOwnership!(stackContext(), record)).toEqual({ kind: 'ours' });
    expect(inputsOf(ListTagsForResourceCommand)).toEqual([{ ResourceARN: TARGET_ARN }]);

    autoScaling.on(ListTagsForResourceCommand).resolves({ Tags: { 'ecs-ha:stack': 'other' } });
    expect(await autoScalingStep.proveOwnership!(stackContext(), record)).toEqual({ kind: 'not-ours', reason: 'it does not carry the tag ecs-ha:stack=demo' });
    expect(ecs.calls()).toHaveLength(0); // a readable tag decides; the service is not asked
  });

  it('never sends a record of another account or region, nor of another resource ID, anywhere', async () => {
    const foreign = { ...record, arn: TARGET_ARN.replace('123456789012', '999999999999') };
    expect(await autoScalingStep.proveOwnership!(stackContext(), foreign)).toMatchObject({ kind: 'not-ours', reason: expect.stringContaining('account 999999999999') });
    expect(await autoScalingStep.proveOwnership!(stackContext(), { ...record, id: 'service/prod/payments' })).toMatchObject({
      kind: 'not-ours',
      reason: 'its resource ID is "service/prod/payments", not "service/demo/demo" as stack names it',
    });
    expect(autoScaling.calls()).toHaveLength(0);
  });

  it('where the tags cannot be read (plain moto: not implemented), the scalable target of the stack own service is the stack own', async () => {
    scriptLive(scalableTarget(2, 4));
    autoScaling.on(ListTagsForResourceCommand).rejects(NOT_IMPLEMENTED);
    serviceTagged(true);
    expect(await autoScalingStep.proveOwnership!(stackContext(), record)).toEqual({ kind: 'ours' });
    expect(ecs.commandCalls(DescribeServicesCommand)[0]!.args[0].input).toEqual({ cluster: 'demo', services: ['demo'], include: ['TAGS'] });

    // A service of the stack's name without the tag proves nothing: "cannot read" is never "tagged".
    serviceTagged(false);
    expect(await autoScalingStep.proveOwnership!(stackContext(), record)).toEqual({
      kind: 'not-ours',
      reason: 'its tags cannot be read at this endpoint and its service demo does not carry the tag ecs-ha:stack=demo',
    });

    // Nor does a service that is gone.
    ecs.on(DescribeServicesCommand).resolves({ services: [], failures: [{ arn: SERVICE_ARN, reason: 'MISSING' }] });
    expect(await autoScalingStep.proveOwnership!(stackContext(), record)).toMatchObject({ kind: 'not-ours', reason: expect.stringContaining('no longer exists') });
  });

  it('a tag read that fails for any other reason is an error, not "untagged"', async () => {
    scriptLive(scalableTarget(2, 4));
    autoScaling.on(ListTagsForResourceCommand).rejects(awsError('AccessDeniedException', 'not authorized to perform: application-autoscaling:ListTagsForResource'));
    await expect(autoScalingStep.proveOwnership!(stackContext(), record)).rejects.toThrow('application-autoscaling:ListTagsForResource');
  });

  it('is gone when Application Auto Scaling knows no target for the service', async () => {
    scriptLive(undefined);
    expect(await autoScalingStep.proveOwnership!(stackContext(), record)).toEqual({ kind: 'gone' });
  });

  it('without a state file, finds the stack own scalable target by its tag and records it with its settings', async () => {
    scriptLive(scalableTarget(2, 5), cpuPolicy(70));
    autoScaling.on(ListTagsForResourceCommand).resolves({ Tags: { 'ecs-ha:stack': 'demo' } });
    const ctx = testContext();

    await autoScalingStep.discover(ctx);

    expect(ctx.state.get('autoScaling')).toEqual({
      id: RESOURCE_ID,
      arn: TARGET_ARN,
      origin: 'created',
      details: { min: 2, max: 5, metric: 'cpu', target: 70, policyName: 'demo-target-tracking', policyArn: POLICY_ARN },
    });
  });

  it('without a state file, leaves an untagged scalable target unrecorded', async () => {
    scriptLive(scalableTarget(2, 5), cpuPolicy(70));
    autoScaling.on(ListTagsForResourceCommand).resolves({ Tags: {} });
    const ctx = testContext();

    await autoScalingStep.discover(ctx);

    expect(ctx.state.get('autoScaling')).toBeUndefined();
  });
});

describe('up --autoscale options', () => {
  const usage = (run: () => unknown): string => {
    try {
      run();
    } catch (error) {
      expect(error).toBeInstanceOf(UsageError);
      expect((error as UsageError).exitCode).toBe(ExitCode.usage);
      return (error as Error).message;
    }
    throw new Error('no UsageError');
  };

  it('takes MIN:MAX with 1 ≤ MIN ≤ MAX ≤ 100, or off, and a metric only with a range', () => {
    expect(autoScalingRequest({ autoscale: '2:4' })).toEqual({ min: 2, max: 4 });
    expect(autoScalingRequest({ autoscale: '1:100', autoscaleCpu: '75' })).toEqual({ min: 1, max: 100, tracking: { metric: 'cpu', target: 75 } });
    expect(autoScalingRequest({ autoscale: '3:3', autoscaleRequests: '1000' })).toEqual({ min: 3, max: 3, tracking: { metric: 'requests', target: 1000 } });
    expect(autoScalingRequest({ autoscale: 'off' })).toBe('off');
    expect(autoScalingRequest({})).toBeUndefined();
  });

  it.each([['4:2'], ['0:3'], ['2:101'], ['2-4'], ['two:four'], ['2:'], ['']])('refuses --autoscale "%s", naming the forms allowed', (raw) => {
    expect(usage(() => autoScalingRequest({ autoscale: raw }))).toBe(`invalid --autoscale "${raw}": expected MIN:MAX, whole numbers with 1 ≤ MIN ≤ MAX ≤ 100 (such as 2:10), or off`);
  });

  it('refuses bad metric values, both metrics, a metric without a range or with off', () => {
    expect(usage(() => autoScalingRequest({ autoscale: '2:4', autoscaleCpu: '0' }))).toBe('invalid --autoscale-cpu "0": expected a whole number from 1 to 100');
    expect(usage(() => autoScalingRequest({ autoscale: '2:4', autoscaleCpu: '101' }))).toBe('invalid --autoscale-cpu "101": expected a whole number from 1 to 100');
    expect(usage(() => autoScalingRequest({ autoscale: '2:4', autoscaleRequests: '0' }))).toBe('invalid --autoscale-requests "0": expected a whole number of at least 1');
    expect(usage(() => autoScalingRequest({ autoscale: '2:4', autoscaleCpu: '50', autoscaleRequests: '100' }))).toBe(
      '--autoscale-cpu and --autoscale-requests cannot be used together: the target-tracking policy tracks one metric',
    );
    expect(usage(() => autoScalingRequest({ autoscaleCpu: '50' }))).toBe('--autoscale-cpu needs --autoscale MIN:MAX: it sets what autoscaling tracks');
    expect(usage(() => autoScalingRequest({ autoscale: 'off', autoscaleRequests: '100' }))).toBe(
      '--autoscale-requests cannot be used with --autoscale off: off removes the scalable target and its policy',
    );
  });

  const upOptions = (overrides: Partial<UpOptions>): UpOptions => ({ stack: 'demo', stateDir: '.ecs-ha', count: '2', cpu: '256', memory: '512', arch: 'amd64', logRetention: '7', wait: false, timeout: '900', ...overrides });

  it('starts a new service within the range: the default count moves into it, a given --count outside it is refused', () => {
    expect(upConfig(upOptions({ autoscale: '3:5' }))).toMatchObject({ count: 3, updateDesiredCount: false, autoScaling: { min: 3, max: 5 } });
    expect(upConfig(upOptions({ autoscale: '1:1' }))).toMatchObject({ count: 1 });
    expect(upConfig(upOptions({ autoscale: '2:6', count: '4', countGiven: true }))).toMatchObject({ count: 4, updateDesiredCount: true });
    expect(usage(() => upConfig(upOptions({ autoscale: '2:4', count: '6', countGiven: true })))).toBe(
      'invalid --count 6 with --autoscale 2:4: autoscaling keeps the service between 2 and 4 tasks; choose a --count from 2 to 4, or leave it out',
    );
    // Without --autoscale: the count as given, set on a running service only when given.
    expect(upConfig(upOptions({}))).toMatchObject({ count: 2, updateDesiredCount: false });
    expect(upConfig(upOptions({}))).not.toHaveProperty('autoScaling');
    expect(upConfig(upOptions({ count: '5', countGiven: true }))).toMatchObject({ count: 5, updateDesiredCount: true });
  });
});
