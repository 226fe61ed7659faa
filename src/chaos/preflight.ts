/**
 * Before anything is stopped: is the service in a state where a chaos test means something, and
 * which tasks are the victims? Refusals say exactly what is wrong; `--force` overrides the ones
 * that only make the test less meaningful, never the ones that make it impossible.
 */
import type { Service } from '@aws-sdk/client-ecs';
import type { AwsClients } from '../aws/clients.js';
import { OperationError, UsageError } from '../errors.js';
import { resourceNames } from '../config.js';
import { arnProblem, judge, lastSegment, nameProblem, tagProblem } from '../engine/ownership.js';
import { hasStackTag } from '../engine/tags.js';
import { describeService, serviceTasks, targetHealth, type StackRefs, type TargetView, type TaskView } from '../inspect/stack.js';
import type { ChaosOptions } from './options.js';
import { sameSubnets, type ZoneDrillRecord } from './zoneDrill.js';

/** For --kill-az: the subnets the service should run in (the stack's), and a drill an earlier run did not finish. */
export interface SubnetExpectation {
  subnets: string[];
  unfinished?: ZoneDrillRecord;
}

export interface Preflight {
  service: Service;
  /** The tasks that can be stopped: RUNNING and wanted running. */
  running: TaskView[];
  victims: TaskView[];
  /** Every task ARN the service had before the stop: anything new afterwards is a replacement. */
  taskArnsBefore: string[];
  targets: TargetView[];
  /** Problems overridden by --force and outage warnings, for the reporter and the report. */
  warnings: string[];
}

const describe = (task: TaskView): string => `${task.id}${task.az ? ` (${task.az})` : ''}`;

function azCounts(tasks: TaskView[]): string {
  const counts = new Map<string, number>();
  for (const task of tasks) counts.set(task.az ?? 'unknown AZ', (counts.get(task.az ?? 'unknown AZ') ?? 0) + 1);
  return [...counts.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([az, n]) => `${az} (${n} task${n === 1 ? '' : 's'})`)
    .join(', ');
}

/** Why the service is not steady, or [] when it is: running = desired, nothing pending, one COMPLETED deployment. */
export function serviceProblems(service: Service): string[] {
  const running = service.runningCount ?? 0;
  const desired = service.desiredCount ?? 0;
  const pending = service.pendingCount ?? 0;
  const deployments = service.deployments ?? [];
  const problems: string[] = [];
  if (running !== desired) problems.push(`${running} of ${desired} desired tasks are running`);
  if (pending > 0) problems.push(`${pending} task${pending === 1 ? ' is' : 's are'} pending`);
  if (deployments.length !== 1) {
    problems.push(`${deployments.length} deployments (${deployments.map((d) => `${d.status ?? '?'} ${d.rolloutState ?? '?'}`).join(', ')}) instead of one COMPLETED`);
  } else if (deployments[0]?.rolloutState !== undefined && deployments[0].rolloutState !== 'COMPLETED') {
    problems.push(`the deployment is ${deployments[0].rolloutState}, not COMPLETED`);
  }
  return problems;
}

function chooseVictims(options: ChaosOptions, tasks: TaskView[], running: TaskView[], pick: (count: number) => number): TaskView[] {
  const { mode } = options;
  if (mode.kind === 'kill-az') {
    const victims = running.filter((t) => t.az === mode.az);
    if (victims.length === 0) {
      throw new UsageError(`invalid --kill-az "${mode.az}": no running task of the service is in that AZ; AZs with running tasks: ${azCounts(running)}`);
    }
    return victims;
  }
  if (mode.task) {
    const ref = mode.task;
    const named = tasks.find((t) => t.id === ref || t.arn === ref);
    if (!named) {
      throw new UsageError(`invalid --task "${ref}": not a running task of the service; running tasks: ${running.map(describe).join(', ')}`);
    }
    if (!running.includes(named)) {
      throw new UsageError(
        `invalid --task "${ref}": that task is already on its way out (lastStatus ${named.lastStatus}, desired ${named.desiredStatus}); running tasks: ${running.map(describe).join(', ')}`,
      );
    }
    return [named];
  }
  const index = Math.min(running.length - 1, Math.max(0, Math.floor(pick(running.length))));
  return [running[index] as TaskView];
}

/**
 * Chaos stops tasks: only those of a service that is provably the stack's (the names the stack
 * gives, the state's account and region, the stack tag), whatever the state file says.
 */
