/**
 * Service autoscaling (`up --autoscale MIN:MAX`): an Application Auto Scaling scalable target for
 * the service's desired count and one target-tracking policy on average CPU or on ALB requests per
 * target. Made after the service, removed before it. A plain `up` keeps what the stack has;
 * `--autoscale off` removes the stack's own.
 */
import {
  DeleteScalingPolicyCommand,
  DeregisterScalableTargetCommand,
  DescribeScalableTargetsCommand,
  DescribeScalingPoliciesCommand,
  ListTagsForResourceCommand,
  PutScalingPolicyCommand,
  RegisterScalableTargetCommand,
  type ScalableTarget,
  type ScalingPolicy,
  type TargetTrackingScalingPolicyConfiguration,
} from '@aws-sdk/client-application-auto-scaling';
import { DescribeServicesCommand } from '@aws-sdk/client-ecs';
import type { AwsClients } from '../aws/clients.js';
import { awsErrorMessage, isAwsError, isNotAwsAnswer } from '../aws/errors.js';
import { retryWhile } from '../aws/poll.js';
import { DEFAULT_CPU_TARGET, STACK_TAG_KEY, type AutoScalingRequest, type AutoScalingSettings, type TargetTracking } from '../config.js';
import { arnProblem, GONE, judge, nameProblem, recordProblem, tagProblem } from '../engine/ownership.js';
import { existingResource, type ReadContext } from '../engine/plan.js';
import type { Step, StepContext } from '../engine/step.js';
import { hasStackTag } from '../engine/tags.js';
import { OperationError } from '../errors.js';
import type { ResourceRecord } from '../state/store.js';

const KEY = 'autoScaling';
const NAMESPACE = 'ecs';
const DIMENSION = 'ecs:service:DesiredCount';
const PREDEFINED_METRIC = { cpu: 'ECSServiceAverageCPUUtilization', requests: 'ALBRequestCountPerTarget' } as const;
/** Another update of the same scalable target still in progress: AWS asks to try again. */
const CONCURRENT_UPDATE = ['ConcurrentUpdateException'];

/** The settings a stack gets for what `--autoscale` left out: CPU at 60 %. */
const DEFAULT_TRACKING: TargetTracking = { metric: 'cpu', target: DEFAULT_CPU_TARGET };

/**
 * Not there. AWS says ObjectNotFoundException; moto 5 says ValidationException "No scaling policy
 * found …" / "No scalable target found …" (a ValidationException of any other kind is a real error).
 */
function isGone(error: unknown): boolean {
  return isAwsError(error, 'ObjectNotFoundException') || (isAwsError(error, 'ValidationException') && /^No (scaling policy|scalable target) found/i.test(awsErrorMessage(error)));
}

export async function findScalableTarget(aws: AwsClients, resourceId: string): Promise<ScalableTarget | undefined> {
  const { ScalableTargets = [] } = await aws.autoScaling.send(
    new DescribeScalableTargetsCommand({ ServiceNamespace: NAMESPACE, ResourceIds: [resourceId], ScalableDimension: DIMENSION }),
  );
  return ScalableTargets.find((target) => target.ResourceId === resourceId && target.ScalableDimension === DIMENSION);
}

export async function findScalingPolicy(aws: AwsClients, resourceId: string, policyName: string): Promise<ScalingPolicy | undefined> {
  const { ScalingPolicies = [] } = await aws.autoScaling.send(
    new DescribeScalingPoliciesCommand({ ServiceNamespace: NAMESPACE, ResourceId: resourceId, ScalableDimension: DIMENSION, PolicyNames: [policyName] }),
  );
  return ScalingPolicies.find((policy) => policy.PolicyName === policyName);
}

/** What a target-tracking policy tracks, in the stack's terms; undefined for any other kind of policy. */
export function trackingOf(policy: ScalingPolicy | undefined): TargetTracking | undefined {
  const tracking = policy?.TargetTrackingScalingPolicyConfiguration;
  const type = tracking?.PredefinedMetricSpecification?.PredefinedMetricType;
  if (policy?.PolicyType !== 'TargetTrackingScaling' || tracking?.TargetValue === undefined) return undefined;
  if (type === PREDEFINED_METRIC.cpu) return { metric: 'cpu', target: tracking.TargetValue };
  if (type === PREDEFINED_METRIC.requests) return { metric: 'requests', target: tracking.TargetValue };
  return undefined;
}

