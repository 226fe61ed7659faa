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

async function findByName(ctx: ReadContext): Promise<TargetGroup | undefined> {
  try {
    const { TargetGroups = [] } = await ctx.aws.elbv2.send(new DescribeTargetGroupsCommand({ Names: [ctx.names.targetGroup] }));
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

function record(ctx: StepContext, arn: string, origin: 'created' | 'adopted'): void {
  ctx.state.record('targetGroup', { id: arn, arn, origin, details: { name: ctx.names.targetGroup } });
}

export const targetGroupStep: Step = {
  id: 'targetGroup',
  title: 'target group',
  dependsOn: ['network'],
  lookup: findByName,

  async ensure(ctx) {
    const name = ctx.names.targetGroup;
    const vpcId = ctx.state.require('network').id;
    const recorded = ctx.state.get('targetGroup');
    const existing = await lookedUp(ctx, findByName);

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
    const name = ctx.names.targetGroup;
    const resource = `target group ${name}`;
    const vpcId = ctx.state.require('network').id;
    const recorded = ctx.state.get('targetGroup');
    const existing = await findByName(ctx);
    if (existing?.TargetGroupArn) {
      const arn = existing.TargetGroupArn;
      // One that cannot serve the tasks stops up (exit 3): the plan says so the same way.
      checkUsable(existing, vpcId);
      const sameAsRecorded = recorded?.id === arn;
      const origin = sameAsRecorded ? recorded.origin : (await isTaggedForStack(ctx, arn)) ? 'created' : 'adopted';
      if (!sameAsRecorded || recorded.origin !== origin) ctx.state.foresee('targetGroup', { id: arn, arn, origin, details: { name } });
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
    ctx.state.foreseeNew('targetGroup', 'target group');
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
    return judge(nameProblem(group.TargetGroupName, ctx.names.targetGroup), tagProblem(await isTaggedForStack(ctx, record.id), ctx.config.stack));
  },

  async destroy(ctx) {
    const recorded = ctx.state.get('targetGroup');
    if (!recorded) return 'no target group recorded';
    if (recorded.origin === 'adopted') {
      ctx.state.forget('targetGroup');
      return `kept target group ${recorded.id} (adopted)`;
    }
    try {
      // A load balancer being deleted still counts as using the group for a while.
      await retryWhile(() => ctx.aws.elbv2.send(new DeleteTargetGroupCommand({ TargetGroupArn: recorded.id })), {
        clock: ctx.clock,
        what: `target group ${ctx.names.targetGroup} to be free`,
        retryOn: RESOURCE_IN_USE,
        timeoutMs: ctx.waitTimeoutMs,
        onRetry: (seconds, code) => ctx.progress(`still in use (${code}) after ${seconds}s, retrying`),
      });
    } catch (error) {
      if (!isAwsError(error, ...TARGET_GROUP_NOT_FOUND)) throw error;
    }
    ctx.state.forget('targetGroup');
    return `deleted target group ${ctx.names.targetGroup}`;
  },

  async discover(ctx) {
    const existing = await findByName(ctx);
    if (existing?.TargetGroupArn && (await isTaggedForStack(ctx, existing.TargetGroupArn))) record(ctx, existing.TargetGroupArn, 'created');
  },
};
