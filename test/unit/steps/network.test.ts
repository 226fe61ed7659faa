import {
  type AvailabilityZone,
  DescribeAvailabilityZonesCommand,
  DescribeRouteTablesCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  EC2Client,
  type DescribeAvailabilityZonesCommandInput,
  type Route,
  type RouteTable,
  type Subnet,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { EnvironmentError, UsageError } from '../../../src/errors.js';
import { MAX_AVAILABILITY_ZONES, networkStep } from '../../../src/steps/network.js';
import { awsError, testContext } from '../../helpers/context.js';
import { planContext, planThenEnsure, writesOf } from '../core/planAgreement.js';

const ec2 = mockClient(EC2Client);
const vpcId = 'vpc-0aaaaaaaaaaaaaaaa';

function subnet(id: string, zone: string, extra: Partial<Subnet> = {}): Subnet {
  return { SubnetId: id, AvailabilityZone: zone, VpcId: vpcId, MapPublicIpOnLaunch: true, State: 'available', DefaultForAz: true, ...extra };
}

/** The default VPC as moto shows it in us-east-1: one public default subnet in each of six AZs. */
const defaultSubnets = ['a', 'b', 'c', 'd', 'e', 'f'].map((z) => subnet(`subnet-${z}`, `us-east-1${z}`));

function availabilityZone(region: string, name: string, id: string, extra: Partial<AvailabilityZone> = {}): AvailabilityZone {
  return {
    State: 'available',
    OptInStatus: 'opt-in-not-required',
    Messages: [],
    RegionName: region,
    ZoneName: name,
    ZoneId: id,
    GroupName: `${region}-zg-1`,
    NetworkBorderGroup: region,
    ZoneType: 'availability-zone',
    ...extra,
  };
}

/** Zones as DescribeAvailabilityZones shows them (the us-east-1 letter → ID mapping is moto's; it differs per account on AWS). */
const ZONES: AvailabilityZone[] = [
  ...[
    ['a', 'use1-az6'],
    ['b', 'use1-az1'],
    ['c', 'use1-az2'],
    ['d', 'use1-az4'],
    ['e', 'use1-az3'],
    ['f', 'use1-az5'],
  ].map(([letter, id]) => availabilityZone('us-east-1', `us-east-1${letter}`, id!)),
  availabilityZone('us-east-1', 'us-east-1-bos-1a', 'use1-bos1-az1', {
    OptInStatus: 'opted-in',
    GroupName: 'us-east-1-bos-1',
    NetworkBorderGroup: 'us-east-1-bos-1',
    ZoneType: 'local-zone',
    ParentZoneName: 'us-east-1a',
    ParentZoneId: 'use1-az6',
  }),
  availabilityZone('us-east-1', 'us-east-1-wl1-bos-wlz-1', 'use1-wl1-bos-wlz1', {
    OptInStatus: 'opted-in',
    GroupName: 'us-east-1-wl1',
    NetworkBorderGroup: 'us-east-1-wl1-bos-wlz-1',
    ZoneType: 'wavelength-zone',
    ParentZoneName: 'us-east-1a',
    ParentZoneId: 'use1-az6',
  }),
  // An account old enough to still have the zone of us-west-1 that Fargate does not run in.
  availabilityZone('us-west-1', 'us-west-1a', 'usw1-az3'),
  availabilityZone('us-west-1', 'us-west-1b', 'usw1-az1'),
  availabilityZone('us-west-1', 'us-west-1c', 'usw1-az2'),
];

/** Answers DescribeAvailabilityZones as AWS does: the zones the zone-name filter names, from `zones`. */
function answerZones(zones: AvailabilityZone[] = ZONES): void {
  ec2.on(DescribeAvailabilityZonesCommand).callsFake((input: DescribeAvailabilityZonesCommandInput) => {
    const names = input.Filters?.find((f) => f.Name === 'zone-name')?.Values;
    return { AvailabilityZones: zones.filter((z) => !names || names.includes(z.ZoneName!)) };
  });
}

const LOCAL_ROUTE: Route = { DestinationCidrBlock: '10.0.0.0/16', GatewayId: 'local', Origin: 'CreateRouteTable', State: 'active' };
const TO_IGW: Route = { DestinationCidrBlock: '0.0.0.0/0', GatewayId: 'igw-0123456789abcdef0', Origin: 'CreateRoute', State: 'active' };
const TO_NAT: Route = { DestinationCidrBlock: '0.0.0.0/0', NatGatewayId: 'nat-0123456789abcdef0', Origin: 'CreateRoute', State: 'active' };

/** A route table as DescribeRouteTables shows it: the main one of the VPC, or one associated with the given subnets. */
function routeTable(id: string, routes: Route[], associate: 'main' | string[]): RouteTable {
  const associations =
    associate === 'main'
      ? [{ Main: true, RouteTableAssociationId: `rtbassoc-${id}`, RouteTableId: id, AssociationState: { State: 'associated' as const } }]
      : associate.map((subnetId) => ({ Main: false, SubnetId: subnetId, RouteTableAssociationId: `rtbassoc-${subnetId}`, RouteTableId: id, AssociationState: { State: 'associated' as const } }));
  return { Associations: associations, PropagatingVgws: [], RouteTableId: id, Routes: [LOCAL_ROUTE, ...routes], Tags: [], VpcId: vpcId, OwnerId: '123456789012' };
}

/** A custom VPC whose main route table sends everything to the internet gateway. */
const PUBLIC_MAIN = routeTable('rtb-0main', [TO_IGW], 'main');

beforeEach(() => {
  ec2.reset();
  answerZones();
});

describe('network step', () => {
  it('finds the default VPC through its default subnets in one call and takes one per AZ, at most three', async () => {
    const ctx = testContext();
    // Shuffled, as AWS may return them.
    ec2.on(DescribeSubnetsCommand).resolves({ Subnets: [defaultSubnets[2]!, ...defaultSubnets.slice(3), defaultSubnets[1]!, defaultSubnets[0]!] });

    expect(await networkStep.ensure(ctx)).toContain(vpcId);

    expect(ec2.commandCalls(DescribeSubnetsCommand).map((c) => c.args[0].input)).toEqual([{ Filters: [{ Name: 'default-for-az', Values: ['true'] }] }]);
    expect(ec2.commandCalls(DescribeVpcsCommand)).toHaveLength(0);
    // One more call classifies the zones; default-for-AZ subnets are public, so no route tables are read.
    expect(ec2.commandCalls(DescribeAvailabilityZonesCommand).map((c) => c.args[0].input)).toEqual([
      { AllAvailabilityZones: true, Filters: [{ Name: 'zone-name', Values: defaultSubnets.map((s) => s.AvailabilityZone) }] },
    ]);
    expect(ec2.commandCalls(DescribeRouteTablesCommand)).toHaveLength(0);
    expect(ctx.notices).toEqual([]);
    expect(MAX_AVAILABILITY_ZONES).toBe(3);
    expect(ctx.state.get('network')).toEqual({
      id: vpcId,
      origin: 'adopted',
      details: { subnetIds: ['subnet-a', 'subnet-b', 'subnet-c'], availabilityZones: ['us-east-1a', 'us-east-1b', 'us-east-1c'] },
    });
  });

  it('prefers the default-for-AZ subnet when an AZ has two public ones, and one that maps public IPs over one that does not', async () => {
    const ctx = testContext({ config: { vpcId } });
    ec2.on(DescribeRouteTablesCommand).resolves({ RouteTables: [PUBLIC_MAIN] });
    ec2.on(DescribeSubnetsCommand).resolves({
      Subnets: [
        subnet('subnet-0extra', 'us-east-1a', { DefaultForAz: false }),
        subnet('subnet-zdefault', 'us-east-1a'),
        subnet('subnet-0nomap', 'us-east-1b', { MapPublicIpOnLaunch: false, DefaultForAz: false }),
        subnet('subnet-b', 'us-east-1b', { DefaultForAz: false }),
      ],
    });

    await networkStep.ensure(ctx);

    expect(ctx.state.get('network')?.details).toEqual({ subnetIds: ['subnet-zdefault', 'subnet-b'], availabilityZones: ['us-east-1a', 'us-east-1b'] });
  });

  it('uses the subnets of the VPC given with --vpc-id, in one call', async () => {
    const ctx = testContext({ config: { vpcId } });
    ec2.on(DescribeSubnetsCommand).resolves({ Subnets: defaultSubnets.slice(0, 2) });

    await networkStep.ensure(ctx);

    expect(ec2.commandCalls(DescribeSubnetsCommand).map((c) => c.args[0].input)).toEqual([{ Filters: [{ Name: 'vpc-id', Values: [vpcId] }] }]);
    expect(ec2.commandCalls(DescribeVpcsCommand)).toHaveLength(0);
    expect(ctx.state.get('network')?.id).toBe(vpcId);
  });

  it('stays in the VPC the stack was built in when a later run gives no --vpc-id', async () => {
    const ctx = testContext();
    ctx.state.record('network', { id: vpcId, origin: 'adopted', details: { subnetIds: [], availabilityZones: [] } });
    ec2.on(DescribeSubnetsCommand).resolves({ Subnets: defaultSubnets.slice(0, 2) });

    await networkStep.ensure(ctx);

    expect(ec2.commandCalls(DescribeSubnetsCommand).map((c) => c.args[0].input)).toEqual([{ Filters: [{ Name: 'vpc-id', Values: [vpcId] }] }]);
    expect(ctx.state.get('network')?.details).toEqual({ subnetIds: ['subnet-a', 'subnet-b'], availabilityZones: ['us-east-1a', 'us-east-1b'] });
  });

  it('takes the other subnets of a default VPC whose default subnets were deleted', async () => {
    const ctx = testContext();
    ec2.on(DescribeSubnetsCommand, { Filters: [{ Name: 'default-for-az', Values: ['true'] }] }).resolves({ Subnets: [] });
    ec2.on(DescribeSubnetsCommand, { Filters: [{ Name: 'vpc-id', Values: [vpcId] }] }).resolves({ Subnets: [subnet('subnet-x', 'us-east-1a', { DefaultForAz: false }), subnet('subnet-y', 'us-east-1b', { DefaultForAz: false })] });
    ec2.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: vpcId, IsDefault: true }] });
    // Subnets made by hand are checked for a route to the internet gateway, as in any other VPC.
    ec2.on(DescribeRouteTablesCommand).resolves({ RouteTables: [PUBLIC_MAIN] });

    await networkStep.ensure(ctx);

    expect(ec2.commandCalls(DescribeVpcsCommand)[0]!.args[0].input).toEqual({ Filters: [{ Name: 'is-default', Values: ['true'] }] });
    expect(ctx.state.get('network')?.details).toEqual({ subnetIds: ['subnet-x', 'subnet-y'], availabilityZones: ['us-east-1a', 'us-east-1b'] });
  });

  it('refuses a --vpc-id that does not exist with a usage error naming the option', async () => {
    const ctx = testContext({ config: { vpcId } });
    ec2.on(DescribeSubnetsCommand).resolves({ Subnets: [] });
    ec2.on(DescribeVpcsCommand).rejects(awsError('InvalidVpcID.NotFound'));

    const error = await networkStep.ensure(ctx).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).exitCode).toBe(2);
    expect((error as UsageError).message).toBe(`invalid --vpc-id "${vpcId}": no such VPC in us-east-1`);
  });

  it('says there is no default VPC in the region (exit 3)', async () => {
    const ctx = testContext();
    ec2.on(DescribeSubnetsCommand).resolves({ Subnets: [] });
    ec2.on(DescribeVpcsCommand).resolves({ Vpcs: [] });

    const error = await networkStep.ensure(ctx).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(EnvironmentError);
    expect((error as EnvironmentError).exitCode).toBe(3);
    expect((error as EnvironmentError).message).toMatch(/no default VPC in us-east-1; pass --vpc-id/);
    expect(ctx.state.get('network')).toBeUndefined();
  });

  it('refuses a VPC with subnets in only one AZ, naming the VPC and the AZ found', async () => {
    const ctx = testContext();
    ec2.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: vpcId }] });
    ec2.on(DescribeSubnetsCommand).resolves({ Subnets: [subnet('subnet-1', 'us-east-1a'), subnet('subnet-2', 'us-east-1a', { DefaultForAz: false })] });

    const error = await networkStep.ensure(ctx).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(EnvironmentError);
    expect((error as EnvironmentError).exitCode).toBe(3);
    expect((error as EnvironmentError).message).toContain(vpcId);
    expect((error as EnvironmentError).message).toContain('found: us-east-1a)');
  });

  it('ignores subnets that are not available', async () => {
    const ctx = testContext();
    ec2.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: vpcId }] });
    ec2.on(DescribeSubnetsCommand).resolves({ Subnets: [subnet('subnet-a', 'us-east-1a'), subnet('subnet-b', 'us-east-1b', { State: 'pending' })] });

    await expect(networkStep.ensure(ctx)).rejects.toBeInstanceOf(EnvironmentError);
  });

  it('does not rewrite the record when nothing changed, and re-records when the subnets did', async () => {
    const ctx = testContext();
    ec2.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: vpcId }] });
    ec2.on(DescribeSubnetsCommand).resolves({ Subnets: defaultSubnets });
    await networkStep.ensure(ctx);
    const record = vi.spyOn(ctx.state, 'record');

    await networkStep.ensure(ctx);
    expect(record).not.toHaveBeenCalled();

    ec2.on(DescribeSubnetsCommand).resolves({ Subnets: defaultSubnets.slice(1) });
    await networkStep.ensure(ctx);
    expect(record).toHaveBeenCalledTimes(1);
    expect(ctx.state.get('network')?.details).toEqual({
      subnetIds: ['subnet-b', 'subnet-c', 'subnet-d'],
      availabilityZones: ['us-east-1b', 'us-east-1c', 'us-east-1d'],
    });
  });

  it('passes a permanent error through', async () => {
    const ctx = testContext();
    ec2.on(DescribeSubnetsCommand).rejects(awsError('UnauthorizedOperation'));

    await expect(networkStep.ensure(ctx)).rejects.toThrow('UnauthorizedOperation');
  });

  it('destroy only forgets the network, never calling AWS', async () => {
    const ctx = testContext();
    ctx.state.record('network', { id: vpcId, origin: 'adopted', details: { subnetIds: [], availabilityZones: [] } });

    expect(await networkStep.destroy(ctx)).toContain('kept');
    expect(ctx.state.get('network')).toBeUndefined();
    expect(ec2.calls()).toHaveLength(0);
    expect(await networkStep.destroy(ctx)).toContain('no network');
  });

  it('discover records nothing and makes no call', async () => {
    const ctx = testContext();
    await networkStep.discover(ctx);
    expect(ctx.state.isEmpty()).toBe(true);
    expect(ec2.calls()).toHaveLength(0);
  });
});

