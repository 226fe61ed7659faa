import { DescribeRouteTablesCommand, type RouteTable, type Subnet } from '@aws-sdk/client-ec2';
import type { ReadContext } from '../engine/plan.js';

/** Every route table of the VPC, following pages if AWS gives them. */
export async function routeTablesOf(ctx: ReadContext, vpcId: string): Promise<RouteTable[]> {
  const tables: RouteTable[] = [];
  let NextToken: string | undefined;
  do {
    const page = await ctx.aws.ec2.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }], NextToken }));
    tables.push(...(page.RouteTables ?? []));
    NextToken = page.NextToken;
  } while (NextToken);
  return tables;
}

export interface SubnetRoute {
  /** The route table that applies to the subnet; undefined if the VPC shows none. */
  routeTableId?: string;
  /** True when the subnet has no table of its own and follows the VPC's main route table. */
  main: boolean;
  /** True when the table sends 0.0.0.0/0 to an internet gateway (an active route). */
  toInternetGateway: boolean;
}

function associated(state: string | undefined): boolean {
  return state === undefined || state === 'associated';
}

/**
 * The route table a subnet uses, as VPC routing decides it: the table explicitly associated with
 * the subnet, else the VPC's main route table.
 */
export function routeOfSubnet(subnetId: string, tables: RouteTable[]): SubnetRoute {
  const explicit = tables.find((t) => t.Associations?.some((a) => a.SubnetId === subnetId && associated(a.AssociationState?.State)));
  const table = explicit ?? tables.find((t) => t.Associations?.some((a) => a.Main === true && associated(a.AssociationState?.State)));
  const toInternetGateway =
    table?.Routes?.some((r) => r.DestinationCidrBlock === '0.0.0.0/0' && (r.GatewayId ?? '').startsWith('igw-') && r.State !== 'blackhole') ?? false;
  return { ...(table?.RouteTableId ? { routeTableId: table.RouteTableId } : {}), main: !explicit, toInternetGateway };
}

/** "subnet-1 in us-east-1b (main route table rtb-1)". */
export function describeRoute(subnet: Subnet, route: SubnetRoute): string {
  const table = route.routeTableId ? `${route.main ? 'main route table' : 'route table'} ${route.routeTableId}` : 'no route table';
  return `${subnet.SubnetId} in ${subnet.AvailabilityZone} (${table})`;
}
