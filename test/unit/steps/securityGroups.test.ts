import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DeleteSecurityGroupCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
  type IpPermission,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { albSecurityGroupStep, taskSecurityGroupStep } from '../../../src/steps/securityGroups.js';
import { awsError, testContext, type TestContext } from '../../helpers/context.js';
import { planContext, planThenEnsure, writesOf } from '../core/planAgreement.js';

const ec2 = mockClient(EC2Client);
const vpcId = 'vpc-0aaaaaaaaaaaaaaaa';
const albGroupId = 'sg-0a1b000000000000a';
const taskGroupId = 'sg-0a1b000000000000b';
const stackTags = [{ Key: 'ecs-ha:stack', Value: 'demo' }];

const openToWorld: IpPermission = { IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '0.0.0.0/0' }], Ipv6Ranges: [{ CidrIpv6: '::/0' }] };
const fromAlb: IpPermission = { IpProtocol: 'tcp', FromPort: 8080, ToPort: 8080, UserIdGroupPairs: [{ GroupId: albGroupId, UserId: '123456789012' }] };

function withNetwork(): TestContext {
  const ctx = testContext();
  ctx.state.record('network', { id: vpcId, origin: 'adopted', details: { subnetIds: ['subnet-a', 'subnet-b'], availabilityZones: ['us-east-1a', 'us-east-1b'] } });
  return ctx;
}

function mutatingCalls() {
  return ec2.calls().filter((call) => !/^Describe/.test(call.args[0].constructor.name));
}

beforeEach(() => ec2.reset());