describe('network step: only zones where Fargate runs', () => {
  it('skips the default subnet in a zone ID where Fargate does not run (us-west-1, usw1-az2), with a notice', async () => {
    const ctx = testContext();
    ec2.on(DescribeSubnetsCommand).resolves({
      Subnets: [subnet('subnet-0a', 'us-west-1a'), subnet('subnet-0b', 'us-west-1b'), subnet('subnet-0c', 'us-west-1c')],
    });

    await networkStep.ensure(ctx);

    expect(ctx.state.get('network')?.details).toEqual({ subnetIds: ['subnet-0a', 'subnet-0b'], availabilityZones: ['us-west-1a', 'us-west-1b'] });
    expect(ctx.notices).toEqual(['skipped subnet subnet-0c in us-west-1c: Fargate does not run in zone ID usw1-az2 (in us-west-1 it runs in usw1-az1, usw1-az3 only)']);
    expect(ec2.commandCalls(DescribeAvailabilityZonesCommand)).toHaveLength(1);
    expect(ec2.commandCalls(DescribeSubnetsCommand)).toHaveLength(1);
  });

  it('never chooses a Local Zone or a Wavelength Zone, even where their names sort first', async () => {
    const ctx = testContext({ config: { vpcId } });
    ec2.on(DescribeRouteTablesCommand).resolves({ RouteTables: [PUBLIC_MAIN] });
    ec2.on(DescribeSubnetsCommand).resolves({
      Subnets: [
        subnet('subnet-0local', 'us-east-1-bos-1a', { DefaultForAz: false }),
        subnet('subnet-0wave', 'us-east-1-wl1-bos-wlz-1', { DefaultForAz: false }),
        subnet('subnet-1a', 'us-east-1a', { DefaultForAz: false }),
        subnet('subnet-1b', 'us-east-1b', { DefaultForAz: false }),
      ],
    });

    await networkStep.ensure(ctx);

    expect(ctx.state.get('network')?.details).toEqual({ subnetIds: ['subnet-1a', 'subnet-1b'], availabilityZones: ['us-east-1a', 'us-east-1b'] });
    expect(ctx.notices).toEqual([
      'skipped subnet subnet-0local in us-east-1-bos-1a: a Local Zone, and Fargate runs only in Availability Zones',
      'skipped subnet subnet-0wave in us-east-1-wl1-bos-wlz-1: a Wavelength Zone, and Fargate runs only in Availability Zones',
    ]);
  });

  it('skips a zone that is not available', async () => {
    const ctx = testContext();
    answerZones(ZONES.map((z) => (z.ZoneName === 'us-east-1a' ? { ...z, State: 'impaired' } : z)));
    ec2.on(DescribeSubnetsCommand).resolves({ Subnets: defaultSubnets.slice(0, 3) });

    await networkStep.ensure(ctx);

    expect(ctx.state.get('network')?.details).toEqual({ subnetIds: ['subnet-b', 'subnet-c'], availabilityZones: ['us-east-1b', 'us-east-1c'] });
    expect(ctx.notices).toEqual(['skipped subnet subnet-a in us-east-1a: the zone is impaired']);
  });

  it('says which zones were skipped and why when fewer than two usable AZs remain (exit 3)', async () => {
    const ctx = testContext({ config: { vpcId } });
    ec2.on(DescribeSubnetsCommand).resolves({
      Subnets: [subnet('subnet-0b', 'us-west-1b'), subnet('subnet-0c', 'us-west-1c'), subnet('subnet-0d', 'us-west-1c', { DefaultForAz: false })],
    });

    const error = await networkStep.ensure(ctx).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(EnvironmentError);
    expect((error as EnvironmentError).exitCode).toBe(3);
    expect((error as EnvironmentError).message).toBe(
      `VPC ${vpcId} has subnets in fewer than two Availability Zones (found: us-west-1b); a load balancer and a highly available service need two; ` +
        'skipped: subnets subnet-0c, subnet-0d in us-west-1c: Fargate does not run in zone ID usw1-az2 (in us-west-1 it runs in usw1-az1, usw1-az3 only)',
    );
    expect((error as EnvironmentError).hint).toMatch(/another Availability Zone where Fargate runs/);
    expect(ctx.state.get('network')).toBeUndefined();
  });

  it('takes a zone whose ZoneType is missing (moto before ZoneType) or that the answer leaves out as an Availability Zone', async () => {
    const ctx = testContext();
    answerZones(ZONES.filter((z) => z.ZoneName !== 'us-east-1b').map(({ ZoneType: _type, OptInStatus: _optIn, ...z }) => z));
    ec2.on(DescribeSubnetsCommand).resolves({ Subnets: defaultSubnets.slice(0, 2) });

    await networkStep.ensure(ctx);

    expect(ctx.state.get('network')?.details).toEqual({ subnetIds: ['subnet-a', 'subnet-b'], availabilityZones: ['us-east-1a', 'us-east-1b'] });
    expect(ctx.notices).toEqual([]);
  });
});

