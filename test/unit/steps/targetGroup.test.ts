import {
  CreateTargetGroupCommand,
  DeleteTargetGroupCommand,
  DescribeTagsCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  ElasticLoadBalancingV2Client,
  ModifyTargetGroupAttributesCommand,
  ModifyTargetGroupCommand,
  type TargetGroup,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { EnvironmentError } from '../../../src/errors.js';
import { DEREGISTRATION_DELAY_SECONDS, HEALTH_CHECK, targetGroupStep } from '../../../src/steps/targetGroup.js';
import { awsError, testContext, type TestContext } from '../../helpers/context.js';
import { planContext, planThenEnsure, writesOf } from '../core/planAgreement.js';

const elbv2 = mockClient(ElasticLoadBalancingV2Client);
const vpcId = 'vpc-0aaaaaaaaaaaaaaaa';
const arn = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/demo-tg/0123456789abcdef';
const stackTags = [{ Key: 'ecs-ha:stack', Value: 'demo' }];

function tgNotFound(): Error {
  return Object.assign(awsError('TargetGroupNotFoundException', 'One or more target groups not found'), { Code: 'TargetGroupNotFound' });
}

const tunedTg: TargetGroup = {
  TargetGroupArn: arn,
  TargetGroupName: 'demo-tg',
  Protocol: 'HTTP',
  Port: 8080,
  VpcId: vpcId,
  TargetType: 'ip',
  HealthCheckPath: '/health',
  HealthCheckIntervalSeconds: 10,
  HealthCheckTimeoutSeconds: 5,
  HealthyThresholdCount: 2,
  UnhealthyThresholdCount: 2,
  Matcher: { HttpCode: '200' },
};
const tunedAttributes = { Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '15' }, { Key: 'stickiness.enabled', Value: 'false' }] };

function withNetwork(): TestContext {
  const ctx = testContext();
  ctx.state.record('network', { id: vpcId, origin: 'adopted', details: { subnetIds: ['subnet-a', 'subnet-b'], availabilityZones: ['us-east-1a', 'us-east-1b'] } });
  return ctx;
}

function recordOwn(ctx: TestContext): void {
  ctx.state.record('targetGroup', { id: arn, arn, origin: 'created', details: { name: 'demo-tg' } });
}

function mutatingCalls() {
  return elbv2.calls().filter((call) => !/^Describe/.test(call.args[0].constructor.name));
}

beforeEach(() => elbv2.reset());

