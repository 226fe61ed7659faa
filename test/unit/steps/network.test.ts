import { DescribeSubnetsCommand, DescribeVpcsCommand, EC2Client, type Subnet } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { EnvironmentError, UsageError } from '../../../src/errors.js';
import { MAX_AVAILABILITY_ZONES, networkStep } from '../../../src/steps/network.js';
import { awsError, testContext } from '../../helpers/context.js';

const ec2 = mockClient(EC2Client);
const vpcId = 'vpc-0aaaaaaaaaaaaaaaa';

function subnet(id: string, zone: string, extra: Partial<Subnet> = {}): Subnet {
  return { SubnetId: id, AvailabilityZone: zone, VpcId: vpcId, MapPublicIpOnLaunch: true, State: 'available', DefaultForAz: true, ...extra };
}

/** The default VPC as moto shows it in us-east-1: one public default subnet in each of six AZs. */
const defaultSubnets = ['a', 'b', 'c', 'd', 'e', 'f'].map((z) => subnet(`subnet-${z}`, `us-east-1${z}`));

beforeEach(() => ec2.reset());

describe('network step', () => {
  it('finds the default VPC through its default subnets in one call and takes one per AZ, at most three', async () => {
    const ctx = testContext();
    // Shuffled, as AWS may return them.
    ec2.on(DescribeSubnetsCommand).resolves({ Subnets: [defaultSubnets[2]!, ...defaultSubnets.slice(3), defaultSubnets[1]!, defaultSubnets[0]!] });

    expect(await networkStep.ensure(ctx)).toContain(vpcId);

    expect(ec2.commandCalls(DescribeSubnetsCommand).map((c) => c.args[0].input)).toEqual([{ Filters: [{ Name: 'default-for-az', Values: ['true'] }] }]);
    expect(ec2.commandCalls(DescribeVpcsCommand)).toHaveLength(0);
    expect(MAX_AVAILABILITY_ZONES).toBe(3);
    expect(ctx.state.get('network')).toEqual({
      id: vpcId,
      origin: 'adopted',
      details: { subnetIds: ['subnet-a', 'subnet-b', 'subnet-c'], availabilityZones: ['us-east-1a', 'us-east-1b', 'us-east-1c'] },
    });
  });

  it('prefers the default-for-AZ subnet when an AZ has two public ones, and a public subnet over a private one', async () => {
    const ctx = testContext({ config: { vpcId } });
    ec2.on(DescribeSubnetsCommand).resolves({
      Subnets: [
        subnet('subnet-0extra', 'us-east-1a', { DefaultForAz: false }),
        subnet('subnet-zdefault', 'us-east-1a'),
        subnet('subnet-0private', 'us-east-1b', { MapPublicIpOnLaunch: false, DefaultForAz: false }),
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

  it('falls back to subnets without public IP mapping, with a notice, when the public ones cover fewer than two AZs', async () => {
    const ctx = testContext({ config: { vpcId } });
    ec2.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: vpcId }] });
    ec2.on(DescribeSubnetsCommand).resolves({
      Subnets: [subnet('subnet-b', 'us-east-1b', { MapPublicIpOnLaunch: false }), subnet('subnet-a', 'us-east-1a', { MapPublicIpOnLaunch: false })],
    });

    await networkStep.ensure(ctx);

    expect(ctx.state.get('network')?.details).toEqual({ subnetIds: ['subnet-a', 'subnet-b'], availabilityZones: ['us-east-1a', 'us-east-1b'] });
    expect(ctx.notices.join('\n')).toContain('route to ECR');
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
