/**
 * The named checks of `ecs-ha verify` that read AWS. Each says OK, FAIL or SKIP with the evidence it
 * saw (counts, IDs, AZs, IPs), so that a PASS is only ever claimed for what was looked at.
 */
import type { ScalableTarget, ScalingPolicy } from '@aws-sdk/client-application-auto-scaling';
import type { Action } from '@aws-sdk/client-elastic-load-balancing-v2';
import { awsErrorCode, awsErrorMessage, failedOperation } from '../aws/errors.js';
import { InterruptedError } from '../errors.js';
import type { StackRefs, TaskView } from '../inspect/stack.js';
import type { ResourceRecord } from '../state/store.js';
import { describeTracking, recordedAutoScaling, trackingOf } from '../steps/autoScaling.js';
import { runningTasks, type Observations } from './observations.js';

export type CheckStatus = 'OK' | 'FAIL' | 'SKIP';

export interface CheckResult {
  name: string;
  status: CheckStatus;
  /** What was seen, concretely: counts, task IDs, AZs, IPs; for SKIP, why it was not checked. */
  evidence: string;
  details?: Record<string, unknown>;
}

/** A check's result before it is named. */
export type CheckOutcome = Omit<CheckResult, 'name'>;

export const ok = (evidence: string, details?: Record<string, unknown>): CheckOutcome => ({ status: 'OK', evidence, ...(details ? { details } : {}) });
export const fail = (evidence: string, details?: Record<string, unknown>): CheckOutcome => ({ status: 'FAIL', evidence, ...(details ? { details } : {}) });
export const skip = (evidence: string): CheckOutcome => ({ status: 'SKIP', evidence });
export const verdict = (passed: boolean, evidence: string, details?: Record<string, unknown>): CheckOutcome =>
  passed ? ok(evidence, details) : fail(evidence, details);

/** Runs one check; an error (an AWS call that failed) makes that check FAIL with the error as its evidence. */
export async function runCheck(name: string, body: () => Promise<CheckOutcome>): Promise<CheckResult> {
  try {
    return { name, ...(await body()) };
  } catch (error) {
    if (error instanceof InterruptedError) throw error; // Ctrl-C ends the run, it is not a failed check
    const operation = failedOperation(error);
    const code = awsErrorCode(error);
    const message = awsErrorMessage(error);
    return { name, status: 'FAIL', evidence: `${operation ? `${operation} failed: ` : ''}${code && !message.startsWith(code) ? `${code}: ` : ''}${message}` };
  }
}

/** The autoscaling the state records, and a read of what Application Auto Scaling has for it. */
export interface AutoScalingExpectation {
  record: ResourceRecord;
  policyName: string;
  observe(): Promise<{ target: ScalableTarget | undefined; policy: ScalingPolicy | undefined }>;
}

export interface CheckContext {
  refs: StackRefs;
  observed: Observations;
  /** Absent when the state records no autoscaling: it is off for this stack. */
  autoScaling?: AutoScalingExpectation;
  /** Set when the endpoint lists no task for the service (an emulator that runs nothing): the checks that need running containers are SKIP, never OK. */
  emulatorEndpoint?: string;
}

export function emulatorReason(endpoint: string): string {
  return `the endpoint ${endpoint} lists no task for the service: it runs no containers`;
}

/** The service's desired count, or undefined when it cannot be read (the service checks report why). */
export async function desiredCount(ctx: CheckContext): Promise<number | undefined> {
  return ctx.observed.service().then(
    (s) => s?.desiredCount,
    () => undefined,
  );
}

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const list = (items: string[]): string => [...items].sort(byText).join(', ');
const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;
/** The last part of an ARN: enough to tell resources apart in a line of evidence. */
const lastPart = (arn: string): string => arn.split('/').pop() ?? arn;
const targetGroupName = (arn: string): string => /:targetgroup\/([^/]+)/.exec(arn)?.[1] ?? arn;