describe('load balancer security group step', () => {
  it('creates a tagged group in the VPC, records it before adding rules, then opens the listener port to the world', async () => {
    const ctx = withNetwork();
    ec2.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [] });
    ec2.on(CreateSecurityGroupCommand).resolves({ GroupId: albGroupId });
    let recordedBeforeRules: unknown;
    ec2.on(AuthorizeSecurityGroupIngressCommand).callsFake(() => {
      recordedBeforeRules = ctx.state.get('albSecurityGroup');
      return {};
    });

    expect(await albSecurityGroupStep.ensure(ctx)).toContain('created');

    expect(ec2.commandCalls(DescribeSecurityGroupsCommand)[0]!.args[0].input).toEqual({ Filters: [{ Name: 'group-name', Values: ['demo-alb'] }] });
    const create = ec2.commandCalls(CreateSecurityGroupCommand)[0]!.args[0].input;
    expect(create.GroupName).toBe('demo-alb');
    expect(create.VpcId).toBe(vpcId);
    expect(create.Description).toBeTruthy();
    expect(create.TagSpecifications).toEqual([{ ResourceType: 'security-group', Tags: expect.arrayContaining(stackTags) }]);
    expect(recordedBeforeRules).toEqual({ id: albGroupId, origin: 'created' });
    const rules = ec2.commandCalls(AuthorizeSecurityGroupIngressCommand)[0]!.args[0].input;
    expect(rules.GroupId).toBe(albGroupId);
    expect(rules.IpPermissions).toEqual([
      { IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '0.0.0.0/0', Description: expect.any(String) }] },
      { IpProtocol: 'tcp', FromPort: 80, ToPort: 80, Ipv6Ranges: [{ CidrIpv6: '::/0', Description: expect.any(String) }] },
    ]);
  });

  it('uses the configured listener port', async () => {
    const ctx = testContext({ config: { listenerPort: 8081 } });
    ctx.state.record('network', { id: vpcId, origin: 'adopted' });
    ec2.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [] });
    ec2.on(CreateSecurityGroupCommand).resolves({ GroupId: albGroupId });
    ec2.on(AuthorizeSecurityGroupIngressCommand).resolves({});

    await albSecurityGroupStep.ensure(ctx);

    const permissions = ec2.commandCalls(AuthorizeSecurityGroupIngressCommand)[0]!.args[0].input.IpPermissions!;
    expect(permissions.map((p) => [p.FromPort, p.ToPort])).toEqual([
      [8081, 8081],
      [8081, 8081],
    ]);
  });

  it('makes no mutating call when the recorded group exists with its rules', async () => {
    const ctx = withNetwork();
    ctx.state.record('albSecurityGroup', { id: albGroupId, origin: 'created' });
    ec2.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [{ GroupId: albGroupId, VpcId: vpcId, Tags: stackTags, IpPermissions: [openToWorld] }] });

    expect(await albSecurityGroupStep.ensure(ctx)).toContain('exists');

    expect(mutatingCalls()).toHaveLength(0);
    expect(ec2.calls()).toHaveLength(1);
  });

  it('accepts a wider rule (all traffic) as covering the port', async () => {
    const ctx = withNetwork();
    ctx.state.record('albSecurityGroup', { id: albGroupId, origin: 'created' });
    ec2.on(DescribeSecurityGroupsCommand).resolves({
      SecurityGroups: [{ GroupId: albGroupId, VpcId: vpcId, Tags: stackTags, IpPermissions: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }], Ipv6Ranges: [{ CidrIpv6: '::/0' }] }] }],
    });

    await albSecurityGroupStep.ensure(ctx);

    expect(mutatingCalls()).toHaveLength(0);
  });

  it('re-authorizes only the rule that went missing from its own group', async () => {
    const ctx = withNetwork();
    ctx.state.record('albSecurityGroup', { id: albGroupId, origin: 'created' });
    ec2.on(DescribeSecurityGroupsCommand).resolves({
      SecurityGroups: [{ GroupId: albGroupId, VpcId: vpcId, Tags: stackTags, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }] }],
    });
    ec2.on(AuthorizeSecurityGroupIngressCommand).rejects(awsError('InvalidPermission.Duplicate'));

    expect(await albSecurityGroupStep.ensure(ctx)).toContain('added 1 missing ingress rule');

    expect(ec2.commandCalls(AuthorizeSecurityGroupIngressCommand)[0]!.args[0].input.IpPermissions).toEqual([
      { IpProtocol: 'tcp', FromPort: 80, ToPort: 80, Ipv6Ranges: [{ CidrIpv6: '::/0', Description: expect.any(String) }] },
    ]);
  });

  it('adopts an untagged group without touching its rules, and destroy keeps it', async () => {
    const ctx = withNetwork();
    ec2.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [{ GroupId: albGroupId, VpcId: vpcId, Tags: [], IpPermissions: [] }] });

    expect(await albSecurityGroupStep.ensure(ctx)).toContain('adopted');
    expect(ctx.state.get('albSecurityGroup')).toEqual({ id: albGroupId, origin: 'adopted' });
    expect(mutatingCalls()).toHaveLength(0);
    expect(ctx.notices.join('\n')).toContain('lacks ingress tcp 80 from 0.0.0.0/0');

    expect(await albSecurityGroupStep.destroy(ctx)).toContain('kept');
    expect(ec2.commandCalls(DeleteSecurityGroupCommand)).toHaveLength(0);
    expect(ctx.state.get('albSecurityGroup')).toBeUndefined();
  });

  it('treats a tagged group missing from the state as its own', async () => {
    const ctx = withNetwork();
    ec2.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [{ GroupId: albGroupId, VpcId: vpcId, Tags: stackTags, IpPermissions: [openToWorld] }] });

    await albSecurityGroupStep.ensure(ctx);

    expect(ctx.state.get('albSecurityGroup')).toEqual({ id: albGroupId, origin: 'created' });
  });

  it('recreates a group deleted behind its back', async () => {
    const ctx = withNetwork();
    ctx.state.record('albSecurityGroup', { id: 'sg-0dead00000000000', origin: 'created' });
    ec2.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [] });
    ec2.on(CreateSecurityGroupCommand).resolves({ GroupId: albGroupId });
    ec2.on(AuthorizeSecurityGroupIngressCommand).resolves({});

    await albSecurityGroupStep.ensure(ctx);

    expect(ec2.commandCalls(CreateSecurityGroupCommand)).toHaveLength(1);
    expect(ctx.state.get('albSecurityGroup')?.id).toBe(albGroupId);
  });

  it('keeps retrying deletion while ENIs hold the group, showing the seconds waited', async () => {
    const ctx = withNetwork();
    ctx.state.record('albSecurityGroup', { id: albGroupId, origin: 'created' });
    ec2
      .on(DeleteSecurityGroupCommand)
      .rejectsOnce(awsError('DependencyViolation'))
      .rejectsOnce(awsError('DependencyViolation'))
      .rejectsOnce(awsError('DependencyViolation'))
      .resolves({});

    expect(await albSecurityGroupStep.destroy(ctx)).toContain('deleted');

    expect(ec2.commandCalls(DeleteSecurityGroupCommand)).toHaveLength(4);
    expect(ec2.commandCalls(DeleteSecurityGroupCommand)[0]!.args[0].input).toEqual({ GroupId: albGroupId });
    expect(ctx.clock.slept).toHaveLength(3);
    expect(ctx.progressLines[2]).toMatch(/DependencyViolation.*after \d+s/);
    expect(ctx.state.get('albSecurityGroup')).toBeUndefined();
  });

  it('gives up after the wait timeout and keeps the record', async () => {
    const ctx = withNetwork();
    ctx.state.record('albSecurityGroup', { id: albGroupId, origin: 'created' });
    ec2.on(DeleteSecurityGroupCommand).rejects(awsError('DependencyViolation'));

    await expect(albSecurityGroupStep.destroy(ctx)).rejects.toThrow('DependencyViolation');

    const waited = ctx.clock.slept.reduce((a, b) => a + b, 0);
    expect(waited).toBeGreaterThanOrEqual(ctx.waitTimeoutMs);
    expect(waited).toBeLessThan(ctx.waitTimeoutMs + 20_000);
    expect(ctx.state.get('albSecurityGroup')).toBeDefined();
  });

  it('counts a group already gone as removed', async () => {
    const ctx = withNetwork();
    ctx.state.record('albSecurityGroup', { id: albGroupId, origin: 'created' });
    ec2.on(DeleteSecurityGroupCommand).rejects(awsError('InvalidGroup.NotFound'));

    await albSecurityGroupStep.destroy(ctx);

    expect(ctx.state.get('albSecurityGroup')).toBeUndefined();
  });

  it('stops on a permanent error and keeps the record', async () => {
    const ctx = withNetwork();
    ctx.state.record('albSecurityGroup', { id: albGroupId, origin: 'created' });
    ec2.on(DeleteSecurityGroupCommand).rejects(awsError('UnauthorizedOperation'));

    await expect(albSecurityGroupStep.destroy(ctx)).rejects.toThrow('UnauthorizedOperation');
    expect(ec2.commandCalls(DeleteSecurityGroupCommand)).toHaveLength(1);
    expect(ctx.state.get('albSecurityGroup')).toBeDefined();
  });

  it('discovers by stack tag and name in any VPC, recording only tagged groups', async () => {
    const ctx = testContext();
    ec2.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [{ GroupId: albGroupId, VpcId: vpcId, Tags: stackTags }] });

    await albSecurityGroupStep.discover(ctx);

    expect(ec2.commandCalls(DescribeSecurityGroupsCommand)[0]!.args[0].input).toEqual({
      Filters: [
        { Name: 'tag:ecs-ha:stack', Values: ['demo'] },
        { Name: 'group-name', Values: ['demo-alb'] },
      ],
    });
    expect(ctx.state.get('albSecurityGroup')).toEqual({ id: albGroupId, origin: 'created' });

    ec2.reset();
    const other = testContext();
    ec2.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [{ GroupId: albGroupId, VpcId: vpcId, Tags: [{ Key: 'ecs-ha:stack', Value: 'other' }] }] });
    await albSecurityGroupStep.discover(other);
    expect(other.state.get('albSecurityGroup')).toBeUndefined();
  });
});