/** The settings a record remembers; undefined when it remembers none (or a hand-edited record is incomplete). */
export function recordedAutoScaling(record: ResourceRecord | undefined): (AutoScalingSettings & { policyName?: string }) | undefined {
  const { min, max, metric, target, policyName } = record?.details ?? {};
  if (typeof min !== 'number' || typeof max !== 'number' || (metric !== 'cpu' && metric !== 'requests') || typeof target !== 'number') return undefined;
  return { min, max, metric, target, ...(typeof policyName === 'string' ? { policyName } : {}) };
}

/** "average CPU at 60 %", "500 requests per target": what a policy holds steady, for summaries. */
export function describeTracking(tracking: TargetTracking): string {
  return tracking.metric === 'cpu' ? `average CPU at ${tracking.target} %` : `${tracking.target} requests per target per minute`;
}

const rangeText = (min: number | undefined, max: number | undefined): string => `${min ?? '?'} to ${max ?? '?'} tasks`;

/**
 * ALBRequestCountPerTarget is measured per target group of one load balancer:
 * `app/<lb-name>/<lb-id>/targetgroup/<tg-name>/<tg-id>`, taken from the two ARNs.
 */
export function requestCountLabel(loadBalancerArn: string, targetGroupArn: string): string {
  const balancer = /:loadbalancer\/(app\/[^/]+\/[^/]+)$/.exec(loadBalancerArn)?.[1];
  const group = /:(targetgroup\/[^/]+\/[^/]+)$/.exec(targetGroupArn)?.[1];
  if (!balancer || !group) {
    throw new OperationError(
      `cannot track requests per target: the recorded load balancer (${loadBalancerArn}) and target group (${targetGroupArn}) are not an Application Load Balancer's ARNs`,
      'run `ecs-ha up` without --autoscale-requests, or with --autoscale-cpu',
    );
  }
  return `${balancer}/${group}`;
}

function policyConfiguration(ctx: ReadContext, tracking: TargetTracking): TargetTrackingScalingPolicyConfiguration {
  const label = tracking.metric === 'requests' ? requestCountLabel(ctx.state.require('loadBalancer').id, ctx.state.require('targetGroup').id) : undefined;
  return {
    TargetValue: tracking.target,
    PredefinedMetricSpecification: { PredefinedMetricType: PREDEFINED_METRIC[tracking.metric], ...(label ? { ResourceLabel: label } : {}) },
  };
}

/** True when the live policy is not the wanted one (missing, another type, metric, target or resource label). */
function policyDiffers(policy: ScalingPolicy | undefined, wanted: TargetTrackingScalingPolicyConfiguration): boolean {
  const live = policy?.TargetTrackingScalingPolicyConfiguration;
  if (policy?.PolicyType !== 'TargetTrackingScaling' || !live || live.CustomizedMetricSpecification) return true;
  const liveMetric = live.PredefinedMetricSpecification;
  const wantedMetric = wanted.PredefinedMetricSpecification!;
  return live.TargetValue !== wanted.TargetValue || liveMetric?.PredefinedMetricType !== wantedMetric.PredefinedMetricType || (liveMetric?.ResourceLabel ?? undefined) !== wantedMetric.ResourceLabel;
}

/** The stack's own ECS service, with its tags; undefined when it (or its cluster) does not exist. */
async function describeOwnService(ctx: ReadContext) {
  try {
    const { services = [] } = await ctx.aws.ecs.send(new DescribeServicesCommand({ cluster: ctx.names.cluster, services: [ctx.names.service], include: ['TAGS'] }));
    return services.find((service) => service.serviceName === ctx.names.service && (service.status === 'ACTIVE' || service.status === 'DRAINING'));
  } catch (error) {
    if (isAwsError(error, 'ClusterNotFoundException')) return undefined;
    throw error;
  }
}