export async function clusterActive(ctx: CheckContext): Promise<CheckOutcome> {
  const cluster = await ctx.observed.cluster();
  if (!cluster) return fail(`cluster ${ctx.refs.cluster} not found`);
  const status = cluster.status ?? 'UNKNOWN';
  return verdict(
    status === 'ACTIVE',
    `cluster ${cluster.clusterName ?? ctx.refs.cluster} ${status}, ${plural(cluster.activeServicesCount ?? 0, 'active service')}, ${plural(cluster.runningTasksCount ?? 0, 'running task')}`,
  );
}

export async function serviceActive(ctx: CheckContext): Promise<CheckOutcome> {
  const service = await ctx.observed.service();
  if (!service) return fail(`service ${ctx.refs.service} not found in cluster ${ctx.refs.cluster}`);
  const status = service.status ?? 'UNKNOWN';
  return verdict(status === 'ACTIVE', `service ${ctx.refs.service} ${status} in cluster ${ctx.refs.cluster}`);
}

/** running = desired, nothing pending, exactly one deployment and its rollout COMPLETED. */
export async function serviceSteady(ctx: CheckContext): Promise<CheckOutcome> {
  const service = await ctx.observed.service();
  if (!service) return fail(`service ${ctx.refs.service} not found in cluster ${ctx.refs.cluster}`);
  const running = service.runningCount ?? 0;
  const desired = service.desiredCount ?? 0;
  const pending = service.pendingCount ?? 0;
  const deployments = service.deployments ?? [];
  const rollout = (d: (typeof deployments)[number]): string => d.rolloutState ?? 'rollout state not reported';
  const deploymentText =
    deployments.length === 1
      ? `1 deployment ${rollout(deployments[0]!)}`
      : `${plural(deployments.length, 'deployment')}${deployments.length ? `: ${deployments.map((d) => `${d.status ?? '?'} ${rollout(d)}`).join(', ')}` : ''}`;
  const steady = running === desired && pending === 0 && deployments.length === 1 && deployments[0]!.rolloutState === 'COMPLETED';
  return verdict(steady, `${running}/${desired} running, ${pending} pending, ${deploymentText}`, {
    runningCount: running,
    desiredCount: desired,
    pendingCount: pending,
    deployments: deployments.map((d) => ({ id: d.id, status: d.status, rolloutState: d.rolloutState, runningCount: d.runningCount })),
  });
}

/** True when an action sends traffic to the target group (directly or as one of a weighted forward). */
function forwardsTo(actions: Action[] | undefined, targetGroupArn: string): boolean {
  return (actions ?? []).some(
    (a) => a.Type === 'forward' && (a.TargetGroupArn === targetGroupArn || (a.ForwardConfig?.TargetGroups ?? []).some((t) => t.TargetGroupArn === targetGroupArn)),
  );
}

export async function listenerForwards(ctx: CheckContext): Promise<CheckOutcome> {
  const listeners = await ctx.observed.listeners();
  const wanted = targetGroupName(ctx.refs.targetGroupArn);
  if (listeners.length === 0) return fail(`no listener found (${ctx.refs.listenerArn ? `listener ${lastPart(ctx.refs.listenerArn)}` : `load balancer ${lastPart(ctx.refs.loadBalancerArn)}`})`);
  const describe = (l: (typeof listeners)[number]): string => `listener ${l.Protocol ?? '?'}:${l.Port ?? '?'} (${lastPart(l.ListenerArn ?? '')})`;
  const forwarding = listeners.find((l) => forwardsTo(l.DefaultActions, ctx.refs.targetGroupArn));
  if (forwarding) return ok(`${describe(forwarding)} forwards to target group ${wanted}`);
  const elsewhere = listeners
    .map((l) => {
      const targets = (l.DefaultActions ?? []).flatMap((a) => [a.TargetGroupArn, ...(a.ForwardConfig?.TargetGroups ?? []).map((t) => t.TargetGroupArn)]);
      const names = targets.filter((t): t is string => Boolean(t)).map(targetGroupName);
      return `${describe(l)} → ${names.length ? list([...new Set(names)]) : (l.DefaultActions ?? []).map((a) => a.Type).join(', ') || 'no action'}`;
    })
    .join('; ');
  return fail(`${elsewhere}; none forwards to target group ${wanted}`);
}