describe('task security group step', () => {
  function withAlbGroup(): TestContext {
    const ctx = withNetwork();
    ctx.state.record('albSecurityGroup', { id: albGroupId, origin: 'created' });
    return ctx;
  }

  it('creates a tagged group that admits the app port from the load balancer group only', async () => {
    const ctx = withAlbGroup();
    ec2.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [] });
    ec2.on(CreateSecurityGroupCommand).resolves({ GroupId: taskGroupId });
    ec2.on(AuthorizeSecurityGroupIngressCommand).resolves({});

    expect(await taskSecurityGroupStep.ensure(ctx)).toContain('created');

    const create = ec2.commandCalls(CreateSecurityGroupCommand)[0]!.args[0].input;
    expect(create.GroupName).toBe('demo-tasks');
    expect(create.TagSpecifications![0]!.Tags).toEqual(expect.arrayContaining(stackTags));
    expect(ec2.commandCalls(AuthorizeSecurityGroupIngressCommand)[0]!.args[0].input).toEqual({
      GroupId: taskGroupId,
      IpPermissions: [{ IpProtocol: 'tcp', FromPort: 8080, ToPort: 8080, UserIdGroupPairs: [{ GroupId: albGroupId, Description: expect.any(String) }] }],
    });
    expect(ctx.state.get('taskSecurityGroup')).toEqual({ id: taskGroupId, origin: 'created' });
  });

  it('makes no mutating call when the rule from the load balancer group is there', async () => {
    const ctx = withAlbGroup();
    ctx.state.record('taskSecurityGroup', { id: taskGroupId, origin: 'created' });
    ec2.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [{ GroupId: taskGroupId, VpcId: vpcId, Tags: stackTags, IpPermissions: [fromAlb] }] });

    await taskSecurityGroupStep.ensure(ctx);

    expect(mutatingCalls()).toHaveLength(0);
  });

  it('does not count a CIDR rule or another group as the load balancer rule', async () => {
    const ctx = withAlbGroup();
    ctx.state.record('taskSecurityGroup', { id: taskGroupId, origin: 'created' });
    ec2.on(DescribeSecurityGroupsCommand).resolves({
      SecurityGroups: [
        {
          GroupId: taskGroupId,
          VpcId: vpcId,
          Tags: stackTags,
          IpPermissions: [
            { IpProtocol: 'tcp', FromPort: 8080, ToPort: 8080, IpRanges: [{ CidrIp: '0.0.0.0/0' }], UserIdGroupPairs: [{ GroupId: 'sg-0other0000000000' }] },
            { IpProtocol: 'tcp', FromPort: 80, ToPort: 80, UserIdGroupPairs: [{ GroupId: albGroupId }] },
          ],
        },
      ],
    });
    ec2.on(AuthorizeSecurityGroupIngressCommand).resolves({});

    await taskSecurityGroupStep.ensure(ctx);

    expect(ec2.commandCalls(AuthorizeSecurityGroupIngressCommand)[0]!.args[0].input.IpPermissions).toEqual([
      { IpProtocol: 'tcp', FromPort: 8080, ToPort: 8080, UserIdGroupPairs: [{ GroupId: albGroupId, Description: expect.any(String) }] },
    ]);
  });

  it('retries deletion while Fargate ENIs are released, then forgets it', async () => {
    const ctx = withAlbGroup();
    ctx.state.record('taskSecurityGroup', { id: taskGroupId, origin: 'created' });
    ec2.on(DeleteSecurityGroupCommand).rejectsOnce(awsError('DependencyViolation')).resolves({});

    await taskSecurityGroupStep.destroy(ctx);

    expect(ec2.commandCalls(DeleteSecurityGroupCommand)).toHaveLength(2);
    expect(ctx.clock.slept).toHaveLength(1);
    expect(ctx.state.get('taskSecurityGroup')).toBeUndefined();
    expect(ctx.state.get('albSecurityGroup')).toBeDefined();
  });

  it('discovers the tasks group by its own name', async () => {
    const ctx = testContext();
    ec2.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [{ GroupId: taskGroupId, VpcId: vpcId, Tags: stackTags }] });

    await taskSecurityGroupStep.discover(ctx);

    expect(ec2.commandCalls(DescribeSecurityGroupsCommand)[0]!.args[0].input.Filters).toContainEqual({ Name: 'group-name', Values: ['demo-tasks'] });
    expect(ctx.state.get('taskSecurityGroup')).toEqual({ id: taskGroupId, origin: 'created' });
  });
});

