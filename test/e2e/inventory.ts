import { DescribeLogGroupsCommand, ListTagsForResourceCommand as ListLogTagsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeSecurityGroupsCommand } from '@aws-sdk/client-ec2';
import { DescribeRepositoriesCommand, ListTagsForResourceCommand as ListEcrTagsCommand } from '@aws-sdk/client-ecr';
import { DescribeClustersCommand, DescribeServicesCommand, ListClustersCommand, ListServicesCommand, ListTaskDefinitionsCommand } from '@aws-sdk/client-ecs';
import {
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeTagsCommand,
  DescribeTargetGroupsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { ListRoleTagsCommand, ListRolesCommand } from '@aws-sdk/client-iam';
import { ListNamespacesCommand, ListServicesCommand as ListDiscoveryServicesCommand, ListTagsForResourceCommand as ListCloudMapTagsCommand } from '@aws-sdk/client-servicediscovery';
import { AwsClients } from '../../src/aws/clients.js';

const TAG = 'ecs-ha:stack';

/** Every resource of one stack found in the emulator, by kind; each entry says whether it carries the stack tag. */
export interface Inventory {
  repositories: Array<{ id: string; tagged: boolean }>;
  clusters: Array<{ id: string; tagged: boolean }>;
  services: Array<{ id: string }>;
  taskDefinitions: Array<{ id: string }>;
  roles: Array<{ id: string; tagged: boolean }>;
  logGroups: Array<{ id: string; tagged: boolean }>;
  securityGroups: Array<{ id: string; name: string }>;
  loadBalancers: Array<{ id: string; tagged: boolean }>;
  targetGroups: Array<{ id: string; tagged: boolean }>;
  listeners: Array<{ id: string }>;
  namespaces: Array<{ id: string; tagged: boolean }>;
  discoveryServices: Array<{ id: string; tagged: boolean }>;
}

export function emulatorClients(endpoint: string): AwsClients {
  return new AwsClients({ region: 'us-east-1', endpointUrl: endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' }, maxAttempts: 1 });
}

const hasTag = (tags: Array<{ Key?: string; Value?: string; key?: string; value?: string }> | undefined, stack: string) =>
  (tags ?? []).some((t) => (t.Key ?? t.key) === TAG && (t.Value ?? t.value) === stack);

/** Looks the stack's resources up by their names (derived from the stack) and by tag. */
export async function inventory(aws: AwsClients, stack: string): Promise<Inventory> {
  const { repositories = [] } = await aws.ecr.send(new DescribeRepositoriesCommand({}));
  const repos = await Promise.all(
    repositories
      .filter((r) => r.repositoryName === stack)
      .map(async (r) => {
        const { tags } = await aws.ecr.send(new ListEcrTagsCommand({ resourceArn: r.repositoryArn }));
        return { id: r.repositoryName!, tagged: hasTag(tags, stack) };
      }),
  );

  const { clusterArns = [] } = await aws.ecs.send(new ListClustersCommand({}));
  const { clusters = [] } = clusterArns.length
    ? await aws.ecs.send(new DescribeClustersCommand({ clusters: clusterArns, include: ['TAGS'] }))
    : { clusters: [] };
  const ours = clusters.filter((c) => c.clusterName === stack && c.status === 'ACTIVE');
  const serviceArns = ours.length ? ((await aws.ecs.send(new ListServicesCommand({ cluster: stack }))).serviceArns ?? []) : [];
  // The emulator keeps deleted services listed as INACTIVE.
  const { services: described = [] } = serviceArns.length
    ? await aws.ecs.send(new DescribeServicesCommand({ cluster: stack, services: serviceArns }))
    : { services: [] };
  const services = described.filter((s) => s.status !== 'INACTIVE').map((s) => s.serviceArn!);
  const { taskDefinitionArns = [] } = await aws.ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: stack, status: 'ACTIVE' }));

  const { Roles = [] } = await aws.iam.send(new ListRolesCommand({}));
  const roles = await Promise.all(
    Roles.filter((r) => r.RoleName?.startsWith(`${stack}-`)).map(async (r) => {
      const { Tags } = await aws.iam.send(new ListRoleTagsCommand({ RoleName: r.RoleName }));
      return { id: r.RoleName!, tagged: hasTag(Tags, stack) };
    }),
  );

  const { logGroups = [] } = await aws.logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: `/ecs/${stack}` }));
  const groups = await Promise.all(
    logGroups
      .filter((g) => g.logGroupName === `/ecs/${stack}`)
      .map(async (g) => {
        const { tags = {} } = await aws.logs.send(new ListLogTagsCommand({ resourceArn: g.arn!.replace(/:\*$/, '') }));
        return { id: g.logGroupName!, tagged: tags[TAG] === stack };
      }),
  );

  const { SecurityGroups = [] } = await aws.ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-name', Values: [`${stack}-alb`, `${stack}-tasks`] }] }));

  const { LoadBalancers = [] } = await aws.elbv2.send(new DescribeLoadBalancersCommand({}));
  const lbs = LoadBalancers.filter((lb) => lb.LoadBalancerName === `${stack}-alb`);
  const { TargetGroups = [] } = await aws.elbv2.send(new DescribeTargetGroupsCommand({}));
  const tgs = TargetGroups.filter((tg) => tg.TargetGroupName === `${stack}-tg`);
  const elbArns = [...lbs.map((l) => l.LoadBalancerArn!), ...tgs.map((t) => t.TargetGroupArn!)];
  const { TagDescriptions = [] } = elbArns.length ? await aws.elbv2.send(new DescribeTagsCommand({ ResourceArns: elbArns })) : { TagDescriptions: [] };
  const elbTagged = (arn: string) => hasTag(TagDescriptions.find((d) => d.ResourceArn === arn)?.Tags, stack);
  const listeners = (
    await Promise.all(lbs.map(async (lb) => (await aws.elbv2.send(new DescribeListenersCommand({ LoadBalancerArn: lb.LoadBalancerArn }))).Listeners ?? []))
  ).flat();

  const { Namespaces = [] } = await aws.serviceDiscovery.send(new ListNamespacesCommand({}));
  const namespaces = await Promise.all(
    Namespaces.filter((n) => n.Name === `${stack}.local`).map(async (n) => {
      const { Tags } = await aws.serviceDiscovery.send(new ListCloudMapTagsCommand({ ResourceARN: n.Arn }));
      return { id: n.Id!, tagged: hasTag(Tags, stack) };
    }),
  );
  const discoveryServices = (
    await Promise.all(
      namespaces.map(async (n) => {
        const { Services = [] } = await aws.serviceDiscovery.send(
          new ListDiscoveryServicesCommand({ Filters: [{ Name: 'NAMESPACE_ID', Values: [n.id], Condition: 'EQ' }] }),
        );
        return Promise.all(
          Services.map(async (s) => {
            const { Tags } = await aws.serviceDiscovery.send(new ListCloudMapTagsCommand({ ResourceARN: s.Arn }));
            return { id: s.Id!, tagged: hasTag(Tags, stack) };
          }),
        );
      }),
    )
  ).flat();

  return {
    repositories: repos,
    clusters: ours.map((c) => ({ id: c.clusterName!, tagged: hasTag(c.tags, stack) })),
    services: services.map((id) => ({ id })),
    taskDefinitions: taskDefinitionArns.filter((arn) => arn.includes(`:task-definition/${stack}:`)).map((id) => ({ id })),
    roles,
    logGroups: groups,
    securityGroups: SecurityGroups.map((g) => ({ id: g.GroupId!, name: g.GroupName! })),
    loadBalancers: lbs.map((lb) => ({ id: lb.LoadBalancerArn!, tagged: elbTagged(lb.LoadBalancerArn!) })),
    targetGroups: tgs.map((tg) => ({ id: tg.TargetGroupArn!, tagged: elbTagged(tg.TargetGroupArn!) })),
    listeners: listeners.map((l) => ({ id: l.ListenerArn! })),
    namespaces,
    discoveryServices,
  };
}

/** How many of each kind there are: the shape tests compare against. */
export function counts(inv: Inventory): Record<keyof Inventory, number> {
  return Object.fromEntries(Object.entries(inv).map(([kind, items]) => [kind, (items as unknown[]).length])) as Record<keyof Inventory, number>;
}

/** A complete stack built with `--image`: no ECR repository (none is needed), everything else once. */
export const ONE_OF_EACH: Record<keyof Inventory, number> = {
  repositories: 0,
  clusters: 1,
  services: 1,
  taskDefinitions: 1,
  roles: 1,
  logGroups: 1,
  securityGroups: 2,
  loadBalancers: 1,
  targetGroups: 1,
  listeners: 1,
  namespaces: 1,
  discoveryServices: 1,
};
export const NONE = Object.fromEntries(Object.keys(ONE_OF_EACH).map((k) => [k, 0])) as Record<keyof Inventory, number>;
