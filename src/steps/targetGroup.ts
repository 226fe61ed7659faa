import {
  CreateTargetGroupCommand,
  DeleteTargetGroupCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  ModifyTargetGroupAttributesCommand,
  ModifyTargetGroupCommand,
  type ModifyTargetGroupCommandInput,
  type TargetGroup,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { isAwsError } from '../aws/errors.js';
import { retryWhile } from '../aws/poll.js';
import { existingResource, type ReadContext } from '../engine/plan.js';
import { lookedUp, type Step, type StepContext } from '../engine/step.js';
import { GONE, judge, nameProblem, recordProblem, tagProblem } from '../engine/ownership.js';
import { stackTag } from '../engine/tags.js';
import type { ResourceNames } from '../config.js';
import { EnvironmentError } from '../errors.js';
import { isTaggedForStack, RESOURCE_IN_USE } from './loadBalancer.js';

/**
 * Health checks tuned for fast failover (design §5): the ALB defaults (30 s interval, 5 healthy
 * checks) keep a new task out of rotation for ~150 s; these admit it after ~20 s and drop a dead
 * one after ~20 s. `verify` and the README quote these numbers.
 */
export const HEALTH_CHECK = {
  path: '/health',
  intervalSeconds: 10,
  timeoutSeconds: 5,
  healthyThresholdCount: 2,
  unhealthyThresholdCount: 2,
  matcherHttpCode: '200',
} as const;

/** The default 300 s would hold every stopped task (and `chaos`) for five minutes. */
export const DEREGISTRATION_DELAY_SECONDS = 15;
const DEREGISTRATION_DELAY_KEY = 'deregistration_delay.timeout_seconds';

/**
 * The wire code and the SDK's exception name (isAwsError matches either).
 * DeleteTargetGroup of a missing group succeeds on AWS but raises TargetGroupNotFound on moto.
 */
const TARGET_GROUP_NOT_FOUND = ['TargetGroupNotFound', 'TargetGroupNotFoundException'];

async function findByName(ctx: ReadContext, name: string): Promise<TargetGroup | undefined> {
  try {
    const { TargetGroups = [] } = await ctx.aws.elbv2.send(new DescribeTargetGroupsCommand({ Names: [name] }));
    return TargetGroups[0];
  } catch (error) {
    if (isAwsError(error, ...TARGET_GROUP_NOT_FOUND)) return undefined;
    throw error;
  }
}

/** The health-check fields that differ from HEALTH_CHECK, as a ModifyTargetGroup input (empty when none). */
export function healthCheckChanges(tg: TargetGroup): Partial<ModifyTargetGroupCommandInput> {
  const changes: Partial<ModifyTargetGroupCommandInput> = {};
  if (tg.HealthCheckPath !== HEALTH_CHECK.path) changes.HealthCheckPath = HEALTH_CHECK.path;
  if (tg.HealthCheckIntervalSeconds !== HEALTH_CHECK.intervalSeconds) changes.HealthCheckIntervalSeconds = HEALTH_CHECK.intervalSeconds;
  if (tg.HealthCheckTimeoutSeconds !== HEALTH_CHECK.timeoutSeconds) changes.HealthCheckTimeoutSeconds = HEALTH_CHECK.timeoutSeconds;
  if (tg.HealthyThresholdCount !== HEALTH_CHECK.healthyThresholdCount) changes.HealthyThresholdCount = HEALTH_CHECK.healthyThresholdCount;
  if (tg.UnhealthyThresholdCount !== HEALTH_CHECK.unhealthyThresholdCount) changes.UnhealthyThresholdCount = HEALTH_CHECK.unhealthyThresholdCount;
  if (tg.Matcher?.HttpCode !== HEALTH_CHECK.matcherHttpCode) changes.Matcher = { HttpCode: HEALTH_CHECK.matcherHttpCode };
  return changes;
}

/** The current value of a health-check field ModifyTargetGroup sets, as the plan shows it. */
function describeSetting(tg: TargetGroup, field: string): string {
  const value = field === 'Matcher' ? tg.Matcher : (tg as Record<string, unknown>)[field];
  return value === undefined ? 'unset' : JSON.stringify(value);
}

async function setDeregistrationDelay(ctx: StepContext, arn: string): Promise<void> {
  await ctx.aws.elbv2.send(
    new ModifyTargetGroupAttributesCommand({
      TargetGroupArn: arn,
      Attributes: [{ Key: DEREGISTRATION_DELAY_KEY, Value: String(DEREGISTRATION_DELAY_SECONDS) }],
    }),
  );
}

/** A target group's VPC, protocol and target type cannot be changed; one that cannot serve Fargate tasks is refused. */
function checkUsable(tg: TargetGroup, vpcId: string): void {
  const problems: string[] = [];
  if (tg.VpcId && tg.VpcId !== vpcId) problems.push(`it is in VPC ${tg.VpcId}, not ${vpcId}`);
  if (tg.TargetType && tg.TargetType !== 'ip') problems.push(`its target type is ${tg.TargetType}, Fargate tasks need ip`);
  if (tg.Protocol && tg.Protocol !== 'HTTP') problems.push(`its protocol is ${tg.Protocol}, the app speaks HTTP`);
  if (problems.length > 0) {
    throw new EnvironmentError(
      `target group ${tg.TargetGroupName} cannot be used: ${problems.join('; ')}`,
      'these settings cannot be changed in place: delete that target group (`ecs-ha down` if this stack made it) or use another --stack',
    );
  }
}

/** What differs from the tuned settings (one read): the health-check fields, and the deregistration delay when it does (its current value). */
async function untunedSettings(ctx: ReadContext, tg: TargetGroup): Promise<{ healthCheck: Partial<ModifyTargetGroupCommandInput>; deregistrationDelay?: string }> {
  const { Attributes = [] } = await ctx.aws.elbv2.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: tg.TargetGroupArn! }));
  const delay = Attributes.find((a) => a.Key === DEREGISTRATION_DELAY_KEY)?.Value;
  return { healthCheck: healthCheckChanges(tg), ...(delay !== String(DEREGISTRATION_DELAY_SECONDS) ? { deregistrationDelay: delay ?? 'unset' } : {}) };
}