describe('security group lookup across VPCs', () => {
  it('uses only the group of its name in the stack\'s VPC and creates one there when only another VPC has it', async () => {
    const ctx = withNetwork();
    ec2.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [{ GroupId: 'sg-0elsewhere000000', VpcId: 'vpc-0bbbbbbbbbbbbbbbb', Tags: stackTags }] });
    ec2.on(CreateSecurityGroupCommand).resolves({ GroupId: albGroupId });
    ec2.on(AuthorizeSecurityGroupIngressCommand).resolves({});

    await albSecurityGroupStep.ensure(ctx);

    expect(ec2.commandCalls(CreateSecurityGroupCommand)[0]!.args[0].input.VpcId).toBe(vpcId);
    expect(ctx.state.get('albSecurityGroup')).toEqual({ id: albGroupId, origin: 'created' });
  });

  it('takes the lookup the engine started early instead of looking again', async () => {
    const ctx = { ...withNetwork(), prefetched: Promise.resolve([{ GroupId: albGroupId, VpcId: vpcId, Tags: stackTags, IpPermissions: [openToWorld] }]) };

    await albSecurityGroupStep.ensure(ctx);

    expect(ec2.calls()).toHaveLength(0);
    expect(ctx.state.get('albSecurityGroup')).toEqual({ id: albGroupId, origin: 'created' });
  });
});