export function ownershipProblem(refs: StackRefs, service: Service): string | undefined {
  const names = resourceNames(refs.stack);
  const verdict = judge(
    nameProblem(lastSegment(refs.service), names.service),
    nameProblem(lastSegment(refs.cluster), names.cluster, 'cluster'),
    arnProblem(service.serviceArn, refs),
    tagProblem(hasStackTag(service.tags, refs.stack), refs.stack),
  );
  return verdict.kind === 'not-ours' ? verdict.reason : undefined;
}

/**
 * Looks at the service, its tasks and targets and picks the victims. Throws OperationError (exit 1)
 * when the service is not ready (unless --force) or has nothing to stop, UsageError (exit 2) when
 * --task or --kill-az names something that is not there.
 */
export async function preflight(aws: AwsClients, refs: StackRefs, options: ChaosOptions, pick: (count: number) => number, expected?: SubnetExpectation): Promise<Preflight> {
  const service = await describeService(aws, refs);
  if (!service) {
    throw new OperationError(`service ${refs.service} was not found in cluster ${refs.cluster}`, `run \`ecs-ha up --stack ${refs.stack}\` first`);
  }
  const notOurs = ownershipProblem(refs, service);
  if (notOurs) {
    throw new OperationError(
      `service ${refs.service} in cluster ${refs.cluster} is not provably stack "${refs.stack}"'s: ${notOurs}; nothing was stopped`,
      'check the state file: it may have been edited or copied from elsewhere',
    );
  }
  if (service.status !== 'ACTIVE') {
    throw new OperationError(`service ${refs.service} is ${service.status ?? 'in an unknown state'}, not ACTIVE: there is nothing to test`, `run \`ecs-ha up --stack ${refs.stack}\``);
  }
  const tasks = await serviceTasks(aws, refs);
  const running = tasks.filter((t) => t.lastStatus === 'RUNNING' && t.desiredStatus === 'RUNNING');
  if (running.length === 0) {
    const states = tasks.map((t) => `${t.id} ${t.lastStatus}`).join(', ');
    throw new OperationError(
      `service ${refs.service} has no running task (desired ${service.desiredCount ?? 0}, running ${service.runningCount ?? 0}, pending ${service.pendingCount ?? 0}${states ? `; tasks: ${states}` : ''}): there is nothing to stop`,
      'wait until `ecs-ha verify` passes, or run `ecs-ha up` again',
    );
  }
  const victims = chooseVictims(options, tasks, running, pick);
  const targets = await targetHealth(aws, refs);

  const problems = serviceProblems(service);
  if (running.length < 2) problems.push('only one task is running: stopping it takes the app down');
  else if (victims.length === running.length) problems.push(`every running task (${running.length}) is in ${victims[0]?.az}: stopping them takes the app down`);
  const unhealthy = targets.filter((t) => t.state !== 'healthy');
  if (targets.length === 0) problems.push('the target group has no registered targets');
  if (unhealthy.length > 0) problems.push(`not every target is healthy: ${unhealthy.map((t) => `${t.ip} ${t.state}`).join(', ')}`);
  const subnets = service.networkConfiguration?.awsvpcConfiguration?.subnets ?? [];
  if (options.mode.kind === 'kill-az' && expected && !sameSubnets(subnets, expected.subnets)) {
    const earlier = expected.unfinished ? ` (a zone drill of ${expected.unfinished.az} started at ${expected.unfinished.startedAt} did not give its subnets back)` : '';
    problems.push(`the service runs in subnets ${subnets.join(', ') || 'none'}, not the stack's ${expected.subnets.join(', ')}${earlier}; \`ecs-ha up\` gives them back`);
  }

  if (problems.length > 0 && !options.force) {
    throw new OperationError(
      `service ${refs.service} is not ready for a chaos test: ${problems.join('; ')}`,
      'wait until `ecs-ha verify` passes (a steady service with at least two healthy tasks), or pass --force to run anyway',
    );
  }
  const warnings = problems.map((p) => `--force: running anyway although ${p}`);
  if (victims.length === running.length) {
    warnings.push(`stopping every running task (${running.length}): a user WILL see an outage until a replacement is running and healthy`);
  }
  return { service, running, victims, taskArnsBefore: tasks.map((t) => t.arn), targets, warnings };
}
