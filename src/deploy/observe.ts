/**
 * One look at a service being rolled out: its deployments and events (DescribeServices), the tasks
 * it wants running and the ones being followed (ListTasks, DescribeTasks: which revision each runs),
 * and its targets (DescribeTargetHealth). Read calls only.
 */
import { DescribeTasksCommand, type Service } from '@aws-sdk/client-ecs';
import type { AwsClients } from '../aws/clients.js';
import { describeService, listServiceTaskArns, targetHealth, taskView, type StackRefs } from '../inspect/stack.js';
import type { DeploymentView, RolloutObservation, RolloutTaskView } from './timeline.js';

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

/** One look; `follow` names tasks no longer wanted running that are still to be seen STOPPED. */
export async function observeRollout(aws: AwsClients, refs: StackRefs, follow: string[], now: () => number): Promise<RolloutObservation> {
  const [service, wanted, targets] = await Promise.all([describeService(aws, refs), listServiceTaskArns(aws, refs.cluster, refs.service), targetHealth(aws, refs)]);
  const described = await describeRolloutTasks(aws, refs, [...new Set([...wanted, ...follow])]);
  const wantedSet = new Set(wanted);
  return {
    at: now(),
    ...(service ? { service: serviceObservation(service) } : {}),
    wanted: described.filter((t) => wantedSet.has(t.arn)),
    others: described.filter((t) => !wantedSet.has(t.arn)),
    targets,
  };
}
