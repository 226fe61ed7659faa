import { DescribeServicesCommand, DescribeTasksCommand, ListTasksCommand, type Service, type Task } from '@aws-sdk/client-ecs';
import { DescribeTargetHealthCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { GetInstancesHealthStatusCommand, ListInstancesCommand } from '@aws-sdk/client-servicediscovery';
import type { AwsClients } from '../aws/clients.js';
import { resourceNames } from '../config.js';
import { OperationError } from '../errors.js';
import type { StateFile } from '../state/store.js';

/** What `verify` and `chaos` need to find the stack's running parts, read from its state file. */
export interface StackRefs {
  stack: string;
  /** Where the state says the stack lives: what it stops must be there. */
  account: string;
  region: string;
  cluster: string;
  service: string;
  targetGroupArn: string;
  loadBalancerArn: string;
  listenerArn?: string;
  url: string;
  discoveryServiceId?: string;
  namespaceName?: string;
  discoveryServiceName?: string;
}

export function stackRefs(state: StateFile): StackRefs {
  const names = resourceNames(state.stack);
  const get = (key: string) => state.resources[key];
  const service = get('service');
  const targetGroup = get('targetGroup');
  const loadBalancer = get('loadBalancer');
  const dnsName = loadBalancer?.details?.dnsName;
  if (!service || !targetGroup || !loadBalancer || typeof dnsName !== 'string') {
    const missing = ['service', 'targetGroup', 'loadBalancer'].filter((key) => !get(key));
    throw new OperationError(
      `stack "${state.stack}" is not complete: the state file has no ${missing.join(', ') || 'load balancer DNS name'}`,
      `run \`ecs-ha up --stack ${state.stack}\` first`,
    );
  }
  const cluster = service.details?.cluster;
  return {
    stack: state.stack,
    account: state.account,
    region: state.region,
    cluster: typeof cluster === 'string' ? cluster : (get('cluster')?.id ?? names.cluster),
    service: service.id,
    targetGroupArn: targetGroup.id,
    loadBalancerArn: loadBalancer.id,
    ...(get('listener') ? { listenerArn: get('listener')!.id } : {}),
    url: `http://${dnsName}`,
    ...(get('discoveryService') ? { discoveryServiceId: get('discoveryService')!.id } : {}),
    ...(get('namespace') ? { namespaceName: names.namespace } : {}),
    discoveryServiceName: names.discoveryService,
  };
}

export async function describeService(aws: AwsClients, refs: StackRefs): Promise<Service | undefined> {
  const { services = [] } = await aws.ecs.send(new DescribeServicesCommand({ cluster: refs.cluster, services: [refs.service], include: ['TAGS'] }));
  return services.find((s) => s.serviceName === refs.service);
}

/** One task as verify and chaos see it. */
export interface TaskView {
  arn: string;
  id: string;
  lastStatus: string;
  desiredStatus: string;
  az?: string;
  ip?: string;
  startedAt?: Date;
  stoppedAt?: Date;
  stoppedReason?: string;
}

export function taskView(task: Task): TaskView {
  const eni = task.attachments?.find((a) => a.type === 'ElasticNetworkInterface');
  const ip = eni?.details?.find((d) => d.name === 'privateIPv4Address')?.value;
  const arn = task.taskArn ?? '';
  return {
    arn,
    id: arn.split('/').pop() ?? arn,
    lastStatus: task.lastStatus ?? 'UNKNOWN',
    desiredStatus: task.desiredStatus ?? 'UNKNOWN',
    ...(task.availabilityZone ? { az: task.availabilityZone } : {}),
    ...(ip ? { ip } : {}),
    ...(task.startedAt ? { startedAt: task.startedAt } : {}),
    ...(task.stoppedAt ? { stoppedAt: task.stoppedAt } : {}),
    ...(task.stoppedReason ? { stoppedReason: task.stoppedReason } : {}),
  };
}

/**
 * Every task ARN of the service with this desired status, all pages: ListTasks gives at most 100 a
 * page, and a service of 100 tasks rolling out has 200.
 */
export async function listServiceTaskArns(aws: AwsClients, cluster: string, service: string, desiredStatus: 'RUNNING' | 'STOPPED' = 'RUNNING'): Promise<string[]> {
  const arns: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await aws.ecs.send(new ListTasksCommand({ cluster, serviceName: service, desiredStatus, ...(nextToken ? { nextToken } : {}) }));
    arns.push(...(page.taskArns ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return arns;
}

/** The service's tasks that ECS wants running (ListTasks desiredStatus RUNNING), described. */
export async function serviceTasks(aws: AwsClients, refs: StackRefs, desiredStatus: 'RUNNING' | 'STOPPED' = 'RUNNING'): Promise<TaskView[]> {
  return describeTasks(aws, refs, await listServiceTaskArns(aws, refs.cluster, refs.service, desiredStatus));
}

export async function describeTasks(aws: AwsClients, refs: StackRefs, taskArns: string[]): Promise<TaskView[]> {
  const views: TaskView[] = [];
  // DescribeTasks takes at most 100 tasks a call.
  for (let i = 0; i < taskArns.length; i += 100) {
    const { tasks = [] } = await aws.ecs.send(new DescribeTasksCommand({ cluster: refs.cluster, tasks: taskArns.slice(i, i + 100) }));
    views.push(...tasks.map(taskView));
  }
  return views;
}

/**
 * True when the endpoint reports the service wanting tasks but lists none, running or stopped: it
 * runs no containers (plain moto). ECS, and the local data plane, list a service's tasks from its
 * first seconds. Any doubt (the service cannot be read) answers false, so the checks run and say why.
 */
export async function listsNoTasks(aws: AwsClients, refs: StackRefs, known: { running?: TaskView[]; service?: () => Promise<Service | undefined> } = {}): Promise<boolean> {
  try {
    if ((known.running ?? (await serviceTasks(aws, refs))).length > 0) return false;
    const service = await (known.service ?? (() => describeService(aws, refs)))();
    if (!service || (service.desiredCount ?? 0) === 0) return false;
    const { taskArns = [] } = await aws.ecs.send(new ListTasksCommand({ cluster: refs.cluster, serviceName: refs.service, desiredStatus: 'STOPPED', maxResults: 1 }));
    return taskArns.length === 0;
  } catch {
    return false;
  }
}

export interface TargetView {
  ip: string;
  port?: number;
  state: string;
  reason?: string;
  description?: string;
}

export async function targetHealth(aws: AwsClients, refs: StackRefs): Promise<TargetView[]> {
  const { TargetHealthDescriptions = [] } = await aws.elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: refs.targetGroupArn }));
  return TargetHealthDescriptions.map((t) => ({
    ip: t.Target?.Id ?? '',
    ...(t.Target?.Port !== undefined ? { port: t.Target.Port } : {}),
    state: t.TargetHealth?.State ?? 'unknown',
    ...(t.TargetHealth?.Reason ? { reason: t.TargetHealth.Reason } : {}),
    ...(t.TargetHealth?.Description ? { description: t.TargetHealth.Description } : {}),
  }));
}

