import {
  CreateLogGroupCommand,
  DeleteLogGroupCommand,
  DescribeLogGroupsCommand,
  ListTagsForResourceCommand,
  PutRetentionPolicyCommand,
  type LogGroup,
} from '@aws-sdk/client-cloudwatch-logs';
import { isAwsError } from '../aws/errors.js';
import { retryWhile } from '../aws/poll.js';
import { STACK_TAG_KEY } from '../config.js';
import { existingResource, type ReadContext } from '../engine/plan.js';
import type { Step, StepContext } from '../engine/step.js';
import { arnProblem, GONE, judge, nameProblem, recordProblem, tagProblem } from '../engine/ownership.js';
import { hasStackTag } from '../engine/tags.js';

/** DescribeLogGroups matches by prefix only: page until the exact name turns up. */
async function findLogGroup(ctx: ReadContext): Promise<LogGroup | undefined> {
  const name = ctx.names.logGroup;
  let nextToken: string | undefined;
  do {
    const page = await ctx.aws.logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: name, ...(nextToken ? { nextToken } : {}) }));
    const found = page.logGroups?.find((group) => group.logGroupName === name);
    if (found) return found;
    nextToken = page.nextToken;
  } while (nextToken);
  return undefined;
}

/** The group's ARN without the `:*` DescribeLogGroups appends (tagging calls refuse that form). */
function logGroupArn(group: LogGroup): string {
  return group.logGroupArn ?? group.arn!.replace(/:\*$/, '');
}

/** The ARN partition of a region: aws, aws-cn or aws-us-gov. */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

/** CreateLogGroup returns nothing, and the record must be written before any further call. */
function arnFor(ctx: ReadContext): string {
  return `arn:${partitionOf(ctx.state.region)}:logs:${ctx.state.region}:${ctx.state.account}:log-group:${ctx.names.logGroup}`;
}

async function carriesStackTag(ctx: ReadContext, group: LogGroup): Promise<boolean> {
  const { tags } = await ctx.aws.logs.send(new ListTagsForResourceCommand({ resourceArn: logGroupArn(group) }));
  return hasStackTag(tags, ctx.config.stack);
}

/** "7 days", or "never expire" for a group without a retention. */
function retentionOf(group: LogGroup): string {
  return group.retentionInDays === undefined ? 'never expire' : `${group.retentionInDays} days`;
}

async function putRetention(ctx: StepContext): Promise<void> {
  await ctx.aws.logs.send(new PutRetentionPolicyCommand({ logGroupName: ctx.names.logGroup, retentionInDays: ctx.config.logRetentionDays }));
}

export const logGroupStep: Step = {
  id: 'logGroup',
  title: 'log group',
  dependsOn: [],

  async ensure(ctx) {
    const name = ctx.names.logGroup;
    const days = ctx.config.logRetentionDays;
    const recorded = ctx.state.get('logGroup');
    const existing = await findLogGroup(ctx);
    if (!existing) {
      await ctx.aws.logs.send(new CreateLogGroupCommand({ logGroupName: name, tags: { [STACK_TAG_KEY]: ctx.config.stack } }));
      ctx.state.record('logGroup', { id: name, arn: arnFor(ctx), origin: 'created' });
      await putRetention(ctx);
      return `created log group ${name} (retention ${days} days)`;
    }

    const origin = recorded?.origin ?? ((await carriesStackTag(ctx, existing)) ? 'created' : 'adopted');
    const arn = logGroupArn(existing);
    if (!recorded || recorded.arn !== arn || recorded.origin !== origin) ctx.state.record('logGroup', { id: name, arn, origin });

    let retentionNote = '';
    if (existing.retentionInDays !== days) {
      const current = retentionOf(existing);
      if (origin === 'created') {
        await putRetention(ctx);
        retentionNote = `; retention set to ${days} days (was ${current})`;
      } else {
        ctx.notice(`log group ${name} is adopted (not created by ecs-ha): its retention (${current}) was left as it is, not set to ${days} days`);
      }
    }
    if (origin === 'adopted') return `adopted log group ${name} (not created by ecs-ha, will be kept)${retentionNote}`;
    return `${recorded ? `log group ${name} exists` : `found log group ${name}`}${retentionNote}`;
  },

  async plan(ctx) {
    const name = ctx.names.logGroup;
    const days = ctx.config.logRetentionDays;
    const resource = `log group ${name}`;
    const recorded = ctx.state.get('logGroup');
    const existing = await findLogGroup(ctx);
    if (!existing) {
      // Its name and ARN are known before it exists: the task definition names the group, not an ID.
      ctx.state.foreseeNew('logGroup', 'log group', { id: name, arn: arnFor(ctx), origin: 'created' });
      return { action: 'create', resource, detail: `retention ${days} days` };
    }
    const origin = recorded?.origin ?? ((await carriesStackTag(ctx, existing)) ? 'created' : 'adopted');
    const arn = logGroupArn(existing);
    const inState = recorded !== undefined && recorded.arn === arn && recorded.origin === origin;
    if (!inState) ctx.state.foresee('logGroup', { id: name, arn, origin });
    if (existing.retentionInDays === days) return existingResource(resource, recorded !== undefined, origin, `retention ${days} days`);
    if (origin === 'created') return { action: 'update', resource, detail: `retention ${retentionOf(existing)} → ${days} days` };
    return existingResource(resource, recorded !== undefined, origin, `retention ${retentionOf(existing)} left as it is, not ${days} days`);
  },

  async proveOwnership(ctx, record) {
    const early = judge(nameProblem(record.id, ctx.names.logGroup), recordProblem(record, ctx.state));
    if (early.kind !== 'ours') return early;
    const existing = await findLogGroup(ctx);
    if (!existing) return GONE;
    return judge(arnProblem(logGroupArn(existing), ctx.state), tagProblem(await carriesStackTag(ctx, existing), ctx.config.stack));
  },

  async destroy(ctx) {
    const recorded = ctx.state.get('logGroup');
    if (!recorded) return 'no log group recorded';
    if (recorded.origin === 'adopted') {
      ctx.state.forget('logGroup');
      return `kept log group ${recorded.id} (adopted)`;
    }
    let summary = `deleted log group ${recorded.id}`;
    try {
      // A concurrent change to the group (another deletion, a retention update) answers OperationAborted.
      await retryWhile(() => ctx.aws.logs.send(new DeleteLogGroupCommand({ logGroupName: recorded.id })), {
        clock: ctx.clock,
        what: `log group ${recorded.id} to be deletable`,
        retryOn: ['OperationAbortedException'],
        timeoutMs: ctx.waitTimeoutMs,
        onRetry: (seconds, code) => ctx.progress(`busy (${code}) after ${seconds}s, retrying`),
      });
    } catch (error) {
      if (!isAwsError(error, 'ResourceNotFoundException')) throw error;
      summary = `log group ${recorded.id} was already gone`;
    }
    ctx.state.forget('logGroup');
    return summary;
  },

  async discover(ctx) {
    const existing = await findLogGroup(ctx);
    if (existing && (await carriesStackTag(ctx, existing))) {
      ctx.state.record('logGroup', { id: ctx.names.logGroup, arn: logGroupArn(existing), origin: 'created' });
    }
  },
};