/** Brings the stack's own target group to the tuned settings, changing only what differs. */
async function tune(ctx: StepContext, tg: TargetGroup): Promise<string[]> {
  const arn = tg.TargetGroupArn!;
  const done: string[] = [];
  const { healthCheck, deregistrationDelay } = await untunedSettings(ctx, tg);
  if (Object.keys(healthCheck).length > 0) {
    await ctx.aws.elbv2.send(new ModifyTargetGroupCommand({ TargetGroupArn: arn, ...healthCheck }));
    done.push('health check');
  }
  if (deregistrationDelay !== undefined) {
    await setDeregistrationDelay(ctx, arn);
    done.push('deregistration delay');
  }
  return done;
}

/**
 * What tells the stack's target groups apart: the one the service registers its tasks in
 * (`<stack>-tg`), and the second one the native strategies shift traffic to (`<stack>-tg2`), which
 * only a stack built for them has. Both are made, tuned, adopted and removed the same way.
 */
export interface TargetGroupSpec {
  id: 'targetGroup' | 'alternateTargetGroup';
  title: string;
  nameOf(names: ResourceNames): string;
  /** Whether the stack wants it now; when not, `ensure` makes nothing and leaves a recorded one to `down`. Default: always. */
  wanted?(ctx: ReadContext): boolean;
  /** Why it is not wanted, for the step's summary and the plan. */
  notWantedBecause?: string;
}