export interface InstanceView {
  id: string;
  ip?: string;
  az?: string;
  healthStatus?: string;
}

/** The Cloud Map instances ECS registered for the service (what `app.<stack>.local` resolves to in the VPC). */
export async function cloudMapInstances(aws: AwsClients, refs: StackRefs): Promise<InstanceView[]> {
  if (!refs.discoveryServiceId) return [];
  const { Instances = [] } = await aws.serviceDiscovery.send(new ListInstancesCommand({ ServiceId: refs.discoveryServiceId }));
  return Instances.map((i) => ({
    id: i.Id ?? '',
    ...(i.Attributes?.AWS_INSTANCE_IPV4 ? { ip: i.Attributes.AWS_INSTANCE_IPV4 } : {}),
    ...(i.Attributes?.AVAILABILITY_ZONE ? { az: i.Attributes.AVAILABILITY_ZONE } : {}),
    ...(i.Attributes?.AWS_INIT_HEALTH_STATUS ? { healthStatus: i.Attributes.AWS_INIT_HEALTH_STATUS } : {}),
  }));
}

/** Cloud Map's view of each instance's health (HEALTHY / UNHEALTHY / UNKNOWN), as ECS reports it. */
export async function cloudMapHealth(aws: AwsClients, refs: StackRefs): Promise<Record<string, string>> {
  if (!refs.discoveryServiceId) return {};
  const { Status = {} } = await aws.serviceDiscovery.send(new GetInstancesHealthStatusCommand({ ServiceId: refs.discoveryServiceId }));
  return Status;
}