describe('target group step', () => {
  it('exports the tuned health-check numbers', () => {
    expect(HEALTH_CHECK).toEqual({ path: '/health', intervalSeconds: 10, timeoutSeconds: 5, healthyThresholdCount: 2, unhealthyThresholdCount: 2, matcherHttpCode: '200' });
    expect(DEREGISTRATION_DELAY_SECONDS).toBe(15);
  });

  it('creates a tagged ip target group with fast health checks, records it, then shortens the deregistration delay', async () => {
    const ctx = withNetwork();
    elbv2.on(DescribeTargetGroupsCommand).rejects(tgNotFound());
    elbv2.on(CreateTargetGroupCommand).resolves({ TargetGroups: [tunedTg] });
    let recordedBeforeAttributes: unknown;
    elbv2.on(ModifyTargetGroupAttributesCommand).callsFake(() => {
      recordedBeforeAttributes = ctx.state.get('targetGroup');
      return {};
    });

    expect(await targetGroupStep.ensure(ctx)).toContain('created');

    expect(elbv2.commandCalls(DescribeTargetGroupsCommand)[0]!.args[0].input).toEqual({ Names: ['demo-tg'] });
    expect(elbv2.commandCalls(CreateTargetGroupCommand)[0]!.args[0].input).toEqual({
      Name: 'demo-tg',
      Protocol: 'HTTP',
      Port: 8080,
      VpcId: vpcId,
      TargetType: 'ip',
      HealthCheckProtocol: 'HTTP',
      HealthCheckPath: '/health',
      HealthCheckIntervalSeconds: 10,
      HealthCheckTimeoutSeconds: 5,
      HealthyThresholdCount: 2,
      UnhealthyThresholdCount: 2,
      Matcher: { HttpCode: '200' },
      Tags: stackTags,
    });
    expect(recordedBeforeAttributes).toEqual({ id: arn, arn, origin: 'created', details: { name: 'demo-tg' } });
    expect(elbv2.commandCalls(ModifyTargetGroupAttributesCommand)[0]!.args[0].input).toEqual({
      TargetGroupArn: arn,
      Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '15' }],
    });
  });

  it('makes no mutating call when its group is tuned already', async () => {
    const ctx = withNetwork();
    recordOwn(ctx);
    elbv2.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: [tunedTg] });
    elbv2.on(DescribeTargetGroupAttributesCommand).resolves(tunedAttributes);

    expect(await targetGroupStep.ensure(ctx)).toContain('exists');

    expect(mutatingCalls()).toHaveLength(0);
    expect(elbv2.calls()).toHaveLength(2);
  });

  it('resets only the drifted health-check fields and the deregistration delay of its own group', async () => {
    const ctx = withNetwork();
    recordOwn(ctx);
    elbv2.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: [{ ...tunedTg, HealthCheckIntervalSeconds: 30, HealthyThresholdCount: 5 }] });
    elbv2.on(DescribeTargetGroupAttributesCommand).resolves({ Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '300' }] });
    elbv2.on(ModifyTargetGroupCommand).resolves({});
    elbv2.on(ModifyTargetGroupAttributesCommand).resolves({});

    expect(await targetGroupStep.ensure(ctx)).toContain('reset health check and deregistration delay');

    expect(elbv2.commandCalls(ModifyTargetGroupCommand)[0]!.args[0].input).toEqual({ TargetGroupArn: arn, HealthCheckIntervalSeconds: 10, HealthyThresholdCount: 2 });
    expect(elbv2.commandCalls(ModifyTargetGroupAttributesCommand)).toHaveLength(1);
  });

  it('adopts an untagged group without changing it, and destroy keeps it', async () => {
    const ctx = withNetwork();
    elbv2.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: [{ ...tunedTg, HealthCheckIntervalSeconds: 30 }] });
    elbv2.on(DescribeTagsCommand).resolves({ TagDescriptions: [{ ResourceArn: arn, Tags: [] }] });

    expect(await targetGroupStep.ensure(ctx)).toContain('adopted');
    expect(ctx.state.get('targetGroup')?.origin).toBe('adopted');
    expect(mutatingCalls()).toHaveLength(0);
    expect(ctx.notices.join('\n')).toContain('health check differs');

    expect(await targetGroupStep.destroy(ctx)).toContain('kept');
    expect(elbv2.commandCalls(DeleteTargetGroupCommand)).toHaveLength(0);
    expect(ctx.state.get('targetGroup')).toBeUndefined();
  });

  it('refuses a same-named group that cannot take Fargate tasks (exit 3)', async () => {
    const ctx = withNetwork();
    elbv2.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: [{ ...tunedTg, TargetType: 'instance', VpcId: 'vpc-0bbbbbbbbbbbbbbbb' }] });

    const error = await targetGroupStep.ensure(ctx).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(EnvironmentError);
    expect((error as EnvironmentError).exitCode).toBe(3);
    expect((error as EnvironmentError).message).toContain('in VPC vpc-0bbbbbbbbbbbbbbbb');
    expect((error as EnvironmentError).message).toContain('target type is instance');
    expect(mutatingCalls()).toHaveLength(0);
  });

  it('treats a tagged group missing from the state as its own and tunes it', async () => {
    const ctx = withNetwork();
    elbv2.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: [tunedTg] });
    elbv2.on(DescribeTagsCommand).resolves({ TagDescriptions: [{ ResourceArn: arn, Tags: stackTags }] });
    elbv2.on(DescribeTargetGroupAttributesCommand).resolves({ Attributes: [] });
    elbv2.on(ModifyTargetGroupAttributesCommand).resolves({});

    await targetGroupStep.ensure(ctx);

    expect(ctx.state.get('targetGroup')).toEqual({ id: arn, arn, origin: 'created', details: { name: 'demo-tg' } });
    expect(elbv2.commandCalls(ModifyTargetGroupAttributesCommand)).toHaveLength(1);
    expect(elbv2.commandCalls(CreateTargetGroupCommand)).toHaveLength(0);
  });

  it('recreates a group deleted behind its back', async () => {
    const ctx = withNetwork();
    recordOwn(ctx);
    elbv2.on(DescribeTargetGroupsCommand).rejects(awsError('TargetGroupNotFoundException'));
    elbv2.on(CreateTargetGroupCommand).resolves({ TargetGroups: [tunedTg] });
    elbv2.on(ModifyTargetGroupAttributesCommand).resolves({});

    await targetGroupStep.ensure(ctx);

    expect(elbv2.commandCalls(CreateTargetGroupCommand)).toHaveLength(1);
  });

  it('retries deletion while the deleted load balancer still holds the group', async () => {
    const ctx = withNetwork();
    recordOwn(ctx);
    elbv2
      .on(DeleteTargetGroupCommand)
      .rejectsOnce(Object.assign(awsError('ResourceInUseException'), { Code: 'ResourceInUse' }))
      .rejectsOnce(awsError('ResourceInUseException'))
      .resolves({});

    expect(await targetGroupStep.destroy(ctx)).toContain('deleted');

    expect(elbv2.commandCalls(DeleteTargetGroupCommand)[0]!.args[0].input).toEqual({ TargetGroupArn: arn });
    expect(elbv2.commandCalls(DeleteTargetGroupCommand)).toHaveLength(3);
    expect(ctx.clock.slept).toHaveLength(2);
    expect(ctx.progressLines.join('\n')).toContain('ResourceInUse');
    expect(ctx.state.get('targetGroup')).toBeUndefined();
  });

  it('counts a group already gone as removed', async () => {
    const ctx = withNetwork();
    recordOwn(ctx);
    elbv2.on(DeleteTargetGroupCommand).rejects(tgNotFound());

    await targetGroupStep.destroy(ctx);

    expect(ctx.state.get('targetGroup')).toBeUndefined();
  });

  it('stops on a permanent error and keeps the record', async () => {
    const ctx = withNetwork();
    recordOwn(ctx);
    elbv2.on(DeleteTargetGroupCommand).rejects(awsError('AccessDenied'));

    await expect(targetGroupStep.destroy(ctx)).rejects.toThrow('AccessDenied');
    expect(elbv2.commandCalls(DeleteTargetGroupCommand)).toHaveLength(1);
    expect(ctx.state.get('targetGroup')).toBeDefined();
  });

  it('discovers only a group carrying the stack tag', async () => {
    const tagged = testContext();
    elbv2.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: [tunedTg] });
    elbv2.on(DescribeTagsCommand).resolves({ TagDescriptions: [{ ResourceArn: arn, Tags: stackTags }] });
    await targetGroupStep.discover(tagged);
    expect(elbv2.commandCalls(DescribeTagsCommand)[0]!.args[0].input).toEqual({ ResourceArns: [arn] });
    expect(tagged.state.get('targetGroup')?.origin).toBe('created');

    elbv2.reset();
    const untagged = testContext();
    elbv2.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: [tunedTg] });
    elbv2.on(DescribeTagsCommand).resolves({ TagDescriptions: [{ ResourceArn: arn, Tags: [] }] });
    await targetGroupStep.discover(untagged);
    expect(untagged.state.get('targetGroup')).toBeUndefined();
  });
});