export function targetGroupStepFor(spec: TargetGroupSpec): Step {
  const nameOf = (ctx: ReadContext): string => spec.nameOf(ctx.names);
  const find = (ctx: ReadContext): Promise<TargetGroup | undefined> => findByName(ctx, nameOf(ctx));
  const record = (ctx: StepContext, arn: string, origin: 'created' | 'adopted'): void => {
    ctx.state.record(spec.id, { id: arn, arn, origin, details: { name: nameOf(ctx) } });
  };
  const notWanted = (ctx: ReadContext): boolean => spec.wanted !== undefined && !spec.wanted(ctx);
  return {
    id: spec.id,
    title: spec.title,
    dependsOn: ['network'],
    lookup: find,

    async ensure(ctx) {
      const name = nameOf(ctx);
      if (notWanted(ctx)) return `no ${spec.title} (${spec.notWantedBecause ?? 'not wanted'})${ctx.state.get(spec.id) ? `; the recorded ${name} is kept until \`down\`` : ''}`;
      const vpcId = ctx.state.require('network').id;
      const recorded = ctx.state.get(spec.id);
      const existing = await lookedUp(ctx, find);

      if (existing?.TargetGroupArn) {
        const arn = existing.TargetGroupArn;
        checkUsable(existing, vpcId);
        const sameAsRecorded = recorded?.id === arn;
        const origin = sameAsRecorded ? recorded.origin : (await isTaggedForStack(ctx, arn)) ? 'created' : 'adopted';
        if (!sameAsRecorded || recorded.origin !== origin) record(ctx, arn, origin);
        if (origin === 'adopted') {
          if (Object.keys(healthCheckChanges(existing)).length > 0) {
            ctx.notice(`target group ${name} was not created by ecs-ha and its health check differs from ${HEALTH_CHECK.path} every ${HEALTH_CHECK.intervalSeconds}s; it was left as it is`);
          }
          return `adopted target group ${name} (not created by ecs-ha, will be kept)`;
        }
        const tuned = await tune(ctx, existing);
        return `target group ${name} ${sameAsRecorded ? 'exists' : 'found'}${tuned.length > 0 ? `, reset ${tuned.join(' and ')}` : ''}`;
      }

      const { TargetGroups = [] } = await ctx.aws.elbv2.send(
        new CreateTargetGroupCommand({
          Name: name,
          Protocol: 'HTTP',
          Port: ctx.config.appPort,
          VpcId: vpcId,
          TargetType: 'ip',
          HealthCheckProtocol: 'HTTP',
          HealthCheckPath: HEALTH_CHECK.path,
          HealthCheckIntervalSeconds: HEALTH_CHECK.intervalSeconds,
          HealthCheckTimeoutSeconds: HEALTH_CHECK.timeoutSeconds,
          HealthyThresholdCount: HEALTH_CHECK.healthyThresholdCount,
          UnhealthyThresholdCount: HEALTH_CHECK.unhealthyThresholdCount,
          Matcher: { HttpCode: HEALTH_CHECK.matcherHttpCode },
          Tags: [stackTag(ctx.config.stack)],
        }),
      );
      const arn = TargetGroups[0]!.TargetGroupArn!;
      record(ctx, arn, 'created');
      await setDeregistrationDelay(ctx, arn);
      return `created target group ${name}`;
    },

    async plan(ctx) {
      const name = nameOf(ctx);
      const resource = `${spec.title} ${name}`;
      if (notWanted(ctx)) return { action: 'none', resource, detail: spec.notWantedBecause ?? 'not wanted' };
      const vpcId = ctx.state.require('network').id;
      const recorded = ctx.state.get(spec.id);
      const existing = await find(ctx);
      if (existing?.TargetGroupArn) {
        const arn = existing.TargetGroupArn;
        // One that cannot serve the tasks stops up (exit 3): the plan says so the same way.
        checkUsable(existing, vpcId);
        const sameAsRecorded = recorded?.id === arn;
        const origin = sameAsRecorded ? recorded.origin : (await isTaggedForStack(ctx, arn)) ? 'created' : 'adopted';
        if (!sameAsRecorded || recorded.origin !== origin) ctx.state.foresee(spec.id, { id: arn, arn, origin, details: { name } });
        if (origin === 'adopted') {
          const differs = Object.keys(healthCheckChanges(existing)).length > 0 ? `its health check differs from ${HEALTH_CHECK.path} every ${HEALTH_CHECK.intervalSeconds}s, left as it is` : undefined;
          return existingResource(resource, sameAsRecorded, origin, differs);
        }
        const { healthCheck, deregistrationDelay } = await untunedSettings(ctx, existing);
        const resets = [
          ...Object.keys(healthCheck).map((field) => `${field} ${describeSetting(existing, field)} → ${JSON.stringify(healthCheck[field as keyof typeof healthCheck])}`),
          ...(deregistrationDelay !== undefined ? [`deregistration delay ${deregistrationDelay} → ${DEREGISTRATION_DELAY_SECONDS} s`] : []),
        ];
        if (resets.length > 0) return { action: 'update', resource, detail: `reset ${resets.join(', ')}` };
        return existingResource(resource, sameAsRecorded, origin);
      }
      ctx.state.foreseeNew(spec.id, spec.title);
      return { action: 'create', resource, detail: `HTTP ${ctx.config.appPort}, ip targets, health check ${HEALTH_CHECK.path} every ${HEALTH_CHECK.intervalSeconds}s` };
    },

    async proveOwnership(ctx, record) {
      const early = judge(recordProblem(record, ctx.state), !record.id.startsWith('arn:') && `"${record.id}" is not a target group ARN`);
      if (early.kind !== 'ours') return early;
      let group: TargetGroup | undefined;
      try {
        group = (await ctx.aws.elbv2.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [record.id] }))).TargetGroups?.[0];
      } catch (error) {
        if (isAwsError(error, ...TARGET_GROUP_NOT_FOUND)) return GONE;
        throw error;
      }
      if (!group) return GONE;
      return judge(nameProblem(group.TargetGroupName, nameOf(ctx)), tagProblem(await isTaggedForStack(ctx, record.id), ctx.config.stack));
    },

    async destroy(ctx) {
      const recorded = ctx.state.get(spec.id);
      if (!recorded) return `no ${spec.title} recorded`;
      if (recorded.origin === 'adopted') {
        ctx.state.forget(spec.id);
        return `kept target group ${recorded.id} (adopted)`;
      }
      try {
        // A load balancer being deleted still counts as using the group for a while.
        await retryWhile(() => ctx.aws.elbv2.send(new DeleteTargetGroupCommand({ TargetGroupArn: recorded.id })), {
          clock: ctx.clock,
          what: `${spec.title} ${nameOf(ctx)} to be free`,
          retryOn: RESOURCE_IN_USE,
          timeoutMs: ctx.waitTimeoutMs,
          onRetry: (seconds, code) => ctx.progress(`still in use (${code}) after ${seconds}s, retrying`),
        });
      } catch (error) {
        if (!isAwsError(error, ...TARGET_GROUP_NOT_FOUND)) throw error;
      }
      ctx.state.forget(spec.id);
      return `deleted ${spec.title} ${nameOf(ctx)}`;
    },

    async discover(ctx) {
      const existing = await find(ctx);
      if (existing?.TargetGroupArn && (await isTaggedForStack(ctx, existing.TargetGroupArn))) record(ctx, existing.TargetGroupArn, 'created');
    },
  };
}

export const targetGroupStep: Step = targetGroupStepFor({ id: 'targetGroup', title: 'target group', nameOf: (names) => names.targetGroup });
