import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  DeleteLogGroupCommand,
  DescribeLogGroupsCommand,
  ListTagsForResourceCommand,
  PutRetentionPolicyCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { isMutatingOperation } from '../../../src/aws/clients.js';
import { logGroupStep } from '../../../src/steps/logGroup.js';
import { awsError, testContext } from '../../helpers/context.js';
import { planThenEnsure, writesOf } from '../core/planAgreement.js';

const logs = mockClient(CloudWatchLogsClient);
const arn = 'arn:aws:logs:us-east-1:123456789012:log-group:/ecs/demo';
const group = { logGroupName: '/ecs/demo', arn: `${arn}:*`, retentionInDays: 7 };
const record = { id: '/ecs/demo', arn, origin: 'created' } as const;

beforeEach(() => logs.reset());

function mutatingCalls(): string[] {
  return logs
    .calls()
    .map((call) => (call.args[0] as object).constructor.name.replace(/Command$/, ''))
    .filter(isMutatingOperation);
}

describe('log group step', () => {
  it('creates a tagged log group, records it at once, then sets the retention', async () => {
    const ctx = testContext({ config: { logRetentionDays: 14 } });
    logs.on(DescribeLogGroupsCommand).resolves({ logGroups: [{ logGroupName: '/ecs/demo-other', arn: 'x' }] });
    logs.on(CreateLogGroupCommand).callsFake(() => {
      expect(ctx.state.get('logGroup')).toBeUndefined();
      return {};
    });
    logs.on(PutRetentionPolicyCommand).callsFake(() => {
      // The record is written before any call after the create.
      expect(ctx.state.get('logGroup')).toEqual(record);
      return {};
    });

    expect(await logGroupStep.ensure(ctx)).toBe('created log group /ecs/demo (retention 14 days)');

    expect(logs.commandCalls(DescribeLogGroupsCommand)[0]!.args[0].input).toEqual({ logGroupNamePrefix: '/ecs/demo' });
    expect(logs.commandCalls(CreateLogGroupCommand)[0]!.args[0].input).toEqual({ logGroupName: '/ecs/demo', tags: { 'ecs-ha:stack': 'demo' } });
    expect(logs.commandCalls(PutRetentionPolicyCommand)[0]!.args[0].input).toEqual({ logGroupName: '/ecs/demo', retentionInDays: 14 });
    expect(ctx.state.get('logGroup')).toEqual(record);
  });

  it('pages through groups sharing the prefix to find the exact name', async () => {
    const ctx = testContext();
    ctx.state.record('logGroup', record);
    logs
      .on(DescribeLogGroupsCommand)
      .resolvesOnce({ logGroups: [{ logGroupName: '/ecs/demo-a', arn: 'a' }], nextToken: 't1' })
      .resolvesOnce({ logGroups: [group] });

    expect(await logGroupStep.ensure(ctx)).toBe('log group /ecs/demo exists');

    expect(logs.commandCalls(DescribeLogGroupsCommand)[1]!.args[0].input).toEqual({ logGroupNamePrefix: '/ecs/demo', nextToken: 't1' });
    expect(mutatingCalls()).toEqual([]);
  });

  it('makes no mutating call when the recorded group exists with the right retention', async () => {
    const ctx = testContext();
    ctx.state.record('logGroup', record);
    logs.on(DescribeLogGroupsCommand).resolves({ logGroups: [group] });

    await logGroupStep.ensure(ctx);

    expect(logs.calls()).toHaveLength(1);
    expect(mutatingCalls()).toEqual([]);
  });

  it('puts the retention on its own group when it differs', async () => {
    const ctx = testContext({ config: { logRetentionDays: 30 } });
    ctx.state.record('logGroup', record);
    logs.on(DescribeLogGroupsCommand).resolves({ logGroups: [{ ...group, retentionInDays: undefined }] });
    logs.on(PutRetentionPolicyCommand).resolves({});

    expect(await logGroupStep.ensure(ctx)).toContain('retention set to 30 days (was never expire)');

    expect(logs.commandCalls(PutRetentionPolicyCommand)[0]!.args[0].input).toEqual({ logGroupName: '/ecs/demo', retentionInDays: 30 });
    expect(mutatingCalls()).toEqual(['PutRetentionPolicy']);
  });

  it('adopts an untagged group, leaves its retention alone with a notice, and never deletes it', async () => {
    const ctx = testContext({ config: { logRetentionDays: 30 } });
    logs.on(DescribeLogGroupsCommand).resolves({ logGroups: [group] });
    logs.on(ListTagsForResourceCommand).resolves({ tags: { team: 'web' } });

    expect(await logGroupStep.ensure(ctx)).toContain('adopted');

    // The tagging API refuses the `:*` form DescribeLogGroups returns.
    expect(logs.commandCalls(ListTagsForResourceCommand)[0]!.args[0].input).toEqual({ resourceArn: arn });
    expect(mutatingCalls()).toEqual([]);
    expect(ctx.notices.join('\n')).toContain('retention (7 days) was left as it is');
    expect(ctx.state.get('logGroup')).toEqual({ ...record, origin: 'adopted' });

    expect(await logGroupStep.destroy(ctx)).toContain('kept');
    expect(logs.commandCalls(DeleteLogGroupCommand)).toHaveLength(0);
    expect(ctx.state.get('logGroup')).toBeUndefined();
  });

  it('treats a tagged group missing from the state as its own', async () => {
    const ctx = testContext();
    logs.on(DescribeLogGroupsCommand).resolves({ logGroups: [{ ...group, logGroupArn: arn }] });
    logs.on(ListTagsForResourceCommand).resolves({ tags: { 'ecs-ha:stack': 'demo' } });

    expect(await logGroupStep.ensure(ctx)).toBe('found log group /ecs/demo');

    expect(ctx.state.get('logGroup')).toEqual(record);
    expect(mutatingCalls()).toEqual([]);
  });

  it('recreates a group deleted behind its back', async () => {
    const ctx = testContext();
    ctx.state.record('logGroup', record);
    logs.on(DescribeLogGroupsCommand).resolves({ logGroups: [] });
    logs.on(CreateLogGroupCommand).resolves({});
    logs.on(PutRetentionPolicyCommand).resolves({});

    await logGroupStep.ensure(ctx);

    expect(logs.commandCalls(CreateLogGroupCommand)).toHaveLength(1);
    expect(ctx.state.get('logGroup')).toEqual(record);
  });

  it('deletes its own group and forgets it', async () => {
    const ctx = testContext();
    ctx.state.record('logGroup', record);
    logs.on(DeleteLogGroupCommand).resolves({});

    expect(await logGroupStep.destroy(ctx)).toBe('deleted log group /ecs/demo');

    expect(logs.commandCalls(DeleteLogGroupCommand)[0]!.args[0].input).toEqual({ logGroupName: '/ecs/demo' });
    expect(ctx.state.get('logGroup')).toBeUndefined();
  });

  it('retries deletion while another operation holds the group', async () => {
    const ctx = testContext();
    ctx.state.record('logGroup', record);
    logs.on(DeleteLogGroupCommand).rejectsOnce(awsError('OperationAbortedException')).resolves({});

    await logGroupStep.destroy(ctx);

    expect(logs.commandCalls(DeleteLogGroupCommand)).toHaveLength(2);
    expect(ctx.clock.slept).toHaveLength(1);
    expect(ctx.progressLines.join('\n')).toContain('OperationAbortedException');
    expect(ctx.state.get('logGroup')).toBeUndefined();
  });

  it('counts a group already gone as removed', async () => {
    const ctx = testContext();
    ctx.state.record('logGroup', record);
    logs.on(DeleteLogGroupCommand).rejects(awsError('ResourceNotFoundException'));

    expect(await logGroupStep.destroy(ctx)).toBe('log group /ecs/demo was already gone');

    expect(ctx.state.get('logGroup')).toBeUndefined();
  });

  it('stops on a permanent error and keeps the record', async () => {
    const ctx = testContext();
    ctx.state.record('logGroup', record);
    logs.on(DeleteLogGroupCommand).rejects(awsError('AccessDeniedException'));

    await expect(logGroupStep.destroy(ctx)).rejects.toThrow('AccessDeniedException');
    expect(ctx.state.get('logGroup')).toEqual(record);
    expect(ctx.clock.slept).toHaveLength(0);
  });

  it('discovers only a group carrying the stack tag', async () => {
    const tagged = testContext();
    logs.on(DescribeLogGroupsCommand).resolves({ logGroups: [group] });
    logs.on(ListTagsForResourceCommand).resolves({ tags: { 'ecs-ha:stack': 'demo' } });
    await logGroupStep.discover(tagged);
    expect(tagged.state.get('logGroup')).toEqual(record);

    logs.reset();
    const untagged = testContext();
    logs.on(DescribeLogGroupsCommand).resolves({ logGroups: [group] });
    logs.on(ListTagsForResourceCommand).resolves({ tags: { 'ecs-ha:stack': 'other' } });
    await logGroupStep.discover(untagged);
    expect(untagged.state.get('logGroup')).toBeUndefined();
  });
});

