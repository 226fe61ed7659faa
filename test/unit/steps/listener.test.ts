import {
  CreateListenerCommand,
  DeleteListenerCommand,
  DescribeListenersCommand,
  DescribeTagsCommand,
  ElasticLoadBalancingV2Client,
  ModifyListenerCommand,
  type Listener,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { EnvironmentError } from '../../../src/errors.js';
import type { Origin } from '../../../src/state/store.js';
import { listenerStep } from '../../../src/steps/listener.js';
import { awsError, testContext, type TestContext } from '../../helpers/context.js';
import { planContext, planThenEnsure, writesOf } from '../core/planAgreement.js';

const elbv2 = mockClient(ElasticLoadBalancingV2Client);
const lbArn = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/demo-alb/0123456789abcdef';
const tgArn = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/demo-tg/0123456789abcdef';
const otherTgArn = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/legacy/fedcba9876543210';
const arn = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/demo-alb/0123456789abcdef/1111111111111111';
const httpsArn = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/demo-alb/0123456789abcdef/2222222222222222';
const stackTags = [{ Key: 'ecs-ha:stack', Value: 'demo' }];

const ours: Listener = { ListenerArn: arn, LoadBalancerArn: lbArn, Port: 80, Protocol: 'HTTP', DefaultActions: [{ Type: 'forward', TargetGroupArn: tgArn }] };
const https: Listener = { ListenerArn: httpsArn, LoadBalancerArn: lbArn, Port: 443, Protocol: 'HTTPS', DefaultActions: [{ Type: 'forward', TargetGroupArn: otherTgArn }] };

function withDependencies(lbOrigin: Origin = 'created'): TestContext {
  const ctx = testContext();
  ctx.state.record('loadBalancer', { id: lbArn, arn: lbArn, origin: lbOrigin, details: { name: 'demo-alb', dnsName: 'demo-alb-1.elb' } });
  ctx.state.record('targetGroup', { id: tgArn, arn: tgArn, origin: 'created', details: { name: 'demo-tg' } });
  return ctx;
}

function recordOwn(ctx: TestContext): void {
  ctx.state.record('listener', { id: arn, arn, origin: 'created' });
}

function mutatingCalls() {
  return elbv2.calls().filter((call) => !/^Describe/.test(call.args[0].constructor.name));
}

beforeEach(() => elbv2.reset());

describe('listener step', () => {
  it('creates a tagged HTTP listener forwarding to the target group and records it', async () => {
    const ctx = withDependencies();
    elbv2.on(DescribeListenersCommand).resolves({ Listeners: [https] });
    elbv2.on(CreateListenerCommand).resolves({ Listeners: [ours] });

    expect(await listenerStep.ensure(ctx)).toContain('created');

    expect(elbv2.commandCalls(DescribeListenersCommand)[0]!.args[0].input).toEqual({ LoadBalancerArn: lbArn });
    expect(elbv2.commandCalls(CreateListenerCommand)[0]!.args[0].input).toEqual({
      LoadBalancerArn: lbArn,
      Protocol: 'HTTP',
      Port: 80,
      DefaultActions: [{ Type: 'forward', TargetGroupArn: tgArn }],
      Tags: stackTags,
    });
    expect(ctx.state.get('listener')).toEqual({ id: arn, arn, origin: 'created' });
  });

  it('listens on the configured port', async () => {
    const ctx = testContext({ config: { listenerPort: 8081 } });
    ctx.state.record('loadBalancer', { id: lbArn, arn: lbArn, origin: 'created' });
    ctx.state.record('targetGroup', { id: tgArn, arn: tgArn, origin: 'created' });
    elbv2.on(DescribeListenersCommand).resolves({ Listeners: [ours] });
    elbv2.on(CreateListenerCommand).resolves({ Listeners: [{ ...ours, ListenerArn: httpsArn, Port: 8081 }] });

    await listenerStep.ensure(ctx);

    expect(elbv2.commandCalls(CreateListenerCommand)[0]!.args[0].input.Port).toBe(8081);
  });

  it('makes a single describe call when its listener forwards to the target group', async () => {
    const ctx = withDependencies();
    recordOwn(ctx);
    elbv2.on(DescribeListenersCommand).resolves({ Listeners: [https, ours] });

    expect(await listenerStep.ensure(ctx)).toContain('exists');

    expect(elbv2.calls()).toHaveLength(1);
  });

  it('points its own listener back at the target group when it forwards elsewhere', async () => {
    const ctx = withDependencies();
    recordOwn(ctx);
    elbv2.on(DescribeListenersCommand).resolves({ Listeners: [{ ...ours, DefaultActions: [{ Type: 'forward', TargetGroupArn: otherTgArn }] }] });
    elbv2.on(ModifyListenerCommand).resolves({});

    expect(await listenerStep.ensure(ctx)).toContain('now forwards');

    expect(elbv2.commandCalls(ModifyListenerCommand)[0]!.args[0].input).toEqual({
      ListenerArn: arn,
      DefaultActions: [{ Type: 'forward', TargetGroupArn: tgArn }],
    });
  });

  it('accepts a weighted forward that includes the target group', async () => {
    const ctx = withDependencies();
    recordOwn(ctx);
    elbv2.on(DescribeListenersCommand).resolves({
      Listeners: [{ ...ours, DefaultActions: [{ Type: 'forward', ForwardConfig: { TargetGroups: [{ TargetGroupArn: otherTgArn }, { TargetGroupArn: tgArn }] } }] }],
    });

    await listenerStep.ensure(ctx);

    expect(mutatingCalls()).toHaveLength(0);
  });

  it('adopts an untagged listener that already forwards to the target group, and destroy keeps it', async () => {
    const ctx = withDependencies('adopted');
    elbv2.on(DescribeListenersCommand).resolves({ Listeners: [ours] });
    elbv2.on(DescribeTagsCommand).resolves({ TagDescriptions: [{ ResourceArn: arn, Tags: [] }] });

    expect(await listenerStep.ensure(ctx)).toContain('adopted');
    expect(elbv2.commandCalls(DescribeTagsCommand)[0]!.args[0].input).toEqual({ ResourceArns: [arn] });
    expect(ctx.state.get('listener')).toEqual({ id: arn, arn, origin: 'adopted' });

    expect(await listenerStep.destroy(ctx)).toContain('kept');
    expect(elbv2.commandCalls(DeleteListenerCommand)).toHaveLength(0);
    expect(ctx.state.get('listener')).toBeUndefined();
  });

  it('refuses to change a listener it did not create that forwards elsewhere', async () => {
    const ctx = withDependencies('adopted');
    elbv2.on(DescribeListenersCommand).resolves({ Listeners: [{ ...ours, DefaultActions: [{ Type: 'forward', TargetGroupArn: otherTgArn }] }] });
    elbv2.on(DescribeTagsCommand).resolves({ TagDescriptions: [{ ResourceArn: arn, Tags: [] }] });

    const error = await listenerStep.ensure(ctx).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(EnvironmentError);
    expect((error as EnvironmentError).message).toContain('port 80 of load balancer demo-alb');
    expect(elbv2.commandCalls(ModifyListenerCommand)).toHaveLength(0);
  });

  it('treats a tagged listener missing from the state as its own', async () => {
    const ctx = withDependencies();
    elbv2.on(DescribeListenersCommand).resolves({ Listeners: [ours] });
    elbv2.on(DescribeTagsCommand).resolves({ TagDescriptions: [{ ResourceArn: arn, Tags: stackTags }] });

    await listenerStep.ensure(ctx);

    expect(ctx.state.get('listener')).toEqual({ id: arn, arn, origin: 'created' });
    expect(mutatingCalls()).toHaveLength(0);
  });

  it('recreates a listener deleted behind its back', async () => {
    const ctx = withDependencies();
    recordOwn(ctx);
    elbv2.on(DescribeListenersCommand).resolves({ Listeners: [] });
    elbv2.on(CreateListenerCommand).resolves({ Listeners: [{ ...ours, ListenerArn: `${arn}9` }] });

    await listenerStep.ensure(ctx);

    expect(elbv2.commandCalls(CreateListenerCommand)).toHaveLength(1);
    expect(ctx.state.get('listener')?.id).toBe(`${arn}9`);
  });

  it('deletes its listener, retrying while it is in use', async () => {
    const ctx = withDependencies();
    recordOwn(ctx);
    elbv2
      .on(DeleteListenerCommand)
      .rejectsOnce(Object.assign(awsError('ResourceInUseException'), { Code: 'ResourceInUse' }))
      .resolves({});

    expect(await listenerStep.destroy(ctx)).toContain('deleted');

    expect(elbv2.commandCalls(DeleteListenerCommand)[0]!.args[0].input).toEqual({ ListenerArn: arn });
    expect(elbv2.commandCalls(DeleteListenerCommand)).toHaveLength(2);
    expect(ctx.clock.slept).toHaveLength(1);
    expect(ctx.state.get('listener')).toBeUndefined();
  });

  it('counts a listener already gone as removed (wire code or exception name)', async () => {
    for (const error of [Object.assign(awsError('ListenerNotFoundException'), { Code: 'ListenerNotFound' }), awsError('ListenerNotFoundException')]) {
      elbv2.reset();
      const ctx = withDependencies();
      recordOwn(ctx);
      elbv2.on(DeleteListenerCommand).rejects(error);

      await listenerStep.destroy(ctx);

      expect(ctx.state.get('listener')).toBeUndefined();
    }
  });

  it('stops on a permanent error and keeps the record', async () => {
    const ctx = withDependencies();
    recordOwn(ctx);
    elbv2.on(DeleteListenerCommand).rejects(awsError('AccessDenied'));

    await expect(listenerStep.destroy(ctx)).rejects.toThrow('AccessDenied');
    expect(ctx.state.get('listener')).toBeDefined();
  });

  it('discovers the tagged listener of the discovered load balancer, whatever its port', async () => {
    const ctx = testContext();
    ctx.state.record('loadBalancer', { id: lbArn, arn: lbArn, origin: 'created' });
    const onOtherPort = { ...ours, Port: 8081 };
    elbv2.on(DescribeListenersCommand).resolves({ Listeners: [https, onOtherPort] });
    elbv2.on(DescribeTagsCommand).resolves({
      TagDescriptions: [
        { ResourceArn: httpsArn, Tags: [] },
        { ResourceArn: arn, Tags: stackTags },
      ],
    });

    await listenerStep.discover(ctx);

    expect(elbv2.commandCalls(DescribeTagsCommand)[0]!.args[0].input.ResourceArns).toEqual(expect.arrayContaining([arn, httpsArn]));
    expect(ctx.state.get('listener')).toEqual({ id: arn, arn, origin: 'created' });
  });

  it('discovers nothing without a load balancer, or when no listener carries the tag', async () => {
    const noLb = testContext();
    await listenerStep.discover(noLb);
    expect(elbv2.calls()).toHaveLength(0);
    expect(noLb.state.get('listener')).toBeUndefined();

    const untagged = testContext();
    untagged.state.record('loadBalancer', { id: lbArn, arn: lbArn, origin: 'created' });
    elbv2.on(DescribeListenersCommand).resolves({ Listeners: [ours] });
    elbv2.on(DescribeTagsCommand).resolves({ TagDescriptions: [{ ResourceArn: arn, Tags: [{ Key: 'ecs-ha:stack', Value: 'other' }] }] });
    await listenerStep.discover(untagged);
    expect(untagged.state.get('listener')).toBeUndefined();

    elbv2.reset();
    const gone = testContext();
    gone.state.record('loadBalancer', { id: lbArn, arn: lbArn, origin: 'created' });
    elbv2.on(DescribeListenersCommand).rejects(Object.assign(awsError('LoadBalancerNotFoundException'), { Code: 'LoadBalancerNotFound' }));
    await listenerStep.discover(gone);
    expect(gone.state.get('listener')).toBeUndefined();
  });
});

describe('listener plan', () => {
  const writes = writesOf(elbv2);

  it('create: a new load balancer has no listener, and is not asked', async () => {
    const planCtx = planContext(withDependencies());
    planCtx.state.foreseeNew('loadBalancer', 'load balancer');
    planCtx.state.foreseeNew('targetGroup', 'target group');

    expect(await listenerStep.plan!(planCtx)).toEqual({ action: 'create', resource: 'listener on port 80', detail: 'HTTP, forwards to the new target group' });
    expect(elbv2.calls()).toHaveLength(0);
  });

  it('create: the load balancer has no listener on the port', async () => {
    const ctx = withDependencies();
    elbv2.on(DescribeListenersCommand).resolves({ Listeners: [https] });
    elbv2.on(CreateListenerCommand).resolves({ Listeners: [ours] });

    expect(await planThenEnsure(listenerStep, ctx, writes)).toEqual({ action: 'create', resource: 'listener on port 80', detail: 'HTTP, forwards to demo-tg' });
  });

  it('keep: its listener forwards to the target group', async () => {
    const ctx = withDependencies();
    recordOwn(ctx);
    elbv2.on(DescribeListenersCommand).resolves({ Listeners: [ours, https] });

    expect((await planThenEnsure(listenerStep, ctx, writes)).action).toBe('keep');
  });

  it('update: its listener forwards elsewhere (or to a target group up would create again)', async () => {
    const ctx = withDependencies();
    recordOwn(ctx);
    elbv2.on(DescribeListenersCommand).resolves({ Listeners: [{ ...ours, DefaultActions: [{ Type: 'forward', TargetGroupArn: otherTgArn }] }] });
    elbv2.on(ModifyListenerCommand).resolves({});

    expect(await planThenEnsure(listenerStep, ctx, writes)).toMatchObject({ action: 'update', detail: 'forward to demo-tg' });

    const planCtx = planContext(withDependencies());
    planCtx.state.foreseeNew('targetGroup', 'target group');
    elbv2.on(DescribeListenersCommand).resolves({ Listeners: [ours] });
    elbv2.on(DescribeTagsCommand).resolves({ TagDescriptions: [{ ResourceArn: arn, Tags: stackTags }] });
    expect(await listenerStep.plan!(planCtx)).toMatchObject({ action: 'update', detail: 'forward to the new target group' });
  });

  it('an adopted listener forwarding elsewhere is the exit-3 error up gives', async () => {
    const ctx = withDependencies();
    elbv2.on(DescribeListenersCommand).resolves({ Listeners: [{ ...ours, DefaultActions: [{ Type: 'forward', TargetGroupArn: otherTgArn }] }] });
    elbv2.on(DescribeTagsCommand).resolves({ TagDescriptions: [{ ResourceArn: arn, Tags: [] }] });

    await expect(listenerStep.plan!(planContext(ctx))).rejects.toBeInstanceOf(EnvironmentError);
  });
});