describe('network step: public subnets (route 0.0.0.0/0 to an internet gateway)', () => {
  const subnets = [
    // Maps public IPs and sorts first, but its own route table sends 0.0.0.0/0 to a NAT gateway.
    subnet('subnet-0private-a', 'us-east-1a', { DefaultForAz: false }),
    subnet('subnet-public-a', 'us-east-1a', { DefaultForAz: false, MapPublicIpOnLaunch: false }),
    subnet('subnet-public-b', 'us-east-1b', { DefaultForAz: false, MapPublicIpOnLaunch: false }),
    subnet('subnet-private-c', 'us-east-1c', { DefaultForAz: false }),
  ];

  it('chooses subnets by their route table, not by the public-IP flag, and skips a zone with private subnets only, with a notice', async () => {
    const ctx = testContext({ config: { vpcId } });
    ec2.on(DescribeSubnetsCommand).resolves({ Subnets: subnets });
    ec2.on(DescribeRouteTablesCommand).resolves({
      RouteTables: [PUBLIC_MAIN, routeTable('rtb-0private', [TO_NAT], ['subnet-0private-a', 'subnet-private-c'])],
    });

    await networkStep.ensure(ctx);

    expect(ec2.commandCalls(DescribeRouteTablesCommand).map((c) => c.args[0].input)).toEqual([{ Filters: [{ Name: 'vpc-id', Values: [vpcId] }] }]);
    expect(ec2.commandCalls(DescribeSubnetsCommand)).toHaveLength(1);
    expect(ctx.state.get('network')?.details).toEqual({ subnetIds: ['subnet-public-a', 'subnet-public-b'], availabilityZones: ['us-east-1a', 'us-east-1b'] });
    expect(ctx.notices).toEqual(['skipped subnet subnet-private-c in us-east-1c (route table rtb-0private): no route 0.0.0.0/0 to an internet gateway']);
  });

  it('refuses private subnets (exit 3), naming them and their route tables, instead of an internet-facing load balancer that never answers', async () => {
    const ctx = testContext({ config: { vpcId } });
    ec2.on(DescribeSubnetsCommand).resolves({
      Subnets: [subnet('subnet-1', 'us-east-1a', { DefaultForAz: false, MapPublicIpOnLaunch: false }), subnet('subnet-2', 'us-east-1b', { DefaultForAz: false, MapPublicIpOnLaunch: false })],
    });
    ec2.on(DescribeRouteTablesCommand).resolves({ RouteTables: [routeTable('rtb-0main', [TO_NAT], 'main'), routeTable('rtb-0two', [], ['subnet-2'])] });

    const error = await networkStep.ensure(ctx).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(EnvironmentError);
    expect((error as EnvironmentError).exitCode).toBe(3);
    expect((error as EnvironmentError).message).toBe(
      `VPC ${vpcId} has public subnets in fewer than two Availability Zones (found: none); these have no route 0.0.0.0/0 to an internet gateway, ` +
        'so an internet-facing load balancer there would never answer: subnets subnet-1 in us-east-1a (main route table rtb-0main), subnet-2 in us-east-1b (route table rtb-0two)',
    );
    expect((error as EnvironmentError).hint).toMatch(/^give their route tables a route 0\.0\.0\.0\/0 to the VPC's internet gateway .*or pass --vpc-id with a VPC that has public subnets in two Availability Zones$/);
    expect(ctx.state.get('network')).toBeUndefined();
  });

  it('refuses one public zone and names the private one: an explicit association wins over a public main table', async () => {
    const ctx = testContext({ config: { vpcId } });
    ec2.on(DescribeSubnetsCommand).resolves({ Subnets: [subnets[1]!, subnets[3]!] });
    ec2.on(DescribeRouteTablesCommand).resolves({ RouteTables: [PUBLIC_MAIN, routeTable('rtb-0private', [TO_NAT], ['subnet-private-c'])] });

    const error = await networkStep.ensure(ctx).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(EnvironmentError);
    expect((error as EnvironmentError).message).toMatch(/\(found: us-east-1a\).*: subnet subnet-private-c in us-east-1c \(route table rtb-0private\)$/);
  });

  it('does not count a blackhole route to a deleted internet gateway', async () => {
    const ctx = testContext({ config: { vpcId } });
    ec2.on(DescribeSubnetsCommand).resolves({ Subnets: [subnets[1]!, subnets[2]!] });
    ec2.on(DescribeRouteTablesCommand).resolves({
      RouteTables: [PUBLIC_MAIN, routeTable('rtb-0stale', [{ ...TO_IGW, GatewayId: 'igw-0deleted000000000', State: 'blackhole' }], ['subnet-public-b'])],
    });

    await expect(networkStep.ensure(ctx)).rejects.toThrow(/subnet-public-b in us-east-1b \(route table rtb-0stale\)/);
  });

  it('follows the pages of DescribeRouteTables', async () => {
    const ctx = testContext({ config: { vpcId } });
    ec2.on(DescribeSubnetsCommand).resolves({ Subnets: [subnets[1]!, subnets[2]!] });
    ec2
      .on(DescribeRouteTablesCommand)
      .resolvesOnce({ RouteTables: [routeTable('rtb-0other', [], ['subnet-elsewhere'])], NextToken: 'page-2' })
      .resolvesOnce({ RouteTables: [PUBLIC_MAIN] });

    await networkStep.ensure(ctx);

    expect(ec2.commandCalls(DescribeRouteTablesCommand).map((c) => c.args[0].input.NextToken)).toEqual([undefined, 'page-2']);
    expect(ctx.state.get('network')?.details).toEqual({ subnetIds: ['subnet-public-a', 'subnet-public-b'], availabilityZones: ['us-east-1a', 'us-east-1b'] });
  });

  it('passes a permanent DescribeRouteTables error through', async () => {
    const ctx = testContext({ config: { vpcId } });
    ec2.on(DescribeSubnetsCommand).resolves({ Subnets: [subnets[1]!, subnets[2]!] });
    ec2.on(DescribeRouteTablesCommand).rejects(awsError('UnauthorizedOperation'));

    await expect(networkStep.ensure(ctx)).rejects.toThrow('UnauthorizedOperation');
  });
});

describe('network plan', () => {
  const writes = writesOf(ec2);
  const chosen = { subnetIds: ['subnet-a', 'subnet-b', 'subnet-c'], availabilityZones: ['us-east-1a', 'us-east-1b', 'us-east-1c'] };

  it('adopt: a stack that records no network yet takes the default VPC, never creating one', async () => {
    const ctx = testContext();
    ec2.on(DescribeSubnetsCommand).resolves({ Subnets: defaultSubnets });

    expect(await planThenEnsure(networkStep, ctx, writes)).toEqual({
      action: 'adopt',
      resource: `VPC ${vpcId}`,
      detail: 'subnets subnet-a, subnet-b, subnet-c in us-east-1a, us-east-1b, us-east-1c; ecs-ha never creates or deletes networks',
    });
  });

  it('keep: the recorded VPC and the same choice of subnets', async () => {
    const ctx = testContext();
    ctx.state.record('network', { id: vpcId, origin: 'adopted', details: chosen });
    ec2.on(DescribeSubnetsCommand).resolves({ Subnets: defaultSubnets });

    expect((await planThenEnsure(networkStep, ctx, writes)).action).toBe('keep');
  });

  it('update: the choice of subnets changed (up records the new one)', async () => {
    const ctx = testContext();
    ctx.state.record('network', { id: vpcId, origin: 'adopted', details: { subnetIds: ['subnet-a', 'subnet-b'], availabilityZones: ['us-east-1a', 'us-east-1b'] } });
    ec2.on(DescribeSubnetsCommand).resolves({ Subnets: defaultSubnets });

    expect(await planThenEnsure(networkStep, ctx, writes)).toMatchObject({ action: 'update', detail: expect.stringContaining('(was subnets subnet-a, subnet-b in us-east-1a, us-east-1b)') });
  });

  it('no default VPC is exit 3 for a plan too', async () => {
    ec2.on(DescribeSubnetsCommand).resolves({ Subnets: [] });
    ec2.on(DescribeVpcsCommand).resolves({ Vpcs: [] });

    await expect(networkStep.plan!(planContext(testContext()))).rejects.toBeInstanceOf(EnvironmentError);
  });
});
