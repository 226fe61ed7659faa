import { DescribeSubnetsCommand, DescribeVpcsCommand, type Subnet } from '@aws-sdk/client-ec2';
import { isAwsError } from '../aws/errors.js';
import type { Step, StepContext } from '../engine/step.js';
import { EnvironmentError, UsageError } from '../errors.js';

/**
 * At most this many AZs. The ALB needs two; ECS spreads tasks evenly over the AZs of the
 * subnets it is given, so for a service of 2–3 tasks a fourth AZ adds no availability, only
 * more ENIs and more exposure to the few AZs that lack Fargate capacity (e.g. use1-az3).
 */
export const MAX_AVAILABILITY_ZONES = 3;

export interface NetworkDetails {
  subnetIds: string[];
  availabilityZones: string[];
}

async function findVpcId(ctx: StepContext): Promise<string> {
  const region = ctx.state.region;
  if (ctx.config.vpcId) {
    try {
      const { Vpcs = [] } = await ctx.aws.ec2.send(new DescribeVpcsCommand({ VpcIds: [ctx.config.vpcId] }));
      if (Vpcs[0]?.VpcId) return Vpcs[0].VpcId;
    } catch (error) {
      if (!isAwsError(error, 'InvalidVpcID.NotFound')) throw error;
    }
    throw new UsageError(`invalid --vpc-id "${ctx.config.vpcId}": no such VPC in ${region}`, 'check the ID and --region, or leave --vpc-id out to use the default VPC');
  }
  // AWS documents the filter as "is-default"; moto accepts both "is-default" and "isDefault".
  const { Vpcs = [] } = await ctx.aws.ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'is-default', Values: ['true'] }] }));
  const vpcId = Vpcs[0]?.VpcId;
  if (!vpcId) {
    throw new EnvironmentError(
      `no default VPC in ${region}; pass --vpc-id with a VPC that has public subnets in at least two Availability Zones`,
      'or create a default VPC with `aws ec2 create-default-vpc`',
    );
  }
  return vpcId;
}

/** One subnet per AZ, sorted by AZ name; default-for-AZ subnets first, then by ID, so every run picks the same ones. */
function onePerZone(subnets: Subnet[]): Subnet[] {
  const ordered = [...subnets].sort(
    (a, b) =>
      (a.AvailabilityZone ?? '').localeCompare(b.AvailabilityZone ?? '') ||
      Number(b.DefaultForAz ?? false) - Number(a.DefaultForAz ?? false) ||
      (a.SubnetId ?? '').localeCompare(b.SubnetId ?? ''),
  );
  const byZone = new Map<string, Subnet>();
  for (const subnet of ordered) {
    if (subnet.AvailabilityZone && !byZone.has(subnet.AvailabilityZone)) byZone.set(subnet.AvailabilityZone, subnet);
  }
  return [...byZone.values()];
}

export function chooseSubnets(
  subnets: Subnet[],
  vpcId: string,
  notice: (message: string) => void,
): NetworkDetails {
  const usable = subnets.filter((s) => s.SubnetId && s.AvailabilityZone && (s.State === undefined || s.State === 'available'));
  // Tasks run with a public IP and pull from ECR over the internet, so subnets that map public
  // IPs (the default VPC's) are the ones meant for this. A custom VPC may route its public
  // subnets to an internet gateway without that flag: then take what there is and say so.
  let chosen = onePerZone(usable.filter((s) => s.MapPublicIpOnLaunch));
  if (chosen.length < 2) {
    const all = onePerZone(usable);
    if (all.length > chosen.length) {
      chosen = all;
      notice(
        `VPC ${vpcId} has no public-IP subnets in two Availability Zones; using ${chosen.map((s) => s.SubnetId).join(', ')} — tasks need a route to ECR (internet gateway or NAT)`,
      );
    }
  }
  if (chosen.length < 2) {
    const zones = chosen.map((s) => s.AvailabilityZone).join(', ') || 'none';
    throw new EnvironmentError(
      `VPC ${vpcId} has subnets in fewer than two Availability Zones (found: ${zones}); a load balancer and a highly available service need two`,
      'add a subnet in another Availability Zone, or pass --vpc-id with a VPC that has them',
    );
  }
  chosen = chosen.slice(0, MAX_AVAILABILITY_ZONES);
  return { subnetIds: chosen.map((s) => s.SubnetId!), availabilityZones: chosen.map((s) => s.AvailabilityZone!) };
}

function sameNetwork(details: unknown, next: NetworkDetails): boolean {
  const current = details as Partial<NetworkDetails> | undefined;
  return (
    JSON.stringify(current?.subnetIds) === JSON.stringify(next.subnetIds) &&
    JSON.stringify(current?.availabilityZones) === JSON.stringify(next.availabilityZones)
  );
}

/** The VPC and subnets the stack runs in. Always adopted: ecs-ha never creates or deletes networks. */
export const networkStep: Step = {
  id: 'network',
  title: 'network',
  dependsOn: [],

  async ensure(ctx) {
    const vpcId = await findVpcId(ctx);
    const { Subnets = [] } = await ctx.aws.ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }] }));
    const details = chooseSubnets(Subnets, vpcId, (message) => ctx.notice(message));
    const recorded = ctx.state.get('network');
    const summary = `VPC ${vpcId}, subnets in ${details.availabilityZones.join(', ')}`;
    if (recorded?.id === vpcId && recorded.origin === 'adopted' && sameNetwork(recorded.details, details)) return `using ${summary}`;
    if (recorded && recorded.id !== vpcId) {
      ctx.notice(`the stack was recorded in VPC ${recorded.id}; now using ${vpcId}`);
    }
    ctx.state.record('network', { id: vpcId, origin: 'adopted', details: { ...details } });
    return `using ${summary}`;
  },

  async destroy(ctx) {
    const recorded = ctx.state.get('network');
    if (!recorded) return 'no network recorded';
    ctx.state.forget('network');
    return `kept VPC ${recorded.id} (never created by ecs-ha)`;
  },

  async discover() {
    // Nothing to find: the network is never the stack's own, and the steps that need a VPC
    // at teardown find their resources by tag.
  },
};
