import {
  CreateLoadBalancerCommand,
  DeleteLoadBalancerCommand,
  DescribeLoadBalancersCommand,
  DescribeTagsCommand,
  ElasticLoadBalancingV2Client,
  type LoadBalancer,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { loadBalancerStep } from '../../../src/steps/loadBalancer.js';
import { awsError, testContext, type TestContext } from '../../helpers/context.js';
import { planThenEnsure, writesOf } from '../core/planAgreement.js';

const elbv2 = mockClient(ElasticLoadBalancingV2Client);
const vpcId = 'vpc-0aaaaaaaaaaaaaaaa';
const arn = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/demo-alb/0123456789abcdef';
const dnsName = 'demo-alb-1.us-east-1.elb.amazonaws.com';
const stackTags = [{ Key: 'ecs-ha:stack', Value: 'demo' }];

/** What the SDK throws for a missing load balancer: the exception name, plus the wire code as `Code` (AWS and moto alike). */
function lbNotFound(): Error {
  return Object.assign(awsError('LoadBalancerNotFoundException', 'The specified load balancer does not exist.'), { Code: 'LoadBalancerNotFound' });
}

const liveLb: LoadBalancer = {
  LoadBalancerArn: arn,
  LoadBalancerName: 'demo-alb',
  DNSName: dnsName,
  VpcId: vpcId,
  State: { Code: 'active' },
  AvailabilityZones: [
    { ZoneName: 'us-east-1b', SubnetId: 'subnet-b' },
    { ZoneName: 'us-east-1a', SubnetId: 'subnet-a' },
  ],
};

function withDependencies(): TestContext {
  const ctx = testContext();
  ctx.state.record('network', { id: vpcId, origin: 'adopted', details: { subnetIds: ['subnet-a', 'subnet-b'], availabilityZones: ['us-east-1a', 'us-east-1b'] } });
  ctx.state.record('albSecurityGroup', { id: 'sg-0a1b000000000000a', origin: 'created' });
  return ctx;
}

function recordOwn(ctx: TestContext): void {
  ctx.state.record('loadBalancer', { id: arn, arn, origin: 'created', details: { name: 'demo-alb', dnsName } });
}

beforeEach(() => elbv2.reset());

describe('load balancer step', () => {
  it('creates a tagged internet-facing ALB in the chosen subnets and records it at once, without waiting for it', async () => {
    const ctx = withDependencies();
    elbv2.on(DescribeLoadBalancersCommand).rejects(lbNotFound());
    elbv2.on(CreateLoadBalancerCommand).resolves({ LoadBalancers: [{ ...liveLb, State: { Code: 'provisioning' } }] });

    expect(await loadBalancerStep.ensure(ctx)).toContain('created');

    expect(elbv2.commandCalls(DescribeLoadBalancersCommand)[0]!.args[0].input).toEqual({ Names: ['demo-alb'] });
    expect(elbv2.commandCalls(CreateLoadBalancerCommand)[0]!.args[0].input).toEqual({
      Name: 'demo-alb',
      Type: 'application',
      Scheme: 'internet-facing',
      IpAddressType: 'ipv4',
      Subnets: ['subnet-a', 'subnet-b'],
      SecurityGroups: ['sg-0a1b000000000000a'],
      Tags: stackTags,
    });
    expect(ctx.state.get('loadBalancer')).toEqual({ id: arn, arn, origin: 'created', details: { name: 'demo-alb', dnsName } });
    expect(elbv2.calls()).toHaveLength(2);
    expect(ctx.clock.slept).toHaveLength(0);
  });

  it('also reads the not-found error by its exception name alone', async () => {
    const ctx = withDependencies();
    elbv2.on(DescribeLoadBalancersCommand).rejects(awsError('LoadBalancerNotFoundException'));
    elbv2.on(CreateLoadBalancerCommand).resolves({ LoadBalancers: [liveLb] });

    await loadBalancerStep.ensure(ctx);

    expect(elbv2.commandCalls(CreateLoadBalancerCommand)).toHaveLength(1);
  });

  it('makes a single describe call when the recorded load balancer exists', async () => {
    const ctx = withDependencies();
    recordOwn(ctx);
    elbv2.on(DescribeLoadBalancersCommand).resolves({ LoadBalancers: [liveLb] });

    expect(await loadBalancerStep.ensure(ctx)).toContain('exists');

    expect(elbv2.calls()).toHaveLength(1);
    expect(ctx.notices).toEqual([]);
  });

  it('adopts an untagged load balancer of the same name and never deletes it', async () => {
    const ctx = withDependencies();
    elbv2.on(DescribeLoadBalancersCommand).resolves({ LoadBalancers: [liveLb] });
    elbv2.on(DescribeTagsCommand).resolves({ TagDescriptions: [{ ResourceArn: arn, Tags: [{ Key: 'team', Value: 'web' }] }] });

    expect(await loadBalancerStep.ensure(ctx)).toContain('adopted');
    expect(elbv2.commandCalls(DescribeTagsCommand)[0]!.args[0].input).toEqual({ ResourceArns: [arn] });
    expect(ctx.state.get('loadBalancer')?.origin).toBe('adopted');

    expect(await loadBalancerStep.destroy(ctx)).toContain('kept');
    expect(elbv2.commandCalls(DeleteLoadBalancerCommand)).toHaveLength(0);
    expect(ctx.state.get('loadBalancer')).toBeUndefined();
  });

  it('treats a tagged load balancer missing from the state as its own', async () => {
    const ctx = withDependencies();
    elbv2.on(DescribeLoadBalancersCommand).resolves({ LoadBalancers: [liveLb] });
    elbv2.on(DescribeTagsCommand).resolves({ TagDescriptions: [{ ResourceArn: arn, Tags: stackTags }] });

    await loadBalancerStep.ensure(ctx);

    expect(ctx.state.get('loadBalancer')).toEqual({ id: arn, arn, origin: 'created', details: { name: 'demo-alb', dnsName } });
    expect(elbv2.commandCalls(CreateLoadBalancerCommand)).toHaveLength(0);
  });

  it('recreates a load balancer deleted behind its back', async () => {
    const ctx = withDependencies();
    ctx.state.record('loadBalancer', { id: `${arn}-old`, arn: `${arn}-old`, origin: 'created', details: { name: 'demo-alb', dnsName: 'old' } });
    elbv2.on(DescribeLoadBalancersCommand).rejects(lbNotFound());
    elbv2.on(CreateLoadBalancerCommand).resolves({ LoadBalancers: [liveLb] });

    await loadBalancerStep.ensure(ctx);

    expect(elbv2.commandCalls(CreateLoadBalancerCommand)).toHaveLength(1);
    expect(ctx.state.get('loadBalancer')?.id).toBe(arn);
  });

  it('leaves a load balancer in other subnets as it is, with a notice', async () => {
    const ctx = withDependencies();
    recordOwn(ctx);
    elbv2.on(DescribeLoadBalancersCommand).resolves({ LoadBalancers: [{ ...liveLb, AvailabilityZones: [{ SubnetId: 'subnet-a' }, { SubnetId: 'subnet-c' }] }] });

    await loadBalancerStep.ensure(ctx);

    expect(elbv2.calls()).toHaveLength(1);
    expect(ctx.notices.join('\n')).toContain('subnet-a, subnet-c');
  });

  it('deletes its load balancer and waits until it is gone', async () => {
    const ctx = withDependencies();
    recordOwn(ctx);
    elbv2.on(DeleteLoadBalancerCommand).resolves({});
    elbv2
      .on(DescribeLoadBalancersCommand)
      .resolvesOnce({ LoadBalancers: [liveLb] })
      .resolvesOnce({ LoadBalancers: [liveLb] })
      .rejects(lbNotFound());

    expect(await loadBalancerStep.destroy(ctx)).toContain('deleted');

    expect(elbv2.commandCalls(DeleteLoadBalancerCommand)[0]!.args[0].input).toEqual({ LoadBalancerArn: arn });
    expect(elbv2.commandCalls(DescribeLoadBalancersCommand)[0]!.args[0].input).toEqual({ LoadBalancerArns: [arn] });
    expect(elbv2.commandCalls(DescribeLoadBalancersCommand)).toHaveLength(3);
    expect(ctx.clock.slept).toHaveLength(2);
    expect(ctx.progressLines.join('\n')).toContain('waiting for the load balancer to be deleted');
    expect(ctx.state.get('loadBalancer')).toBeUndefined();
  });

  it('retries the delete while AWS says the load balancer is in use', async () => {
    const ctx = withDependencies();
    recordOwn(ctx);
    elbv2
      .on(DeleteLoadBalancerCommand)
      .rejectsOnce(Object.assign(awsError('ResourceInUseException'), { Code: 'ResourceInUse' }))
      .resolves({});
    elbv2.on(DescribeLoadBalancersCommand).resolves({ LoadBalancers: [] });

    await loadBalancerStep.destroy(ctx);

    expect(elbv2.commandCalls(DeleteLoadBalancerCommand)).toHaveLength(2);
    expect(ctx.clock.slept).toHaveLength(1);
    expect(ctx.progressLines[0]).toContain('ResourceInUse');
    expect(ctx.state.get('loadBalancer')).toBeUndefined();
  });

  it('counts a load balancer already gone as removed', async () => {
    const ctx = withDependencies();
    recordOwn(ctx);
    elbv2.on(DeleteLoadBalancerCommand).rejects(lbNotFound());
    elbv2.on(DescribeLoadBalancersCommand).rejects(lbNotFound());

    await loadBalancerStep.destroy(ctx);

    expect(ctx.state.get('loadBalancer')).toBeUndefined();
    expect(ctx.clock.slept).toHaveLength(0);
  });

  it('times out, keeping the record, when the load balancer never goes away', async () => {
    const ctx = withDependencies();
    recordOwn(ctx);
    elbv2.on(DeleteLoadBalancerCommand).resolves({});
    elbv2.on(DescribeLoadBalancersCommand).resolves({ LoadBalancers: [liveLb] });

    await expect(loadBalancerStep.destroy(ctx)).rejects.toThrow(/timed out .* load balancer demo-alb to be deleted/);
    expect(ctx.state.get('loadBalancer')).toBeDefined();
  });

  it('stops on a permanent error and keeps the record', async () => {
    const ctx = withDependencies();
    recordOwn(ctx);
    elbv2.on(DeleteLoadBalancerCommand).rejects(awsError('OperationNotPermittedException'));

    await expect(loadBalancerStep.destroy(ctx)).rejects.toThrow('OperationNotPermittedException');
    expect(elbv2.commandCalls(DeleteLoadBalancerCommand)).toHaveLength(1);
    expect(ctx.state.get('loadBalancer')).toBeDefined();
  });

  it('discovers only a load balancer carrying the stack tag', async () => {
    const tagged = testContext();
    elbv2.on(DescribeLoadBalancersCommand).resolves({ LoadBalancers: [liveLb] });
    elbv2.on(DescribeTagsCommand).resolves({ TagDescriptions: [{ ResourceArn: arn, Tags: stackTags }] });
    await loadBalancerStep.discover(tagged);
    expect(tagged.state.get('loadBalancer')).toEqual({ id: arn, arn, origin: 'created', details: { name: 'demo-alb', dnsName } });

    elbv2.reset();
    const untagged = testContext();
    elbv2.on(DescribeLoadBalancersCommand).resolves({ LoadBalancers: [liveLb] });
    elbv2.on(DescribeTagsCommand).resolves({ TagDescriptions: [{ ResourceArn: arn, Tags: [{ Key: 'ecs-ha:stack', Value: 'other' }] }] });
    await loadBalancerStep.discover(untagged);
    expect(untagged.state.get('loadBalancer')).toBeUndefined();

    elbv2.reset();
    const none = testContext();
    elbv2.on(DescribeLoadBalancersCommand).rejects(lbNotFound());
    await loadBalancerStep.discover(none);
    expect(none.state.get('loadBalancer')).toBeUndefined();
  });
});

describe('load balancer plan', () => {
  const writes = writesOf(elbv2);

  it('create: no load balancer of the name', async () => {
    const ctx = withDependencies();
    elbv2.on(DescribeLoadBalancersCommand).rejects(lbNotFound());
    elbv2.on(CreateLoadBalancerCommand).resolves({ LoadBalancers: [liveLb] });

    expect(await planThenEnsure(loadBalancerStep, ctx, writes)).toMatchObject({ action: 'create', resource: 'load balancer demo-alb' });
  });

  it('keep: the recorded one', async () => {
    const ctx = withDependencies();
    recordOwn(ctx);
    elbv2.on(DescribeLoadBalancersCommand).resolves({ LoadBalancers: [liveLb] });

    expect(await planThenEnsure(loadBalancerStep, ctx, writes)).toEqual({ action: 'keep', resource: 'load balancer demo-alb' });
  });

  it('keep, saying so: one in other subnets is left as it is', async () => {
    const ctx = withDependencies();
    recordOwn(ctx);
    elbv2.on(DescribeLoadBalancersCommand).resolves({ LoadBalancers: [{ ...liveLb, AvailabilityZones: [{ ZoneName: 'us-east-1c', SubnetId: 'subnet-c' }] }] });

    expect(await planThenEnsure(loadBalancerStep, ctx, writes)).toMatchObject({ action: 'keep', detail: 'uses subnets subnet-c, not the chosen subnet-a, subnet-b, left as it is' });
  });

  it('adopt: an untagged one of the name', async () => {
    const ctx = withDependencies();
    elbv2.on(DescribeLoadBalancersCommand).resolves({ LoadBalancers: [liveLb] });
    elbv2.on(DescribeTagsCommand).resolves({ TagDescriptions: [{ ResourceArn: arn, Tags: [] }] });

    expect((await planThenEnsure(loadBalancerStep, ctx, writes)).action).toBe('adopt');
  });
});
