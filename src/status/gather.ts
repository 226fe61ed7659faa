/**
 * What `ecs-ha status` shows, read from AWS with read calls only, all at once: each part of the
 * screen is one chain of reads, so the wall time is that of the longest chain, not of their sum.
 * A part that cannot be read is shown as unavailable (with AWS's reason); the others still are.
 */
import { DescribeTaskDefinitionCommand, type Deployment, type Service } from '@aws-sdk/client-ecs';
import type { AwsClients } from '../aws/clients.js';
import { awsErrorCode, awsErrorMessage } from '../aws/errors.js';
import type { Architecture } from '../config.js';
import { estimateCost, type CostEstimate } from '../cost/estimate.js';
import {
  cloudMapHealth,
  cloudMapInstances,
  describeService,
  serviceTasks,
  targetHealth,
  type InstanceView,
  type StackRefs,
  type TargetView,
  type TaskView,
} from '../inspect/stack.js';
import type { StateFile } from '../state/store.js';
import { readAutoScaling, type AutoScalingView } from './autoScaling.js';

/** How many of the service's events the screen shows (ECS keeps the newest 100). */
export const EVENTS_SHOWN = 5;

export interface DeploymentStatus {
  id: string;
  status: string;
  rolloutState?: string;
  rolloutStateReason?: string;
  /** family:revision */
  taskDefinition?: string;
  desired: number;
  running: number;
  pending: number;
  failedTasks: number;
  updatedAt?: string;
}

export interface ServiceStatus {
  name: string;
  cluster: string;
  status: string;
  desired: number;
  running: number;
  pending: number;
  /** ROLLING, BLUE_GREEN, LINEAR, CANARY (ECS deployment controller), or the controller (CODE_DEPLOY, EXTERNAL). */
  strategy: string;
  taskDefinition?: string;
  deployments: DeploymentStatus[];
}

/** A task with the health its load balancer target reports ("healthy", "initial" …, or "no target"). */
export interface TaskStatus {
  id: string;
  lastStatus: string;
  desiredStatus: string;
  ip?: string;
  health: string;
  startedAt?: string;
}

export interface ZoneTasks {
  zone: string;
  tasks: TaskStatus[];
  healthy: number;
}

export interface CloudMapStatus {
  name: string;
  instances: Array<InstanceView & { health?: string }>;
}

export interface CostStatus extends Pick<CostEstimate, 'perHour' | 'perMonth' | 'basis'> {
  /** Always true: a price-table estimate, never a bill. */
  estimate: true;
  /** What the estimate assumed: the desired count and task size. */
  tasks: number;
  cpu: number;
  memory: number;
  arch: Architecture;
}

export interface StackStatus {
  stack: string;
  region: string;
  account: string;
  observedAt: string;
  url: string;
  /** Each part is null when it could not be read; `unavailable` then says why. */
  service: ServiceStatus | null;
  tasks: { total: number; zones: ZoneTasks[] } | null;
  targets: TargetView[] | null;
  cloudMap: CloudMapStatus | null;
  autoScaling: AutoScalingView | null;
  events: Array<{ at?: string; message: string }> | null;
  cost: CostStatus | null;
  unavailable: Array<{ part: string; reason: string }>;
}

const familyRevision = (arn: string | undefined): string | undefined => arn?.split('/').pop();

export function deploymentStrategy(service: Service): string {
  const controller = service.deploymentController?.type;
  if (controller && controller !== 'ECS') return controller;
  return service.deploymentConfiguration?.strategy ?? 'ROLLING';
}

function deploymentStatus(deployment: Deployment): DeploymentStatus {
  const taskDefinition = familyRevision(deployment.taskDefinition);
  return {
    id: deployment.id ?? '',
    status: deployment.status ?? 'UNKNOWN',
    ...(deployment.rolloutState ? { rolloutState: deployment.rolloutState } : {}),
    ...(deployment.rolloutStateReason ? { rolloutStateReason: deployment.rolloutStateReason } : {}),
    ...(taskDefinition ? { taskDefinition } : {}),
    desired: deployment.desiredCount ?? 0,
    running: deployment.runningCount ?? 0,
    pending: deployment.pendingCount ?? 0,
    failedTasks: deployment.failedTasks ?? 0,
    ...(deployment.updatedAt ? { updatedAt: deployment.updatedAt.toISOString() } : {}),
  };
}

export function serviceStatus(service: Service, cluster: string): ServiceStatus {
  const taskDefinition = familyRevision(service.taskDefinition);
  return {
    name: service.serviceName ?? '',
    cluster,
    status: service.status ?? 'UNKNOWN',
    desired: service.desiredCount ?? 0,
    running: service.runningCount ?? 0,
    pending: service.pendingCount ?? 0,
    strategy: deploymentStrategy(service),
    ...(taskDefinition ? { taskDefinition } : {}),
    deployments: (service.deployments ?? []).map(deploymentStatus),
  };
}

/**
 * The tasks grouped by Availability Zone, every zone of the stack's subnets listed (an empty one
 * is what a user of `status` wants to see), zones in name order.
 */