/** Plain moto answers Application Auto Scaling's ListTagsForResource with an HTML "not implemented" page (HTTP 500). */
function tagsUnreadable(error: unknown): boolean {
  return isNotAwsAnswer(error) || /has not been implemented|not implemented/i.test(awsErrorMessage(error));
}

/** Endpoints that said they cannot read these tags: asked once per run (moto's answer is retried for seconds). */
const withoutTagReads = new WeakSet<AwsClients>();

/** Whether the scalable target carries the stack tag; undefined when the endpoint cannot read its tags at all. */
async function carriesStackTag(ctx: ReadContext, arn: string): Promise<boolean | undefined> {
  if (withoutTagReads.has(ctx.aws)) return undefined;
  try {
    const { Tags } = await ctx.aws.autoScaling.send(new ListTagsForResourceCommand({ ResourceARN: arn }));
    return hasStackTag(Tags, ctx.config.stack);
  } catch (error) {
    if (!tagsUnreadable(error)) throw error;
    withoutTagReads.add(ctx.aws);
    return undefined;
  }
}

/**
 * Why the scalable target is not provably the stack's; undefined when it is. Its ARN must be in the
 * state's account and region, and its tag decides. The ownership rule where the tag cannot be read
 * (plain moto has no ListTagsForResource for Application Auto Scaling; a failed read must never pass
 * for "untagged", nor for "tagged"): a scalable target is addressed by its service
 * (`service/<cluster>/<service>`), so the one of the stack's own service, proved by the service's
 * name and stack tag, is the stack's. Any other error of the tag read is an error, not an answer.
 */
export async function ownershipProblem(ctx: ReadContext, target: ScalableTarget): Promise<string | undefined> {
  const arnIssue = arnProblem(target.ScalableTargetARN, ctx.state);
  if (arnIssue) return arnIssue;
  const tagged = target.ScalableTargetARN ? await carriesStackTag(ctx, target.ScalableTargetARN) : undefined;
  if (tagged !== undefined) return tagProblem(tagged, ctx.config.stack);
  const service = await describeOwnService(ctx);
  const unreadable = `its tags cannot be read at this endpoint and`;
  if (!service) return `${unreadable} its service ${ctx.names.service} in cluster ${ctx.names.cluster} no longer exists to prove it is the stack's`;
  return (
    arnProblem(service.serviceArn, ctx.state) ??
    (hasStackTag(service.tags, ctx.config.stack) ? undefined : `${unreadable} its service ${ctx.names.service} does not carry the tag ${STACK_TAG_KEY}=${ctx.config.stack}`)
  );
}

/** What the stack wants: what --autoscale said, the rest as recorded or as found; undefined when autoscaling is off. */
function wantedSettings(request: AutoScalingRequest | undefined, recorded: ResourceRecord | undefined, existing: ScalableTarget | undefined, policy: ScalingPolicy | undefined): AutoScalingSettings | undefined {
  const remembered = recordedAutoScaling(recorded);
  const tracking = request?.tracking ?? (remembered && { metric: remembered.metric, target: remembered.target }) ?? trackingOf(policy) ?? DEFAULT_TRACKING;
  if (request) return { min: request.min, max: request.max, ...tracking };
  if (remembered) return remembered;
  // Nothing asked, nothing recorded, but the stack's own target exists (a state file lost or an interrupted run): as it is.
  if (existing) return { min: existing.MinCapacity ?? 1, max: existing.MaxCapacity ?? 1, ...tracking };
  return undefined;
}

function record(ctx: StepContext, origin: 'created' | 'adopted', settings: AutoScalingSettings, arn: string | undefined, policyArn: string | undefined): void {
  const next: ResourceRecord = {
    id: ctx.names.scalableTarget,
    ...(arn ? { arn } : {}),
    origin,
    details: { ...settings, policyName: ctx.names.scalingPolicy, ...(policyArn ? { policyArn } : {}) },
  };
  // Written only when it changes: a no-op `up` does not rewrite the state file for it.
  if (JSON.stringify(ctx.state.get(KEY)) !== JSON.stringify(next)) ctx.state.record(KEY, next);
}