/** Running tasks spread over at least two AZs (when desired ≥ 2). */
export async function tasksAcrossAzs(ctx: CheckContext): Promise<CheckOutcome> {
  if (ctx.emulatorEndpoint) return skip(emulatorReason(ctx.emulatorEndpoint));
  const desired = await desiredCount(ctx);
  if (desired !== undefined && desired < 2) return skip(`desired count is ${desired}: one task cannot span two AZs`);
  const tasks = await ctx.observed.tasks();
  const running = runningTasks(tasks);
  const byAz = new Map<string, string[]>();
  for (const task of running) byAz.set(task.az ?? 'AZ unknown', [...(byAz.get(task.az ?? 'AZ unknown') ?? []), task.id]);
  const zones = [...byAz.keys()].filter((az) => az !== 'AZ unknown');
  const spread = [...byAz.entries()].sort(([a], [b]) => byText(a, b)).map(([az, ids]) => `${az} (${list(ids)})`);
  const notRunning = tasks.length - running.length;
  const evidence = `${plural(running.length, 'running task')} in ${plural(zones.length, 'AZ')}${spread.length ? `: ${spread.join(', ')}` : ''}${notRunning ? `; ${notRunning} more not RUNNING yet` : ''}`;
  return verdict(zones.length >= 2, evidence, { tasks: running.map((t) => ({ id: t.id, az: t.az, ip: t.ip })) });
}

/** IPs of the running tasks; `unaddressed` are running tasks whose ENI reports no IP. */
function taskIps(tasks: TaskView[]): { byIp: Map<string, TaskView>; unaddressed: TaskView[] } {
  const running = runningTasks(tasks);
  return { byIp: new Map(running.filter((t) => t.ip).map((t) => [t.ip!, t])), unaddressed: running.filter((t) => !t.ip) };
}

/** What differs between a set of registered IPs and the running tasks' IPs, as evidence phrases. */
function ipMismatch(kind: string, registered: string[], tasks: TaskView[]): { matches: boolean; phrases: string[] } {
  const { byIp, unaddressed } = taskIps(tasks);
  const extra = registered.filter((ip) => !byIp.has(ip));
  const missing = [...byIp.entries()].filter(([ip]) => !registered.includes(ip)).map(([ip, t]) => `${ip} (task ${t.id})`);
  const phrases: string[] = [];
  if (extra.length) phrases.push(`${kind} not a running task: ${list(extra)}`);
  if (missing.length) phrases.push(`running tasks not registered: ${list(missing)}`);
  if (unaddressed.length) phrases.push(`running tasks without an IP: ${list(unaddressed.map((t) => t.id))}`);
  if (phrases.length === 0) phrases.push(`IPs = the ${plural(byIp.size, "running task's", "running tasks'")} (${list([...byIp.keys()])})`);
  return { matches: extra.length === 0 && missing.length === 0 && unaddressed.length === 0 && byIp.size > 0, phrases };
}

/** Every target healthy, and the targets are exactly the running tasks. */
export async function targetsHealthy(ctx: CheckContext): Promise<CheckOutcome> {
  if (ctx.emulatorEndpoint) return skip(emulatorReason(ctx.emulatorEndpoint));
  const [targets, tasks] = await Promise.all([ctx.observed.targets(), ctx.observed.tasks()]);
  const group = targetGroupName(ctx.refs.targetGroupArn);
  const details = { targets, tasks: runningTasks(tasks).map((t) => ({ id: t.id, ip: t.ip, az: t.az })) };
  if (targets.length === 0) return fail(`no targets registered in target group ${group}; ${plural(runningTasks(tasks).length, 'running task')}`, details);
  const unhealthy = targets.filter((t) => t.state !== 'healthy');
  const health = `${targets.length - unhealthy.length}/${targets.length} targets healthy`;
  const sick = unhealthy.map((t) => `${t.ip} ${t.state}${t.reason ? ` (${t.reason})` : ''}`);
  const match = ipMismatch('targets', targets.map((t) => t.ip), tasks);
  const evidence = [sick.length ? `${health}: ${sick.join(', ')}` : health, ...match.phrases].join('; ');
  return verdict(unhealthy.length === 0 && match.matches, evidence, details);
}

