import {
  CreateLoadBalancerCommand,
  DeleteLoadBalancerCommand,
  DescribeLoadBalancersCommand,
  DescribeTagsCommand,
  type LoadBalancer,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { isAwsError } from '../aws/errors.js';
import { pollUntil, retryWhile } from '../aws/poll.js';
import { existingResource, type ReadContext } from '../engine/plan.js';
import { lookedUp, type Step, type StepContext } from '../engine/step.js';
import { GONE, judge, nameProblem, recordProblem, tagProblem } from '../engine/ownership.js';
import { hasStackTag, stackTag } from '../engine/tags.js';
import type { ResourceRecord } from '../state/store.js';
import type { NetworkDetails } from './network.js';

/**
 * ELBv2 codes in both spellings: the wire code (`Code`, from AWS and moto) and the SDK's
 * exception name. isAwsError matches either field; listing both keeps the constants greppable.
 */
export const LOAD_BALANCER_NOT_FOUND = ['LoadBalancerNotFound', 'LoadBalancerNotFoundException'];
export const RESOURCE_IN_USE = ['ResourceInUse', 'ResourceInUseException'];

async function findByName(ctx: ReadContext): Promise<LoadBalancer | undefined> {
  try {
    const { LoadBalancers = [] } = await ctx.aws.elbv2.send(new DescribeLoadBalancersCommand({ Names: [ctx.names.loadBalancer] }));
    return LoadBalancers[0];
  } catch (error) {
    if (isAwsError(error, ...LOAD_BALANCER_NOT_FOUND)) return undefined;
    throw error;
  }
}

export async function isTaggedForStack(ctx: ReadContext, arn: string): Promise<boolean> {
  const { TagDescriptions = [] } = await ctx.aws.elbv2.send(new DescribeTagsCommand({ ResourceArns: [arn] }));
  return hasStackTag(TagDescriptions.find((d) => d.ResourceArn === arn)?.Tags, ctx.config.stack);
}

function recordFor(ctx: ReadContext, lb: LoadBalancer, origin: 'created' | 'adopted'): ResourceRecord {
  const arn = lb.LoadBalancerArn!;
  return { id: arn, arn, origin, details: { name: lb.LoadBalancerName ?? ctx.names.loadBalancer, dnsName: lb.DNSName } };
}

function record(ctx: StepContext, lb: LoadBalancer, origin: 'created' | 'adopted'): void {
  ctx.state.record('loadBalancer', recordFor(ctx, lb, origin));
}

/** How an existing load balancer sits elsewhere than the stack's network ("is in VPC …"); undefined when it does not. Never changed: told only. */
function placementProblem(lb: LoadBalancer, vpcId: string, subnetIds: string[]): string | undefined {
  const actualSubnets = (lb.AvailabilityZones ?? []).map((z) => z.SubnetId).sort();
  if (lb.VpcId && lb.VpcId !== vpcId) return `is in VPC ${lb.VpcId}, not ${vpcId}`;
  if (JSON.stringify(actualSubnets) !== JSON.stringify([...subnetIds].sort())) return `uses subnets ${actualSubnets.join(', ')}, not the chosen ${subnetIds.join(', ')}`;
  return undefined;
}

export const loadBalancerStep: Step = {
  id: 'loadBalancer',
  title: 'load balancer',
  dependsOn: ['albSecurityGroup'],
  lookup: findByName,

  async ensure(ctx) {
    const name = ctx.names.loadBalancer;
    const network = ctx.state.require('network');
    const { subnetIds } = network.details as unknown as NetworkDetails;
    const securityGroupId = ctx.state.require('albSecurityGroup').id;
    const recorded = ctx.state.get('loadBalancer');
    const existing = await lookedUp(ctx, findByName);

    if (existing?.LoadBalancerArn) {
      const arn = existing.LoadBalancerArn;
      const sameAsRecorded = recorded?.id === arn;
      const origin = sameAsRecorded ? recorded.origin : (await isTaggedForStack(ctx, arn)) ? 'created' : 'adopted';
      const recordedDns = (recorded?.details as { dnsName?: string } | undefined)?.dnsName;
      if (!sameAsRecorded || recorded.origin !== origin || recordedDns !== existing.DNSName) record(ctx, existing, origin);
      const misplaced = placementProblem(existing, network.id, subnetIds);
      if (misplaced) ctx.notice(`load balancer ${name} ${misplaced}; it was left as it is`);
      if (origin === 'adopted') return `adopted load balancer ${name} (not created by ecs-ha, will be kept)`;
      return `load balancer ${name} ${sameAsRecorded ? 'exists' : 'found'}`;
    }

    const { LoadBalancers = [] } = await ctx.aws.elbv2.send(
      new CreateLoadBalancerCommand({
        Name: name,
        Type: 'application',
        Scheme: 'internet-facing',
        IpAddressType: 'ipv4',
        Subnets: subnetIds,
        SecurityGroups: [securityGroupId],
        Tags: [stackTag(ctx.config.stack)],
      }),
    );
    const created = LoadBalancers[0]!;
    record(ctx, created, 'created');
    // No wait for "active": the listener can be added while it provisions, and `up` waits
    // for healthy targets at the end, which implies an active load balancer.
    return `created load balancer ${name}`;
  },

  async plan(ctx) {
    const name = ctx.names.loadBalancer;
    const resource = `load balancer ${name}`;
    const network = ctx.state.require('network');
    const { subnetIds } = network.details as unknown as NetworkDetails;
    const recorded = ctx.state.get('loadBalancer');
    const existing = await findByName(ctx);
    if (existing?.LoadBalancerArn) {
      const arn = existing.LoadBalancerArn;
      const sameAsRecorded = recorded?.id === arn;
      const origin = sameAsRecorded ? recorded.origin : (await isTaggedForStack(ctx, arn)) ? 'created' : 'adopted';
      ctx.state.foresee('loadBalancer', recordFor(ctx, existing, origin));
      const misplaced = placementProblem(existing, network.id, subnetIds);
      return existingResource(resource, sameAsRecorded, origin, misplaced ? `${misplaced}, left as it is` : undefined);
    }
    ctx.state.foreseeNew('loadBalancer', 'load balancer');
    return { action: 'create', resource, detail: `internet-facing, in ${subnetIds.length} subnets (its URL is known once it exists)` };
  },

  async proveOwnership(ctx, record) {
    const early = judge(recordProblem(record, ctx.state), !record.id.startsWith('arn:') && `"${record.id}" is not a load balancer ARN`);
    if (early.kind !== 'ours') return early;
    let lb: LoadBalancer | undefined;
    try {
      lb = (await ctx.aws.elbv2.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [record.id] }))).LoadBalancers?.[0];
    } catch (error) {
      if (isAwsError(error, ...LOAD_BALANCER_NOT_FOUND)) return GONE;
      throw error;
    }
    if (!lb) return GONE;
    return judge(nameProblem(lb.LoadBalancerName, ctx.names.loadBalancer), tagProblem(await isTaggedForStack(ctx, record.id), ctx.config.stack));
  },

  async destroy(ctx) {
    const recorded = ctx.state.get('loadBalancer');
    if (!recorded) return 'no load balancer recorded';
    if (recorded.origin === 'adopted') {
      ctx.state.forget('loadBalancer');
      return `kept load balancer ${recorded.id} (adopted)`;
    }
    const arn = recorded.id;
    const label = String(recorded.details?.name ?? arn);
    try {
      await retryWhile(() => ctx.aws.elbv2.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: arn })), {
        clock: ctx.clock,
        what: `load balancer ${label} to be free`,
        retryOn: RESOURCE_IN_USE,
        timeoutMs: ctx.waitTimeoutMs,
        onRetry: (seconds, code) => ctx.progress(`still in use (${code}) after ${seconds}s, retrying`),
      });
    } catch (error) {
      // AWS answers a delete of a missing load balancer with success; moto too. Kept for safety.
      if (!isAwsError(error, ...LOAD_BALANCER_NOT_FOUND)) throw error;
    }
    // The target group and the security group cannot go until the load balancer is gone.
    await pollUntil(
      async () => {
        try {
          const { LoadBalancers = [] } = await ctx.aws.elbv2.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [arn] }));
          const lb = LoadBalancers[0];
          if (!lb) return { done: true, value: undefined };
          return { done: false, status: lb.State?.Code ?? 'still listed' };
        } catch (error) {
          if (isAwsError(error, ...LOAD_BALANCER_NOT_FOUND)) return { done: true, value: undefined };
          throw error;
        }
      },
      {
        clock: ctx.clock,
        what: `load balancer ${label} to be deleted`,
        timeoutMs: ctx.waitTimeoutMs,
        intervalMs: 5_000,
        onWait: (seconds, status) => ctx.progress(`waiting for the load balancer to be deleted (${status}, ${seconds}s)`),
      },
    );
    ctx.state.forget('loadBalancer');
    return `deleted load balancer ${label}`;
  },

  async discover(ctx) {
    const existing = await findByName(ctx);
    if (existing?.LoadBalancerArn && (await isTaggedForStack(ctx, existing.LoadBalancerArn))) record(ctx, existing, 'created');
  },
};