describe('log group plan', () => {
  const writes = writesOf(logs);

  it('create: no group of the name; its name and ARN are known before it exists', async () => {
    const ctx = testContext({ config: { logRetentionDays: 14 } });
    logs.on(DescribeLogGroupsCommand).resolves({ logGroups: [] });
    logs.on(CreateLogGroupCommand).resolves({});
    logs.on(PutRetentionPolicyCommand).resolves({});

    expect(await planThenEnsure(logGroupStep, ctx, writes)).toEqual({ action: 'create', resource: 'log group /ecs/demo', detail: 'retention 14 days' });
  });

  it('keep: the recorded group with the wanted retention', async () => {
    const ctx = testContext();
    ctx.state.record('logGroup', record);
    logs.on(DescribeLogGroupsCommand).resolves({ logGroups: [group] });

    expect(await planThenEnsure(logGroupStep, ctx, writes)).toEqual({ action: 'keep', resource: 'log group /ecs/demo', detail: 'retention 7 days' });
  });

  it('update: its own group has another retention', async () => {
    const ctx = testContext({ config: { logRetentionDays: 30 } });
    ctx.state.record('logGroup', record);
    logs.on(DescribeLogGroupsCommand).resolves({ logGroups: [{ ...group, retentionInDays: undefined }] });
    logs.on(PutRetentionPolicyCommand).resolves({});

    expect(await planThenEnsure(logGroupStep, ctx, writes)).toEqual({ action: 'update', resource: 'log group /ecs/demo', detail: 'retention never expire → 30 days' });
  });

  it('adopt: an untagged group, whose other retention is left as it is', async () => {
    const ctx = testContext({ config: { logRetentionDays: 30 } });
    logs.on(DescribeLogGroupsCommand).resolves({ logGroups: [group] });
    logs.on(ListTagsForResourceCommand).resolves({ tags: { team: 'web' } });

    const change = await planThenEnsure(logGroupStep, ctx, writes);

    expect(change.action).toBe('adopt');
    expect(change.detail).toContain('retention 7 days left as it is, not 30 days');
  });

  it('keep: a tagged group the state file lost is recorded again, nothing changes in AWS', async () => {
    const ctx = testContext();
    logs.on(DescribeLogGroupsCommand).resolves({ logGroups: [{ ...group, logGroupArn: arn }] });
    logs.on(ListTagsForResourceCommand).resolves({ tags: { 'ecs-ha:stack': 'demo' } });

    const change = await planThenEnsure(logGroupStep, ctx, writes);

    expect(change).toMatchObject({ action: 'keep', detail: expect.stringContaining('not in the state file') });
  });
});
