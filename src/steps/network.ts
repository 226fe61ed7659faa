import { DescribeSubnetsCommand, DescribeVpcsCommand, type RouteTable, type Subnet } from '@aws-sdk/client-ec2';
import { isAwsError } from '../aws/errors.js';
import type { ReadContext } from '../engine/plan.js';
import type { Step } from '../engine/step.js';
import { EnvironmentError, UsageError } from '../errors.js';
import { describeSkippedZone, describeZones, subnetsWhereFargateRuns, whyNoFargate, type ZoneFacts } from './fargateZones.js';
import { describeRoute, routeOfSubnet, routeTablesOf } from './subnetRoutes.js';

/**
 * At most this many AZs. The ALB needs two; ECS spreads tasks evenly over the AZs of the
 * subnets it is given, so for a service of 2–3 tasks a fourth AZ adds no availability, only
 * more ENIs and more exposure to capacity shortages in any one AZ.
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

async function subnetsWhere(ctx: ReadContext, name: string, value: string): Promise<Subnet[]> {
  const { Subnets = [] } = await ctx.aws.ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: name, Values: [value] }] }));
  return Subnets;
}

/** Tells apart "no such VPC" from "a VPC without subnets" when a VPC's subnet list comes back empty. */
async function vpcExists(ctx: ReadContext, vpcId: string): Promise<boolean> {
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
async function findNetwork(ctx: ReadContext): Promise<{ vpcId: string; subnets: Subnet[] }> {
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

/**
 * One subnet per AZ, sorted by AZ name; in each AZ a subnet that maps public IPs first, then the
 * default-for-AZ one, then by ID, so every run picks the same ones.
 */
function onePerZone(subnets: Subnet[]): Subnet[] {
  const ordered = [...subnets].sort(
    (a, b) =>
      (a.AvailabilityZone ?? '').localeCompare(b.AvailabilityZone ?? '') ||
      Number(b.MapPublicIpOnLaunch ?? false) - Number(a.MapPublicIpOnLaunch ?? false) ||
      Number(b.DefaultForAz ?? false) - Number(a.DefaultForAz ?? false) ||
      (a.SubnetId ?? '').localeCompare(b.SubnetId ?? ''),
  );
  const byZone = new Map<string, Subnet>();
  for (const subnet of ordered) {
    if (subnet.AvailabilityZone && !byZone.has(subnet.AvailabilityZone)) byZone.set(subnet.AvailabilityZone, subnet);
  }
  return [...byZone.values()];
}

function zonesOf(subnets: Subnet[]): string[] {
  return [...new Set(subnets.map((s) => s.AvailabilityZone!))].sort();
}

/** What AWS says about the candidate subnets' zones and routes; see `chooseSubnets`. */
export interface NetworkFacts {
  region: string;
  zones: ZoneFacts;
  /**
   * The VPC's route tables; only needed for subnets that are not default-for-AZ ones. AWS makes
   * those public (the default VPC's main route table sends 0.0.0.0/0 to its internet gateway),
   * so the usual path reads no route tables; the emulator's default VPC has no internet gateway
   * to show. Without route tables, a subnet that is not default-for-AZ counts as private.
   */
  routeTables?: RouteTable[];
}

/** The subnets worth asking about: those that exist, are available and name their AZ. */
function candidates(subnets: Subnet[]): Subnet[] {
  return subnets.filter((s) => s.SubnetId && s.AvailabilityZone && (s.State === undefined || s.State === 'available'));
}

/**
 * Two or three subnets in distinct AZs for the internet-facing load balancer and the tasks (which
 * get public IPs and pull from ECR over the internet):
 * - only in zones of type availability-zone where Fargate runs (`FARGATE_ZONE_IDS`), never a Local
 *   or Wavelength Zone; each zone left out gets a notice;
 * - only public subnets: default-for-AZ ones, or those whose route table sends 0.0.0.0/0 to an
 *   internet gateway; a zone with private subnets only is left out with a notice.
 */
export function chooseSubnets(subnets: Subnet[], vpcId: string, facts: NetworkFacts, notice: (message: string) => void): NetworkDetails {
  const { kept, skipped } = subnetsWhereFargateRuns(candidates(subnets), facts.zones, facts.region);
  for (const entry of skipped) notice(`skipped ${describeSkippedZone(entry)}`);
  const fargateZones = zonesOf(kept);
  if (fargateZones.length < 2) {
    const skippedText = skipped.length > 0 ? `; skipped: ${skipped.map(describeSkippedZone).join('; ')}` : '';
    throw new EnvironmentError(
      `VPC ${vpcId} has subnets in fewer than two Availability Zones (found: ${fargateZones.join(', ') || 'none'}); a load balancer and a highly available service need two${skippedText}`,
      'add a subnet in another Availability Zone where Fargate runs, or pass --vpc-id with a VPC that has them',
    );
  }

  const routes = new Map(kept.map((s) => [s.SubnetId!, facts.routeTables && !s.DefaultForAz ? routeOfSubnet(s.SubnetId!, facts.routeTables) : undefined]));
  const isPublic = (s: Subnet) => s.DefaultForAz === true || routes.get(s.SubnetId!)?.toInternetGateway === true;
  let chosen = onePerZone(kept.filter(isPublic));
  const privateOnly = kept.filter((s) => !chosen.some((c) => c.AvailabilityZone === s.AvailabilityZone));
  const describePrivate = (list: Subnet[]) =>
    `${list.length > 1 ? 'subnets' : 'subnet'} ${list.map((s) => describeRoute(s, routes.get(s.SubnetId!) ?? { main: true, toInternetGateway: false })).join(', ')}`;
  if (chosen.length < 2) {
    throw new EnvironmentError(
      `VPC ${vpcId} has public subnets in fewer than two Availability Zones (found: ${zonesOf(chosen).join(', ') || 'none'}); ` +
        `these have no route 0.0.0.0/0 to an internet gateway, so an internet-facing load balancer there would never answer: ${describePrivate(privateOnly)}`,
      "give their route tables a route 0.0.0.0/0 to the VPC's internet gateway (aws ec2 create-route --route-table-id <rtb-id> --destination-cidr-block 0.0.0.0/0 --gateway-id <igw-id>), or pass --vpc-id with a VPC that has public subnets in two Availability Zones",
    );
  }
  for (const zone of zonesOf(privateOnly)) {
    notice(`skipped ${describePrivate(privateOnly.filter((s) => s.AvailabilityZone === zone))}: no route 0.0.0.0/0 to an internet gateway`);
  }
  chosen = chosen.slice(0, MAX_AVAILABILITY_ZONES);
  return { subnetIds: chosen.map((s) => s.SubnetId!), availabilityZones: chosen.map((s) => s.AvailabilityZone!) };
}

/**
 * The facts `chooseSubnets` needs: one DescribeAvailabilityZones call for the subnets' zones
 * (besides the one DescribeSubnets call), and one DescribeRouteTables call for the VPC when a
 * candidate is not a default-for-AZ subnet (a --vpc-id VPC's own subnets).
 */
async function networkFacts(ctx: ReadContext, vpcId: string, subnets: Subnet[]): Promise<NetworkFacts> {
  const usable = candidates(subnets);
  const zones = await describeZones(ctx, usable.map((s) => s.AvailabilityZone!));
  const region = ctx.state.region;
  const fargate = usable.filter((s) => !whyNoFargate(s, zones, region));
  // Route tables only matter when there are two zones to choose from and a subnet that is not public by construction.
  const needRoutes = zonesOf(fargate).length >= 2 && fargate.some((s) => !s.DefaultForAz);
  return { region, zones, ...(needRoutes ? { routeTables: await routeTablesOf(ctx, vpcId) } : {}) };
}

function sameNetwork(details: unknown, next: NetworkDetails): boolean {
  const current = details as Partial<NetworkDetails> | undefined;
  return (
    JSON.stringify(current?.subnetIds) === JSON.stringify(next.subnetIds) &&
    JSON.stringify(current?.availabilityZones) === JSON.stringify(next.availabilityZones)
  );
}

/** "subnets subnet-1, subnet-2 in us-east-1a, us-east-1b", from a network record's details. */
function describeChoice(details: unknown): string {
  const { subnetIds = [], availabilityZones = [] } = (details ?? {}) as Partial<NetworkDetails>;
  return `subnets ${subnetIds.join(', ') || 'none'} in ${availabilityZones.join(', ') || 'no zone'}`;
}

/** The VPC and subnets the stack runs in. Always adopted: ecs-ha never creates or deletes networks. */
export const networkStep: Step = {
  id: 'network',
  title: 'network',
  dependsOn: [],
  checksEnvironment: true,

  async ensure(ctx) {
    const { vpcId, subnets } = await findNetwork(ctx);
    const details = chooseSubnets(subnets, vpcId, await networkFacts(ctx, vpcId, subnets), (message) => ctx.notice(message));
    const recorded = ctx.state.get('network');
    const summary = `VPC ${vpcId}, subnets in ${details.availabilityZones.join(', ')}`;
    if (recorded?.id === vpcId && recorded.origin === 'adopted' && sameNetwork(recorded.details, details)) return `using ${summary}`;
    if (recorded && recorded.id !== vpcId) {
      ctx.notice(`the stack was recorded in VPC ${recorded.id}; now using ${vpcId}`);
    }
    ctx.state.record('network', { id: vpcId, origin: 'adopted', details: { ...details } });
    return `using ${summary}`;
  },

  async plan(ctx) {
    const { vpcId, subnets } = await findNetwork(ctx);
    const details = chooseSubnets(subnets, vpcId, await networkFacts(ctx, vpcId, subnets), (message) => ctx.notice(message));
    const recorded = ctx.state.get('network');
    const resource = `VPC ${vpcId}`;
    const chosen = `subnets ${details.subnetIds.join(', ')} in ${details.availabilityZones.join(', ')}`;
    ctx.state.foresee('network', { id: vpcId, origin: 'adopted', details: { ...details } });
    if (recorded?.id === vpcId && recorded.origin === 'adopted' && sameNetwork(recorded.details, details)) return { action: 'keep', resource, detail: chosen };
    if (!recorded) return { action: 'adopt', resource, detail: `${chosen}; ecs-ha never creates or deletes networks` };
    // Only the record changes; resources made in the old choice are left as they are.
    const before = recorded.id !== vpcId ? `the stack was recorded in VPC ${recorded.id}` : `was ${describeChoice(recorded.details)}`;
    return { action: 'update', resource, detail: `${chosen} (${before})` };
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