describe('security group plans', () => {
  const writes = writesOf(ec2);

  it('create: no group of the name in the stack VPC (one elsewhere does not count)', async () => {
    const ctx = withNetwork();
    ec2.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [{ GroupId: 'sg-other', VpcId: 'vpc-other', Tags: stackTags }] });
    ec2.on(CreateSecurityGroupCommand).resolves({ GroupId: albGroupId });
    ec2.on(AuthorizeSecurityGroupIngressCommand).resolves({});

    expect(await planThenEnsure(albSecurityGroupStep, ctx, writes)).toEqual({
      action: 'create',
      resource: 'security group demo-alb',
      detail: `in ${vpcId}, ingress tcp 80 from 0.0.0.0/0, tcp 80 from ::/0`,
    });
  });

  it('keep: the recorded group with its rules', async () => {
    const ctx = withNetwork();
    ctx.state.record('albSecurityGroup', { id: albGroupId, origin: 'created' });
    ec2.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [{ GroupId: albGroupId, VpcId: vpcId, Tags: stackTags, IpPermissions: [openToWorld] }] });

    expect(await planThenEnsure(albSecurityGroupStep, ctx, writes)).toEqual({ action: 'keep', resource: `security group demo-alb ${albGroupId}` });
  });

  it('update: its own group lost a rule', async () => {
    const ctx = withNetwork();
    ctx.state.record('albSecurityGroup', { id: albGroupId, origin: 'created' });
    ec2.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [{ GroupId: albGroupId, VpcId: vpcId, Tags: stackTags, IpPermissions: [{ ...openToWorld, Ipv6Ranges: [] }] }] });
    ec2.on(AuthorizeSecurityGroupIngressCommand).resolves({});

    expect(await planThenEnsure(albSecurityGroupStep, ctx, writes)).toMatchObject({ action: 'update', detail: 'add ingress tcp 80 from ::/0' });
  });

  it('adopt: an untagged group, whose missing rule is left to its owner', async () => {
    const ctx = withNetwork();
    ec2.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [{ GroupId: albGroupId, VpcId: vpcId, Tags: [], IpPermissions: [] }] });

    const change = await planThenEnsure(albSecurityGroupStep, ctx, writes);

    expect(change.action).toBe('adopt');
    expect(change.detail).toContain('lacks ingress tcp 80 from 0.0.0.0/0, tcp 80 from ::/0, left as it is');
  });

  it('update: the task group of a load balancer group up would create again needs a rule for the new one', async () => {
    const ctx = withNetwork();
    ctx.state.record('taskSecurityGroup', { id: taskGroupId, origin: 'created' });
    ec2.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [{ GroupId: taskGroupId, VpcId: vpcId, Tags: stackTags, IpPermissions: [fromAlb] }] });
    const planCtx = planContext(ctx);
    planCtx.state.foreseeNew('albSecurityGroup', 'load balancer security group');

    expect(await taskSecurityGroupStep.plan!(planCtx)).toEqual({
      action: 'update',
      resource: `security group demo-tasks ${taskGroupId}`,
      detail: 'add ingress tcp 8080 from (new load balancer security group)',
    });
    expect(writes()).toEqual([]);
  });

  it('keep: the task group admits the recorded load balancer group', async () => {
    const ctx = withNetwork();
    ctx.state.record('albSecurityGroup', { id: albGroupId, origin: 'created' });
    ctx.state.record('taskSecurityGroup', { id: taskGroupId, origin: 'created' });
    ec2.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [{ GroupId: taskGroupId, VpcId: vpcId, Tags: stackTags, IpPermissions: [fromAlb] }] });

    expect((await planThenEnsure(taskSecurityGroupStep, ctx, writes)).action).toBe('keep');
  });
});