export function tasksByZone(tasks: TaskView[], targets: TargetView[] | undefined, stackZones: string[] = []): ZoneTasks[] {
  const zones = new Map<string, TaskStatus[]>(stackZones.map((zone) => [zone, []]));
  for (const task of tasks) {
    const target = targets?.find((t) => t.ip === task.ip);
    const health = targets === undefined ? 'unknown' : (target?.state ?? 'no target');
    const status: TaskStatus = {
      id: task.id,
      lastStatus: task.lastStatus,
      desiredStatus: task.desiredStatus,
      ...(task.ip ? { ip: task.ip } : {}),
      health,
      ...(task.startedAt ? { startedAt: task.startedAt.toISOString() } : {}),
    };
    const zone = task.az ?? 'unknown AZ';
    zones.set(zone, [...(zones.get(zone) ?? []), status]);
  }
  return [...zones.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([zone, list]) => ({ zone, tasks: list, healthy: list.filter((t) => t.health === 'healthy').length }));
}

/** A read's result, or why it failed, so one failed part does not hide the others. */
type Outcome<T> = { ok: true; value: T } | { ok: false; reason: string };

function settle<T>(read: Promise<T>): Promise<Outcome<T>> {
  return read.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, reason: `${awsErrorCode(error) || 'Error'}: ${awsErrorMessage(error)}` }),
  );
}

function architectureOf(cpuArchitecture: string | undefined): Architecture {
  return cpuArchitecture === 'ARM64' ? 'arm64' : 'x86_64';
}

function stackZones(state: StateFile): string[] {
  const zones = state.resources.network?.details?.availabilityZones;
  return Array.isArray(zones) ? zones.filter((z): z is string => typeof z === 'string') : [];
}

export interface GatherOptions {
  /** Why Application Auto Scaling's activities are not read (an emulator that lacks them); read when undefined. */
  skipActivitiesBecause?: string;
  now: () => number;
}

export async function gatherStatus(aws: AwsClients, refs: StackRefs, state: StateFile, options: GatherOptions): Promise<StackStatus> {
  const observedAt = new Date(options.now()).toISOString();
  const serviceRead = describeService(aws, refs);
  // The task size comes from the task definition the service runs now.
  // A failed service read is reported once, as the service's.
  const taskDefinitionRead = serviceRead.catch(() => undefined).then(async (service) => {
    if (!service?.taskDefinition) return undefined;
    const { taskDefinition } = await aws.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: service.taskDefinition }));
    return taskDefinition;
  });
  const [service, tasks, targets, instances, instanceHealth, autoScaling, taskDefinition] = await Promise.all([
    settle(serviceRead),
    settle(serviceTasks(aws, refs)),
    settle(targetHealth(aws, refs)),
    settle(cloudMapInstances(aws, refs)),
    settle(cloudMapHealth(aws, refs)),
    settle(readAutoScaling(aws, refs, options.skipActivitiesBecause ? { skipActivitiesBecause: options.skipActivitiesBecause } : {})),
    settle(taskDefinitionRead),
  ]);

  const unavailable: StackStatus['unavailable'] = [];
  const valueOf = <T>(part: string, outcome: Outcome<T>): T | null => {
    if (outcome.ok) return outcome.value;
    unavailable.push({ part, reason: outcome.reason });
    return null;
  };
  const liveService = valueOf('service', service);
  if (service.ok && !liveService) unavailable.push({ part: 'service', reason: `service ${refs.service} not found in cluster ${refs.cluster}` });
  const targetViews = valueOf('targets', targets);
  const taskViews = valueOf('tasks', tasks);
  const instanceViews = valueOf('cloud map', instances);
  const health = valueOf('cloud map health', instanceHealth);
  const definition = valueOf('task definition', taskDefinition);

  let cost: CostStatus | null = null;
  if (liveService && definition?.cpu && definition.memory) {
    const size = { count: liveService.desiredCount ?? 0, cpu: Number(definition.cpu), memory: Number(definition.memory), arch: architectureOf(definition.runtimePlatform?.cpuArchitecture) };
    const zones = stackZones(state).length || 2;
    const { perHour, perMonth, basis } = estimateCost({ ...size, zones, region: state.region });
    cost = { estimate: true, perHour, perMonth, basis, tasks: size.count, cpu: size.cpu, memory: size.memory, arch: size.arch };
  }

  return {
    stack: refs.stack,
    region: state.region,
    account: state.account,
    observedAt,
    url: refs.url,
    service: liveService ? serviceStatus(liveService, refs.cluster) : null,
    tasks: taskViews ? { total: taskViews.length, zones: tasksByZone(taskViews, targetViews ?? undefined, stackZones(state)) } : null,
    targets: targetViews,
    cloudMap: instanceViews
      ? { name: `${refs.discoveryServiceName ?? 'app'}.${refs.namespaceName ?? `${refs.stack}.local`}`, instances: instanceViews.map((i) => ({ ...i, ...(health?.[i.id] ? { health: health[i.id] } : {}) })) }
      : null,
    autoScaling: valueOf('autoscaling', autoScaling),
    events: liveService
      ? (liveService.events ?? []).slice(0, EVENTS_SHOWN).map((e) => ({ ...(e.createdAt ? { at: e.createdAt.toISOString() } : {}), message: e.message ?? '' }))
      : null,
    cost,
    unavailable,
  };
}