/** The Cloud Map instances of the service are exactly the running tasks, and each is HEALTHY. */
export async function cloudMapMatches(ctx: CheckContext): Promise<CheckOutcome> {
  if (ctx.emulatorEndpoint) return skip(emulatorReason(ctx.emulatorEndpoint));
  if (!ctx.refs.discoveryServiceId) return fail('the state file records no Cloud Map service for this stack; run `ecs-ha up` to create it');
  const [instances, health, tasks] = await Promise.all([ctx.observed.cloudMapInstances(), ctx.observed.cloudMapHealth(), ctx.observed.tasks()]);
  const dnsName = `${ctx.refs.discoveryServiceName ?? 'service'}.${ctx.refs.namespaceName ?? ctx.refs.discoveryServiceId}`;
  const details = { service: ctx.refs.discoveryServiceId, instances: instances.map((i) => ({ ...i, health: health[i.id] })) };
  if (instances.length === 0) return fail(`no instances registered for ${dnsName}; ${plural(runningTasks(tasks).length, 'running task')}`, details);
  const unhealthy = instances.filter((i) => health[i.id] !== 'HEALTHY');
  const healthText = unhealthy.length
    ? `${instances.length - unhealthy.length}/${instances.length} HEALTHY: ${unhealthy.map((i) => `${i.id} (${i.ip ?? 'no IP'}) ${health[i.id] ?? 'no health status'}`).join(', ')}`
    : `all ${instances.length} HEALTHY`;
  const match = ipMismatch('instances', instances.map((i) => i.ip ?? `${i.id} (no IP)`), tasks);
  return verdict(unhealthy.length === 0 && match.matches, `${plural(instances.length, 'instance')} in ${dnsName}, ${healthText}; ${match.phrases.join('; ')}`, details);
}

const rangeText = (min: number | undefined, max: number | undefined): string => `${min ?? '?'} to ${max ?? '?'} tasks`;

/** The scalable target's min/max and the policy's metric and target are the ones the stack records. */
export async function autoScalingMatches(ctx: CheckContext): Promise<CheckOutcome> {
  const expected = ctx.autoScaling;
  if (!expected) return skip('autoscaling is off: the state records no scalable target (`ecs-ha up --autoscale MIN:MAX` turns it on)');
  const wanted = recordedAutoScaling(expected.record);
  const resourceId = expected.record.id;
  if (!wanted) return fail(`the state's autoscaling record for ${resourceId} names no range and policy target; run \`ecs-ha up --autoscale MIN:MAX\` to set them again`);
  const { target, policy } = await expected.observe();
  if (!target) return fail(`no scalable target for ${resourceId}; the stack records ${rangeText(wanted.min, wanted.max)}`);
  const tracking = trackingOf(policy);
  const rangeMatches = target.MinCapacity === wanted.min && target.MaxCapacity === wanted.max;
  const policyMatches = tracking?.metric === wanted.metric && tracking.target === wanted.target;
  const liveRange = `scalable target ${resourceId} ${rangeText(target.MinCapacity, target.MaxCapacity)}${rangeMatches ? '' : ` (the stack's: ${rangeText(wanted.min, wanted.max)})`}`;
  const livePolicy = !policy
    ? `no policy ${expected.policyName} (the stack's: ${describeTracking(wanted)})`
    : `policy ${expected.policyName} ${tracking ? describeTracking(tracking) : `of type ${policy.PolicyType ?? 'unknown'}, not the stack's target tracking`}${policyMatches || !tracking ? '' : ` (the stack's: ${describeTracking(wanted)})`}`;
  return verdict(rangeMatches && policyMatches, `${liveRange}; ${livePolicy}`, {
    resourceId,
    min: target.MinCapacity,
    max: target.MaxCapacity,
    ...(tracking ? { metric: tracking.metric, target: tracking.target } : {}),
    recorded: { min: wanted.min, max: wanted.max, metric: wanted.metric, target: wanted.target },
  });
}
