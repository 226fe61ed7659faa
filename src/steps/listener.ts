import {
  CreateListenerCommand,
  DeleteListenerCommand,
  DescribeListenersCommand,
  DescribeTagsCommand,
  ModifyListenerCommand,
  type Action,
  type Listener,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { isAwsError } from '../aws/errors.js';
import { retryWhile } from '../aws/poll.js';
import { existingResource, type ReadContext } from '../engine/plan.js';
import type { Step, StepContext } from '../engine/step.js';
import type { ResourceRecord } from '../state/store.js';
import { GONE, judge, recordProblem } from '../engine/ownership.js';
import { hasStackTag, stackTag } from '../engine/tags.js';
import { EnvironmentError } from '../errors.js';
import { isTaggedForStack, LOAD_BALANCER_NOT_FOUND, loadBalancerStep, RESOURCE_IN_USE } from './loadBalancer.js';

/** The wire code and the SDK's exception name (isAwsError matches either). */
const LISTENER_NOT_FOUND = ['ListenerNotFound', 'ListenerNotFoundException'];
/** DescribeTags takes at most 20 ARNs per call. */
const MAX_TAG_ARNS = 20;

async function listListeners(ctx: ReadContext, loadBalancerArn: string): Promise<Listener[]> {
  const { Listeners = [] } = await ctx.aws.elbv2.send(new DescribeListenersCommand({ LoadBalancerArn: loadBalancerArn }));
  return Listeners;
}

/** True when the listener's default action sends traffic to the target group (directly or weighted). */
function forwardsTo(actions: Action[] | undefined, targetGroupArn: string): boolean {
  return (actions ?? []).some(
    (a) =>
      a.Type === 'forward' &&
      (a.TargetGroupArn === targetGroupArn || (a.ForwardConfig?.TargetGroups ?? []).some((t) => t.TargetGroupArn === targetGroupArn)),
  );
}

function forwardAction(targetGroupArn: string): Action[] {
  return [{ Type: 'forward', TargetGroupArn: targetGroupArn }];
}

/**
 * A listener ecs-ha may not change forwards elsewhere: the service cannot attach to a target group
 * no listener forwards to; say so now rather than let CreateService fail later less helpfully.
 */
function forwardsElsewhere(ctx: ReadContext, loadBalancer: ResourceRecord): EnvironmentError {
  return new EnvironmentError(
    `the listener on port ${ctx.config.listenerPort} of load balancer ${String(loadBalancer.details?.name ?? loadBalancer.id)} was not created by ecs-ha and forwards elsewhere, not to target group ${ctx.names.targetGroup}`,
    'ecs-ha does not change resources it did not create: point that listener at the target group yourself, or use another listener port or --stack',
  );
}

function record(ctx: StepContext, arn: string, origin: 'created' | 'adopted'): void {
  ctx.state.record('listener', { id: arn, arn, origin });
}

export const listenerStep: Step = {
  id: 'listener',
  title: 'listener',
  dependsOn: ['loadBalancer', 'targetGroup'],

  async ensure(ctx) {
    const port = ctx.config.listenerPort;
    const loadBalancer = ctx.state.require('loadBalancer');
    const targetGroupArn = ctx.state.require('targetGroup').id;
    const recorded = ctx.state.get('listener');
    const existing = (await listListeners(ctx, loadBalancer.id)).find((l) => l.Port === port);

    if (existing?.ListenerArn) {
      const arn = existing.ListenerArn;
      const sameAsRecorded = recorded?.id === arn;
      const origin = sameAsRecorded ? recorded.origin : (await isTaggedForStack(ctx, arn)) ? 'created' : 'adopted';
      if (!sameAsRecorded || recorded.origin !== origin) record(ctx, arn, origin);
      if (forwardsTo(existing.DefaultActions, targetGroupArn)) {
        if (origin === 'adopted') return `adopted listener on port ${port} (not created by ecs-ha, will be kept)`;
        return `listener on port ${port} ${sameAsRecorded ? 'exists' : 'found'}`;
      }
      if (origin === 'adopted' || loadBalancer.origin === 'adopted') throw forwardsElsewhere(ctx, loadBalancer);
      await ctx.aws.elbv2.send(new ModifyListenerCommand({ ListenerArn: arn, DefaultActions: forwardAction(targetGroupArn) }));
      return `listener on port ${port} now forwards to ${ctx.names.targetGroup}`;
    }

    const { Listeners = [] } = await ctx.aws.elbv2.send(
      new CreateListenerCommand({
        LoadBalancerArn: loadBalancer.id,
        Protocol: 'HTTP',
        Port: port,
        DefaultActions: forwardAction(targetGroupArn),
        Tags: [stackTag(ctx.config.stack)],
      }),
    );
    record(ctx, Listeners[0]!.ListenerArn!, 'created');
    return `created listener on port ${port}`;
  },

  async plan(ctx) {
    const port = ctx.config.listenerPort;
    const resource = `listener on port ${port}`;
    const targetGroup = ctx.state.require('targetGroup');
    const forwardTo = ctx.state.isNew('targetGroup') ? 'the new target group' : ctx.names.targetGroup;
    // A new load balancer has no listener yet (and no ARN to ask about).
    if (ctx.state.isNew('loadBalancer')) {
      ctx.state.foreseeNew('listener', 'listener');
      return { action: 'create', resource, detail: `HTTP, forwards to ${forwardTo}` };
    }
    const loadBalancer = ctx.state.require('loadBalancer');
    const recorded = ctx.state.get('listener');
    const existing = (await listListeners(ctx, loadBalancer.id)).find((l) => l.Port === port);
    if (existing?.ListenerArn) {
      const arn = existing.ListenerArn;
      const sameAsRecorded = recorded?.id === arn;
      const origin = sameAsRecorded ? recorded.origin : (await isTaggedForStack(ctx, arn)) ? 'created' : 'adopted';
      if (!sameAsRecorded || recorded.origin !== origin) ctx.state.foresee('listener', { id: arn, arn, origin });
      if (forwardsTo(existing.DefaultActions, targetGroup.id)) return existingResource(resource, sameAsRecorded, origin, `forwards to ${forwardTo}`);
      if (origin === 'adopted' || loadBalancer.origin === 'adopted') throw forwardsElsewhere(ctx, loadBalancer);
      return { action: 'update', resource, detail: `forward to ${forwardTo}` };
    }
    ctx.state.foreseeNew('listener', 'listener');
    return { action: 'create', resource, detail: `HTTP, forwards to ${forwardTo}` };
  },

  /** A listener carries no name; it is the stack's when its load balancer is (name and tag). */
  async proveOwnership(ctx, record) {
    const early = judge(recordProblem(record, ctx.state), !record.id.startsWith('arn:') && `"${record.id}" is not a listener ARN`);
    if (early.kind !== 'ours') return early;
    let listener: Listener | undefined;
    try {
      listener = (await ctx.aws.elbv2.send(new DescribeListenersCommand({ ListenerArns: [record.id] }))).Listeners?.[0];
    } catch (error) {
      if (isAwsError(error, ...LISTENER_NOT_FOUND)) return GONE;
      throw error;
    }
    if (!listener?.LoadBalancerArn) return GONE;
    const parent = await loadBalancerStep.proveOwnership!(ctx, { id: listener.LoadBalancerArn, origin: 'created' });
    if (parent.kind === 'not-ours') return judge(`its load balancer ${listener.LoadBalancerArn} is not this stack's: ${parent.reason}`);
    return parent.kind === 'gone' ? GONE : parent;
  },

  async destroy(ctx) {
    const recorded = ctx.state.get('listener');
    if (!recorded) return 'no listener recorded';
    if (recorded.origin === 'adopted') {
      ctx.state.forget('listener');
      return 'kept listener (adopted)';
    }
    try {
      await retryWhile(() => ctx.aws.elbv2.send(new DeleteListenerCommand({ ListenerArn: recorded.id })), {
        clock: ctx.clock,
        what: 'the listener to be free',
        retryOn: RESOURCE_IN_USE,
        timeoutMs: ctx.waitTimeoutMs,
        onRetry: (seconds, code) => ctx.progress(`still in use (${code}) after ${seconds}s, retrying`),
      });
    } catch (error) {
      if (!isAwsError(error, ...LISTENER_NOT_FOUND)) throw error;
    }
    ctx.state.forget('listener');
    return 'deleted listener';
  },

  async discover(ctx) {
    const loadBalancer = ctx.state.get('loadBalancer');
    if (!loadBalancer) return;
    let listeners: Listener[];
    try {
      listeners = await listListeners(ctx, loadBalancer.id);
    } catch (error) {
      if (isAwsError(error, ...LOAD_BALANCER_NOT_FOUND)) return;
      throw error;
    }
    // The port `up` used may not be the one given to `down`: find the tagged listener by tag, preferring that port.
    const arns = listeners
      .sort((a, b) => Number(b.Port === ctx.config.listenerPort) - Number(a.Port === ctx.config.listenerPort))
      .map((l) => l.ListenerArn)
      .filter((arn): arn is string => Boolean(arn))
      .slice(0, MAX_TAG_ARNS);
    if (arns.length === 0) return;
    const { TagDescriptions = [] } = await ctx.aws.elbv2.send(new DescribeTagsCommand({ ResourceArns: arns }));
    const own = arns.find((arn) => hasStackTag(TagDescriptions.find((d) => d.ResourceArn === arn)?.Tags, ctx.config.stack));
    if (own) record(ctx, own, 'created');
  },
};