/** Retries while another update of the same scalable target is in progress. */
function send<T>(ctx: StepContext, what: string, call: () => Promise<T>): Promise<T> {
  return retryWhile(call, {
    clock: ctx.clock,
    what,
    retryOn: CONCURRENT_UPDATE,
    timeoutMs: ctx.waitTimeoutMs,
    onRetry: (seconds, code) => ctx.progress(`${what}: busy (${code}) after ${seconds}s, retrying`),
  });
}

/** DeleteScalingPolicy, then DeregisterScalableTarget; not there counts as gone. True when the scalable target was there to remove. */
async function removeAutoScaling(ctx: StepContext, resourceId: string, policyName: string): Promise<boolean> {
  const target = { ServiceNamespace: NAMESPACE, ResourceId: resourceId, ScalableDimension: DIMENSION } as const;
  try {
    await send(ctx, 'deleting the scaling policy', () => ctx.aws.autoScaling.send(new DeleteScalingPolicyCommand({ ...target, PolicyName: policyName })));
  } catch (error) {
    if (!isGone(error)) throw error;
  }
  try {
    await send(ctx, 'deregistering the scalable target', () => ctx.aws.autoScaling.send(new DeregisterScalableTargetCommand(target)));
    return true;
  } catch (error) {
    if (!isGone(error)) throw error;
    return false;
  }
}

/** `--autoscale off`: removes the stack's own scalable target and policy; one ecs-ha did not create is left alone. */
async function turnOff(ctx: StepContext, existing: ScalableTarget | undefined, ownership: { origin?: 'created' | 'adopted'; proven: boolean }): Promise<string> {
  const id = ctx.names.scalableTarget;
  const recorded = ctx.state.get(KEY);
  if (!existing) {
    ctx.state.forget(KEY);
    return recorded ? `autoscaling of service ${ctx.names.service} was already gone` : `autoscaling is off (service ${ctx.names.service} has no scalable target)`;
  }
  // A recorded origin is the state's word only: the target itself must prove it is the stack's before it goes.
  const problem = ownership.origin === 'adopted' ? 'it was not created by ecs-ha' : ownership.proven ? undefined : await ownershipProblem(ctx, existing);
  if (problem) {
    ctx.notice(`--autoscale off left the scalable target ${id} as it is: not provably this stack's: ${problem}`);
    return `kept autoscaling of service ${ctx.names.service} (not provably this stack's)`;
  }
  await removeAutoScaling(ctx, id, recordedAutoScaling(recorded)?.policyName ?? ctx.names.scalingPolicy);
  ctx.state.forget(KEY);
  return `removed autoscaling of service ${ctx.names.service} (scalable target and policy)`;
}

function adoptedServiceError(ctx: ReadContext): OperationError {
  return new OperationError(
    `cannot change the autoscaling of service ${ctx.names.service}: the service was adopted (not created by ecs-ha), and ecs-ha changes nothing of it`,
    'leave out --autoscale, or manage its autoscaling where the service is managed',
  );
}

