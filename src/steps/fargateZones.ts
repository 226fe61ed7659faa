import { type AvailabilityZone, DescribeAvailabilityZonesCommand, type Subnet } from '@aws-sdk/client-ec2';
import type { ReadContext } from '../engine/plan.js';

/**
 * The Regions where Fargate runs Linux tasks in some Availability Zone IDs only: Region → the zone
 * IDs it runs in. In every other Region it runs in all Availability Zones.
 *
 * Source: Amazon ECS Developer Guide, "Supported Regions for Amazon ECS on AWS Fargate", table
 * "Linux containers on AWS Fargate"
 * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/AWS_Fargate-Regions.html),
 * as read on 2026-11-30. The page names the supported IDs ("`usw1-az1` & `usw1-az3` only"), so
 * they are kept as it gives them: a zone ID of these Regions that is not listed (usw1-az2 and
 * apne1-az3, for example) is one where Fargate does not run. use1-az3, often named in this
 * context, has no restriction for Linux containers on that page (older versions of the page
 * restricted it for Windows containers only).
 */
export const FARGATE_ZONE_IDS: Readonly<Record<string, readonly string[]>> = {
  'us-west-1': ['usw1-az1', 'usw1-az3'],
  'ap-northeast-1': ['apne1-az1', 'apne1-az2', 'apne1-az4'],
  'cn-north-1': ['cnn1-az1', 'cnn1-az2'],
};

/** What DescribeAvailabilityZones says about the zones of some subnets, by zone name. */
export type ZoneFacts = ReadonlyMap<string, AvailabilityZone>;

/**
 * One call for the zones of the given names. `AllAvailabilityZones` so that a Local Zone or
 * Wavelength Zone is described whatever the account's opt-in status; the name filter keeps the
 * answer to the zones asked about (us-east-1 alone has dozens of Local and Wavelength Zones).
 */
export async function describeZones(ctx: ReadContext, zoneNames: string[]): Promise<ZoneFacts> {
  const names = [...new Set(zoneNames)].sort();
  if (names.length === 0) return new Map();
  const { AvailabilityZones = [] } = await ctx.aws.ec2.send(
    new DescribeAvailabilityZonesCommand({ AllAvailabilityZones: true, Filters: [{ Name: 'zone-name', Values: names }] }),
  );
  return new Map(AvailabilityZones.filter((z) => z.ZoneName).map((z) => [z.ZoneName!, z]));
}

/**
 * Why Fargate cannot run tasks in the zone of this subnet, or undefined when it can. A zone the
 * answer leaves out, or fields it leaves out (moto gives no OptInStatus), count as an ordinary
 * available Availability Zone: only what AWS says rules a zone out.
 */
export function whyNoFargate(subnet: Subnet, zones: ZoneFacts, region: string): string | undefined {
  const zone = zones.get(subnet.AvailabilityZone ?? '');
  const type = zone?.ZoneType ?? 'availability-zone';
  if (type === 'local-zone') return 'a Local Zone, and Fargate runs only in Availability Zones';
  if (type === 'wavelength-zone') return 'a Wavelength Zone, and Fargate runs only in Availability Zones';
  if (type !== 'availability-zone') return `a zone of type ${type}, and Fargate runs only in Availability Zones`;
  if (zone?.State && zone.State !== 'available') return `the zone is ${zone.State}`;
  if (zone?.OptInStatus === 'not-opted-in') return 'the account has not opted in to the zone';
  const zoneRegion = zone?.RegionName ?? region;
  const zoneId = zone?.ZoneId ?? subnet.AvailabilityZoneId;
  const supported = FARGATE_ZONE_IDS[zoneRegion];
  if (supported && zoneId && !supported.includes(zoneId)) {
    return `Fargate does not run in zone ID ${zoneId} (in ${zoneRegion} it runs in ${supported.join(', ')} only)`;
  }
  return undefined;
}

export interface SkippedZone {
  zone: string;
  subnetIds: string[];
  reason: string;
}

/** The subnets whose zone Fargate runs in, and the zones left out with the reason, one entry per zone. */
export function subnetsWhereFargateRuns(subnets: Subnet[], zones: ZoneFacts, region: string): { kept: Subnet[]; skipped: SkippedZone[] } {
  const kept: Subnet[] = [];
  const skipped = new Map<string, SkippedZone>();
  for (const subnet of subnets) {
    const reason = whyNoFargate(subnet, zones, region);
    if (!reason) {
      kept.push(subnet);
      continue;
    }
    const zone = subnet.AvailabilityZone ?? '';
    const entry = skipped.get(zone) ?? { zone, subnetIds: [], reason };
    entry.subnetIds.push(subnet.SubnetId ?? '');
    skipped.set(zone, entry);
  }
  const sorted = [...skipped.values()].sort((a, b) => a.zone.localeCompare(b.zone));
  for (const entry of sorted) entry.subnetIds.sort();
  return { kept, skipped: sorted };
}

/** "subnets subnet-1, subnet-2 in us-west-1c: Fargate does not run in zone ID usw1-az2 (…)". */
export function describeSkippedZone(entry: SkippedZone): string {
  return `${entry.subnetIds.length > 1 ? 'subnets' : 'subnet'} ${entry.subnetIds.join(', ')} in ${entry.zone}: ${entry.reason}`;
}