describe('target group plan', () => {
  const writes = writesOf(elbv2);

  it('create: no group of the name', async () => {
    const ctx = withNetwork();
    elbv2.on(DescribeTargetGroupsCommand).rejects(tgNotFound());
    elbv2.on(CreateTargetGroupCommand).resolves({ TargetGroups: [tunedTg] });
    elbv2.on(ModifyTargetGroupAttributesCommand).resolves({});

    expect(await planThenEnsure(targetGroupStep, ctx, writes)).toMatchObject({ action: 'create', resource: 'target group demo-tg' });
  });

  it('keep: its own group, tuned', async () => {
    const ctx = withNetwork();
    recordOwn(ctx);
    elbv2.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: [tunedTg] });
    elbv2.on(DescribeTargetGroupAttributesCommand).resolves(tunedAttributes);

    expect(await planThenEnsure(targetGroupStep, ctx, writes)).toEqual({ action: 'keep', resource: 'target group demo-tg' });
  });

  it('update: the health check and deregistration delay drifted, each field named', async () => {
    const ctx = withNetwork();
    recordOwn(ctx);
    elbv2.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: [{ ...tunedTg, HealthCheckIntervalSeconds: 30 }] });
    elbv2.on(DescribeTargetGroupAttributesCommand).resolves({ Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '300' }] });
    elbv2.on(ModifyTargetGroupCommand).resolves({});
    elbv2.on(ModifyTargetGroupAttributesCommand).resolves({});

    expect(await planThenEnsure(targetGroupStep, ctx, writes)).toEqual({
      action: 'update',
      resource: 'target group demo-tg',
      detail: 'reset HealthCheckIntervalSeconds 30 → 10, deregistration delay 300 → 15 s',
    });
  });

  it('adopt: an untagged group, never tuned', async () => {
    const ctx = withNetwork();
    elbv2.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: [{ ...tunedTg, HealthCheckIntervalSeconds: 30 }] });
    elbv2.on(DescribeTagsCommand).resolves({ TagDescriptions: [{ ResourceArn: arn, Tags: [] }] });

    expect(await planThenEnsure(targetGroupStep, ctx, writes)).toMatchObject({ action: 'adopt', detail: expect.stringContaining('health check differs') });
  });

  it('a group that cannot serve the tasks is the exit-3 error up gives', async () => {
    const ctx = withNetwork();
    elbv2.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: [{ ...tunedTg, TargetType: 'instance' }] });

    await expect(targetGroupStep.plan!(planContext(ctx))).rejects.toBeInstanceOf(EnvironmentError);
  });
});
