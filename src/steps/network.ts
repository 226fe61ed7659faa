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

function noDefaultVpc(region: string): EnvironmentError {
  return new EnvironmentError(
    `no default VPC in ${region}; pass --vpc-id with a VPC that has public subnets in at least two Availability Zones`,
    'or create a default VPC with `aws ec2 create-default-vpc`',
  );
}

async function subnetsWhere(ctx: StepContext, name: string, value: string): Promise<Subnet[]> {
  const { Subnets = [] } = await ctx.aws.ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: name, Values: [value] }] }));
  return Subnets;
}

/** Tells apart "no such VPC" from "a VPC without subnets" when a VPC's subnet list comes back empty. */
async function vpcExists(ctx: StepContext, vpcId: string): Promise<boolean> {
  try {
    const { Vpcs = [] } = await ctx.aws.ec2.send(new DescribeVpcsCommand({ VpcIds: [vpcId] }));
    return Vpcs.length > 0;
  } catch (error) {
    if (isAwsError(error, 'InvalidVpcID.NotFound')) return false;
    throw error;
  }
}

/**
 * The VPC and its subnets, in one call on the usual paths: the VPC given with --vpc-id, else the
 * one the stack was built in (a later run without the option must not move the stack), else the
 * default VPC, found through its default subnets.
 */
async function findNetwork(ctx: StepContext): Promise<{ vpcId: string; subnets: Subnet[] }> {
  const region = ctx.state.region;
  const vpcId = ctx.config.vpcId ?? ctx.state.get('network')?.id;
  if (vpcId) {
    const subnets = await subnetsWhere(ctx, 'vpc-id', vpcId);
    if (subnets.length === 0 && !(await vpcExists(ctx, vpcId))) {
      if (!ctx.config.vpcId) throw new EnvironmentError(`the stack's VPC ${vpcId} no longer exists in ${region}`, 'pass --vpc-id with the VPC to use now');
      throw new UsageError(`invalid --vpc-id "${vpcId}": no such VPC in ${region}`, 'check the ID and --region, or leave --vpc-id out to use the default VPC');
    }
    return { vpcId, subnets };
  }
  const defaultSubnets = await subnetsWhere(ctx, 'default-for-az', 'true');
  const defaultVpcId = defaultSubnets[0]?.VpcId;
  if (defaultVpcId) return { vpcId: defaultVpcId, subnets: defaultSubnets.filter((s) => s.VpcId === defaultVpcId) };
  // A default VPC whose default subnets were deleted: look it up and take its other subnets.
  // AWS documents the filter as "is-default"; moto accepts both "is-default" and "isDefault".
  const { Vpcs = [] } = await ctx.aws.ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'is-default', Values: ['true'] }] }));
  const found = Vpcs[0]?.VpcId;
  if (!found) throw noDefaultVpc(region);
  return { vpcId: found, subnets: await subnetsWhere(ctx, 'vpc-id', found) };
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
    const { vpcId, subnets } = await findNetwork(ctx);
    const details = chooseSubnets(subnets, vpcId, (message) => ctx.notice(message));
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