export const autoScalingStep: Step = {
  id: 'autoScaling',
  title: 'autoscaling',
  // The load balancer and target group name the requests-per-target metric; down removes autoscaling before any of them.
  dependsOn: ['service', 'loadBalancer', 'targetGroup'],

  async ensure(ctx) {
    const request = ctx.config.autoScaling;
    const name = ctx.names.service;
    const id = ctx.names.scalableTarget;
    if (ctx.state.require('service').origin === 'adopted') {
      if (request !== undefined) throw adoptedServiceError(ctx);
      return `autoscaling of the adopted service ${name} left as it is`;
    }
    let recorded = ctx.state.get(KEY);
    // Read fresh, not prefetched: a service re-created in this run may have lost its scalable target.
    const existing = await findScalableTarget(ctx.aws, id);
    if (recorded?.origin === 'adopted' && !existing) {
      ctx.state.forget(KEY); // theirs is gone; the stack may make its own
      recorded = undefined;
    }
    // Unrecorded, the target's own proof (tag, or its service's) decides whether it is the stack's.
    const proven = !recorded && existing !== undefined && (await ownershipProblem(ctx, existing)) === undefined;
    const origin = recorded?.origin ?? (existing ? (proven ? 'created' : 'adopted') : undefined);
    if (request === 'off') return turnOff(ctx, existing, { ...(origin ? { origin } : {}), proven });

    const policy = existing ? await findScalingPolicy(ctx.aws, id, ctx.names.scalingPolicy) : undefined;
    if (existing && origin === 'adopted') {
      const found = { min: existing.MinCapacity ?? 1, max: existing.MaxCapacity ?? 1, ...(trackingOf(policy) ?? DEFAULT_TRACKING) };
      record(ctx, 'adopted', found, existing.ScalableTargetARN, policy?.PolicyARN);
      if (request) ctx.notice(`the scalable target ${id} was not created by ecs-ha: --autoscale left it as it is (down keeps it)`);
      return `adopted autoscaling of service ${name} (not created by ecs-ha, will be kept)`;
    }
    const wanted = wantedSettings(request, recorded, existing, policy);
    if (!wanted) return `autoscaling is off (service ${name} has no scalable target)`;

    const done: string[] = [];
    let arn = existing?.ScalableTargetARN ?? recorded?.arn;
    if (!existing || existing.MinCapacity !== wanted.min || existing.MaxCapacity !== wanted.max) {
      const { ScalableTargetARN } = await send(ctx, 'registering the scalable target', () =>
        ctx.aws.autoScaling.send(
          new RegisterScalableTargetCommand({
            ServiceNamespace: NAMESPACE,
            ResourceId: id,
            ScalableDimension: DIMENSION,
            MinCapacity: wanted.min,
            MaxCapacity: wanted.max,
            // Tagged in the create call itself; an existing target keeps its tags.
            ...(existing ? {} : { Tags: { [STACK_TAG_KEY]: ctx.config.stack } }),
          }),
        ),
      );
      arn = ScalableTargetARN ?? arn;
      done.push(existing ? `range ${rangeText(existing.MinCapacity, existing.MaxCapacity)} → ${rangeText(wanted.min, wanted.max)}` : 'scalable target');
    }
    // Recorded as soon as the target exists, before its policy.
    const liveTracking = trackingOf(policy);
    record(ctx, 'created', wanted, arn, policy?.PolicyARN);
    const configuration = policyConfiguration(ctx, wanted);
    if (policyDiffers(policy, configuration)) {
      const { PolicyARN } = await send(ctx, 'putting the scaling policy', () =>
        ctx.aws.autoScaling.send(
          new PutScalingPolicyCommand({
            PolicyName: ctx.names.scalingPolicy,
            ServiceNamespace: NAMESPACE,
            ResourceId: id,
            ScalableDimension: DIMENSION,
            PolicyType: 'TargetTrackingScaling',
            TargetTrackingScalingPolicyConfiguration: configuration,
          }),
        ),
      );
      record(ctx, 'created', wanted, arn, PolicyARN);
      done.push(policy ? `policy ${liveTracking ? describeTracking(liveTracking) : policy.PolicyType ?? 'of another kind'} → ${describeTracking(wanted)}` : 'policy');
    }
    const settings = `${rangeText(wanted.min, wanted.max)}, ${describeTracking(wanted)}`;
    if (!existing) return `created autoscaling of service ${name}: ${settings}`;
    if (done.length > 0) return `updated autoscaling of service ${name} (${done.join('; ')})`;
    return `${recorded ? 'autoscaling exists' : 'found autoscaling'} for service ${name}: ${settings}`;
  },

  // The same reads and decisions as ensure, without its writes (see Step.plan).
  async plan(ctx) {
    const request = ctx.config.autoScaling;
    const id = ctx.names.scalableTarget;
    const resource = `autoscaling of service ${ctx.names.service}`;
    if (ctx.state.require('service').origin === 'adopted') {
      if (request !== undefined) throw adoptedServiceError(ctx);
      return { action: 'none', resource, detail: 'the service is adopted: its autoscaling is left as it is' };
    }
    let recorded = ctx.state.get(KEY);
    const existing = await findScalableTarget(ctx.aws, id);
    if (recorded?.origin === 'adopted' && !existing) recorded = undefined;
    const proven = !recorded && existing !== undefined && (await ownershipProblem(ctx, existing)) === undefined;
    const origin = recorded?.origin ?? (existing ? (proven ? 'created' : 'adopted') : undefined);
    if (request === 'off') {
      if (!existing) return { action: 'none', resource, detail: 'off (no scalable target)' };
      const problem = origin === 'adopted' ? 'it was not created by ecs-ha' : proven ? undefined : await ownershipProblem(ctx, existing);
      if (problem) return { action: 'keep', resource, detail: `--autoscale off leaves it as it is: not provably this stack's: ${problem}` };
      return { action: 'delete', resource, detail: 'remove the scalable target and its policy (--autoscale off)' };
    }
    const policy = existing ? await findScalingPolicy(ctx.aws, id, ctx.names.scalingPolicy) : undefined;
    if (existing && origin === 'adopted') {
      const found = { min: existing.MinCapacity ?? 1, max: existing.MaxCapacity ?? 1, ...(trackingOf(policy) ?? DEFAULT_TRACKING) };
      ctx.state.foresee(KEY, { id, origin: 'adopted', details: { ...found } });
      return existingResource(resource, recorded !== undefined, 'adopted', request ? '--autoscale leaves it as it is' : undefined);
    }
    const wanted = wantedSettings(request, recorded, existing, policy);
    if (!wanted) return { action: 'none', resource, detail: 'off (the service has no scalable target)' };
    const settings = `${rangeText(wanted.min, wanted.max)}, ${describeTracking(wanted)}`;
    if (!existing) return { action: 'create', resource, detail: settings };
    const changes: string[] = [];
    if (existing.MinCapacity !== wanted.min || existing.MaxCapacity !== wanted.max) changes.push(`range ${rangeText(existing.MinCapacity, existing.MaxCapacity)} → ${rangeText(wanted.min, wanted.max)}`);
    // Requests per target name the load balancer and target group: new ones are a new policy, whose label is known once they exist.
    const newLabel = wanted.metric === 'requests' && (ctx.state.isNew('loadBalancer') || ctx.state.isNew('targetGroup'));
    if (newLabel || policyDiffers(policy, policyConfiguration(ctx, wanted))) {
      const live = trackingOf(policy);
      changes.push(policy ? `policy ${live ? describeTracking(live) : (policy.PolicyType ?? 'of another kind')} → ${describeTracking(wanted)}` : `policy ${describeTracking(wanted)}`);
    }
    if (changes.length > 0) return { action: 'update', resource, detail: changes.join('; ') };
    return existingResource(resource, recorded !== undefined, 'created', settings);
  },

  async proveOwnership(ctx, recorded) {
    const early = judge(nameProblem(recorded.id, ctx.names.scalableTarget, 'resource ID'), recordProblem(recorded, ctx.state));
    if (early.kind !== 'ours') return early;
    const existing = await findScalableTarget(ctx.aws, recorded.id);
    if (!existing) return GONE;
    return judge(await ownershipProblem(ctx, existing));
  },

  async destroy(ctx) {
    const recorded = ctx.state.get(KEY);
    if (!recorded) return 'no autoscaling recorded';
    if (recorded.origin === 'adopted') {
      ctx.state.forget(KEY);
      return `kept autoscaling ${recorded.id} (adopted)`;
    }
    const removed = await removeAutoScaling(ctx, recorded.id, recordedAutoScaling(recorded)?.policyName ?? ctx.names.scalingPolicy);
    ctx.state.forget(KEY);
    return removed ? `deleted autoscaling of service ${ctx.names.service} (scalable target and policy)` : `autoscaling ${recorded.id} was already gone`;
  },

  async discover(ctx) {
    const id = ctx.names.scalableTarget;
    const existing = await findScalableTarget(ctx.aws, id);
    if (!existing || (await ownershipProblem(ctx, existing)) !== undefined) return;
    const policy = await findScalingPolicy(ctx.aws, id, ctx.names.scalingPolicy);
    const found = { min: existing.MinCapacity ?? 1, max: existing.MaxCapacity ?? 1, ...(trackingOf(policy) ?? DEFAULT_TRACKING) };
    record(ctx, 'created', found, existing.ScalableTargetARN, policy?.PolicyARN);
  },
};
