/**
 * One look at a service being rolled out: its deployments and events (DescribeServices), the tasks
 * it wants running and the ones being followed (ListTasks, DescribeTasks: which revision each runs),
 * and its targets (DescribeTargetHealth). When the service deploys with a native strategy
 * (BLUE_GREEN, LINEAR, CANARY), also its service deployments (ListServiceDeployments,
 * DescribeServiceDeployments: status, lifecycle stage, traffic, rollback) and the targets of its
 * other target group. Read calls only.
 */
import {
  DescribeServiceDeploymentsCommand,
  DescribeTasksCommand,
  ListServiceDeploymentsCommand,
  type Service,
  type ServiceDeployment,
  type ServiceDeploymentStatus,
} from '@aws-sdk/client-ecs';
import type { AwsClients } from '../aws/clients.js';
import { describeService, listServiceTaskArns, targetHealth, taskView, type StackRefs } from '../inspect/stack.js';
import type { DeploymentView, RolloutObservation, RolloutTaskView, ServiceDeploymentView } from './timeline.js';

async function describeRolloutTasks(aws: AwsClients, refs: StackRefs, arns: string[]): Promise<RolloutTaskView[]> {
  const views: RolloutTaskView[] = [];
  // DescribeTasks takes at most 100 tasks a call.
  for (let i = 0; i < arns.length; i += 100) {
    const { tasks = [] } = await aws.ecs.send(new DescribeTasksCommand({ cluster: refs.cluster, tasks: arns.slice(i, i + 100) }));
    views.push(...tasks.map((task) => ({ ...taskView(task), ...(task.taskDefinitionArn ? { taskDefinitionArn: task.taskDefinitionArn } : {}) })));
  }
  return views;
}

export function serviceObservation(service: Service): NonNullable<RolloutObservation['service']> {
  const deployments: DeploymentView[] = (service.deployments ?? []).map((d) => ({
    id: d.id ?? '',
    status: d.status ?? '',
    taskDefinition: d.taskDefinition ?? '',
    ...(d.rolloutState ? { rolloutState: d.rolloutState } : {}),
    ...(d.rolloutStateReason ? { rolloutStateReason: d.rolloutStateReason } : {}),
    desiredCount: d.desiredCount ?? 0,
    runningCount: d.runningCount ?? 0,
    pendingCount: d.pendingCount ?? 0,
  }));
  return {
    desiredCount: service.desiredCount ?? 0,
    runningCount: service.runningCount ?? 0,
    pendingCount: service.pendingCount ?? 0,
    ...(service.taskDefinition ? { taskDefinition: service.taskDefinition } : {}),
    deployments,
    events: (service.events ?? []).map((e) => ({ id: e.id ?? `${String(e.createdAt)} ${e.message}`, at: e.createdAt?.getTime() ?? 0, message: e.message ?? '' })),
    rollbackOnFailure: service.deploymentConfiguration?.deploymentCircuitBreaker?.rollback === true,
  };
}

/** The strategies whose deployments ECS runs as service deployments with lifecycle stages. */
const NATIVE_STRATEGIES = new Set(['BLUE_GREEN', 'LINEAR', 'CANARY']);
/** The statuses of a service deployment still under way: after the update, ours is among them. */
export const IN_FLIGHT_STATUSES: ServiceDeploymentStatus[] = ['PENDING', 'IN_PROGRESS', 'STOP_REQUESTED', 'ROLLBACK_REQUESTED', 'ROLLBACK_IN_PROGRESS'];
/** DescribeServiceDeployments takes at most 20 ARNs a call. */
const DESCRIBE_AT_MOST = 20;

export function deploysNatively(service: Service | undefined): boolean {
  return NATIVE_STRATEGIES.has(service?.deploymentConfiguration?.strategy ?? 'ROLLING');
}

export function serviceDeploymentView(d: ServiceDeployment): ServiceDeploymentView {
  const rollback = d.rollback ? { ...(d.rollback.reason ? { reason: d.rollback.reason } : {}), ...(d.rollback.serviceRevisionArn ? { serviceRevisionArn: d.rollback.serviceRevisionArn } : {}) } : undefined;
  const weight = d.targetServiceRevision?.requestedProductionTrafficWeight;
  return {
    arn: d.serviceDeploymentArn ?? '',
    status: d.status ?? '',
    ...(d.statusReason ? { statusReason: d.statusReason } : {}),
    ...(d.lifecycleStage ? { lifecycleStage: d.lifecycleStage } : {}),
    ...(d.createdAt ? { createdAt: d.createdAt.getTime() } : {}),
    ...(weight !== undefined ? { productionTrafficWeight: weight } : {}),
    ...(rollback ? { rollback } : {}),
  };
}

/**
 * The service deployments in flight (ListServiceDeployments with a status filter) and the service's
 * current one (DescribeServices names it, and keeps naming it once it ended), described.
 */
export async function readServiceDeployments(aws: AwsClients, refs: StackRefs, current: string | undefined): Promise<ServiceDeploymentView[]> {
  const { serviceDeployments = [] } = await aws.ecs.send(new ListServiceDeploymentsCommand({ cluster: refs.cluster, service: refs.service, status: IN_FLIGHT_STATUSES }));
  const arns = [...new Set([...(current ? [current] : []), ...serviceDeployments.map((d) => d.serviceDeploymentArn ?? '').filter((arn) => arn !== '')])].slice(0, DESCRIBE_AT_MOST);
  if (arns.length === 0) return [];
  const described = await aws.ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: arns }));
  return (described.serviceDeployments ?? []).map(serviceDeploymentView);
}

/** The target groups of the service's load balancer entry other than the stack's first one: the alternate one. */
function otherTargetGroups(service: Service, refs: StackRefs): string[] {
  const entry = service.loadBalancers?.[0];
  const arns = [entry?.targetGroupArn, entry?.advancedConfiguration?.alternateTargetGroupArn].filter((arn): arn is string => arn !== undefined && arn !== refs.targetGroupArn);
  return [...new Set(arns)];
}

async function nativeReads(aws: AwsClients, refs: StackRefs, service: Service): Promise<Pick<RolloutObservation, 'serviceDeployments' | 'alternateTargets'>> {
  const [serviceDeployments, alternate] = await Promise.all([
    readServiceDeployments(aws, refs, service.currentServiceDeployment),
    Promise.all(otherTargetGroups(service, refs).map((targetGroupArn) => targetHealth(aws, { ...refs, targetGroupArn }))),
  ]);
  return { serviceDeployments, alternateTargets: alternate.flat() };
}

/** One look; `follow` names tasks no longer wanted running that are still to be seen STOPPED. */
export async function observeRollout(aws: AwsClients, refs: StackRefs, follow: string[], now: () => number): Promise<RolloutObservation> {
  const [service, wanted, targets] = await Promise.all([describeService(aws, refs), listServiceTaskArns(aws, refs.cluster, refs.service), targetHealth(aws, refs)]);
  const [described, native] = await Promise.all([describeRolloutTasks(aws, refs, [...new Set([...wanted, ...follow])]), service && deploysNatively(service) ? nativeReads(aws, refs, service) : undefined]);
  const wantedSet = new Set(wanted);
  return {
    at: now(),
    ...(service ? { service: serviceObservation(service) } : {}),
    wanted: described.filter((t) => wantedSet.has(t.arn)),
    others: described.filter((t) => !wantedSet.has(t.arn)),
    targets,
    ...native,
  };
}
