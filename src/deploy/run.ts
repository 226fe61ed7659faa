/**
 * What `deploy` and `rollback` share once they know what to roll out: probe the URL for the
 * baseline, update the service, follow the rolling deployment until it completes, fails or is
 * rolled back (or --timeout), keep probing for --settle, and assemble the report. All waiting goes
 * through the session's clock; Ctrl-C stops probing and following (ECS carries on regardless).
 */
import type { Service } from '@aws-sdk/client-ecs';
import type { ProberFactory } from '../chaos/run.js';
import { EnvironmentError, OperationError } from '../errors.js';
import { describeService, listServiceTaskArns, listsNoTasks, type StackRefs } from '../inspect/stack.js';
import { keepWatching, watchUntil } from '../inspect/watch.js';
import { startProber, type Prober } from '../probe/prober.js';
import type { Session } from '../session.js';
import { observeRollout } from './observe.js';
import type { MeasureOptions } from './options.js';
import type { Strategy } from './strategy.js';
import { shortenArns } from './render.js';
import { assembleRolloutReport, type RevisionRef, type RolloutCommand, type RolloutReport } from './report.js';
import { RolloutTracker, type RolloutEvent } from './timeline.js';

export interface RolloutDependencies {
  /** The URL to probe; default the stack's load balancer URL. */
  url?: string;
  /** Default: the real HTTP prober. */
  startProber?: ProberFactory;
  /** How often to look at the service while it rolls out; default 1000 ms. */
  pollIntervalMs?: number;
  /** At most one progress update this often; 0 on a terminal. Default 5000 ms. */
  progressIntervalMs?: number;
}

export interface RolloutPlan {
  command: RolloutCommand;
  refs: StackRefs;
  from: RevisionRef;
  to: RevisionRef;
  tasksBefore: string[];
  eventsBefore: string[];
  /** How the service deploys (default rolling): the native strategies are followed by their service deployment. */
  strategy?: Strategy;
  /** The service's current service deployment before the update (DescribeServices' currentServiceDeployment). */
  serviceDeploymentBefore?: string;
  /** Updates the service; resolves true once UpdateService was made (false: it was not, e.g. Ctrl-C first). */
  update(): Promise<boolean>;
}

export interface MeasuredRollout {
  report: RolloutReport;
  /** The task definition the service runs at the last look (after a rollback: the old one again). */
  serviceTaskDefinition?: string;
}

const PROGRESS_ID = 'rollout';

/**
 * The service as a rollout needs it: ACTIVE, created by ecs-ha, running tasks, and no deployment
 * under way (a second one would start on top of it). Returns it, with the tasks and events it has now.
 */
export async function checkServiceBeforeRollout(session: Session, refs: StackRefs, adopted: boolean): Promise<{ service: Service; tasksBefore: string[]; eventsBefore: string[] }> {
  if (adopted) {
    throw new OperationError(`service ${refs.service} was adopted (not created by ecs-ha): ecs-ha uses it as it is and does not deploy to it`, 'deploy to it where it is managed');
  }
  const service = await describeService(session.aws, refs);
  if (service?.status !== 'ACTIVE') {
    throw new OperationError(`service ${refs.service} is ${service?.status ?? 'missing'} in cluster ${refs.cluster}`, `run \`ecs-ha up --stack ${session.stack}\` to create it again`);
  }
  const deployments = service.deployments ?? [];
  const primary = deployments.find((d) => d.status === 'PRIMARY');
  if (deployments.length > 1 || primary?.rolloutState === 'IN_PROGRESS') {
    throw new OperationError(
      `service ${refs.service} has a deployment in progress (${primary?.id ?? 'unknown'}, ${deployments.length} deployment${deployments.length === 1 ? '' : 's'}): a new one would start on top of it`,
      'wait until it has finished (`ecs-ha verify` says "service steady"), then run the command again',
    );
  }
  if (session.emulatorEndpoint && (await listsNoTasks(session.aws, refs))) {
    throw new EnvironmentError(
      `a rollout needs running tasks to measure: the endpoint ${session.emulatorEndpoint} lists no task for service ${refs.service}, so it runs no containers`,
      'use --local, whose data plane runs the tasks, or run against a stack on AWS',
    );
  }
  const tasksBefore = await listServiceTaskArns(session.aws, refs.cluster, refs.service);
  const eventsBefore = (service.events ?? []).map((e) => e.id ?? `${String(e.createdAt)} ${e.message}`);
  return { service, tasksBefore, eventsBefore };
}

export async function measureRollout(session: Session, plan: RolloutPlan, options: MeasureOptions, deps: RolloutDependencies = {}): Promise<MeasuredRollout> {
  const { clock, signal, reporter } = session;
  const url = deps.url ?? plan.refs.url;
  const pollMs = deps.pollIntervalMs ?? 1_000;
  const startedAt = clock.now();
  const prober = (deps.startProber ?? startProber)({ baseUrl: url, rps: options.rps, clock });
  const progress = progressReporter(session, prober, deps.progressIntervalMs ?? 5_000);
  let tracker: RolloutTracker | undefined;
  try {
    const how = plan.strategy && plan.strategy !== 'rolling' ? ` (${plan.strategy})` : '';
    reporter.start(PROGRESS_ID, `probing ${url} at ${options.rps}/s for a ${options.baselineMs / 1000}s baseline, then updating service ${plan.refs.service} to ${plan.to.revision}${how}`);
    if (options.baselineMs > 0) await clock.sleep(options.baselineMs, signal);
    if (!signal.aborted && (await plan.update())) {
      tracker = new RolloutTracker(clock.now(), {
        from: plan.from.taskDefinition,
        to: plan.to.taskDefinition,
        tasksBefore: plan.tasksBefore,
        eventsBefore: plan.eventsBefore,
        ...(plan.serviceDeploymentBefore ? { serviceDeploymentBefore: plan.serviceDeploymentBefore } : {}),
      });
      for (const event of tracker.timeline) reporter.info(eventLine(event));
      await follow(session, plan.refs, tracker, options.timeoutMs, pollMs, progress);
      if (tracker.finishedAt !== undefined && !signal.aborted && options.settleMs > 0) {
        reporter.progress(PROGRESS_ID, `${tracker.state}; probing ${options.settleMs / 1000}s more`);
        await settle(session, plan.refs, tracker, options.settleMs, pollMs, progress);
      }
    }
  } catch (error) {
    await prober.stop().catch(() => undefined);
    throw error;
  }
  const probe = await prober.stop();
  const interrupted = signal.aborted;
  if (interrupted) reporter.warn(tracker ? 'interrupted: stopped probing and following; the deployment goes on in ECS' : 'interrupted before the service was updated: nothing was deployed');
  const rollback = tracker?.rollback;
  const finishedAt = tracker?.finishedAt;
  const report = assembleRolloutReport({
    command: plan.command,
    ...(plan.strategy ? { strategy: plan.strategy } : {}),
    stack: plan.refs.stack,
    url,
    options,
    from: plan.from,
    to: plan.to,
    startedAt,
    ...(tracker ? { t0: tracker.t0, timeline: tracker.timeline, state: tracker.state, failedTasks: tracker.failedTasks, lastSeen: tracker.blockers() } : { timeline: [], state: 'in progress' as const, failedTasks: [], lastSeen: ['the service was not updated'] }),
    ...(tracker?.deploymentId ? { deploymentId: tracker.deploymentId } : {}),
    ...(tracker?.failureReason ? { failureReason: tracker.failureReason } : {}),
    ...(rollback ? { rollback } : {}),
    ...(finishedAt !== undefined ? { finishedAt } : {}),
    interrupted,
    probe,
  });
  if (report.passed) reporter.succeed(PROGRESS_ID, `${plan.command} passed: ${report.verdict}`);
  else reporter.fail(PROGRESS_ID, `${plan.command} failed: ${report.verdict}`);
  const running = tracker?.latest?.service?.taskDefinition;
  return { report, ...(running ? { serviceTaskDefinition: running } : {}) };
}

/** One look at the service, tasks and targets, fed to the tracker; what it saw is reported as it happens. */
function looker(session: Session, refs: StackRefs, tracker: RolloutTracker): () => Promise<void> {
  return async () => {
    const observation = await observeRollout(session.aws, refs, tracker.tasksToFollow, () => session.clock.now());
    for (const event of tracker.observe(observation)) session.reporter.info(eventLine(event));
  };
}

/** Follows the rollout until it finished (completed, failed, rolled back), Ctrl-C, or --timeout after the update. */
function follow(session: Session, refs: StackRefs, tracker: RolloutTracker, timeoutMs: number, pollMs: number, progress: (tracker: RolloutTracker) => void): Promise<void> {
  return watchUntil(session, { look: looker(session, refs, tracker), afterLook: () => progress(tracker), done: () => tracker.finishedAt !== undefined, deadline: tracker.t0 + timeoutMs, pollMs });
}

/** Keeps probing after the rollout finished, still looking, so late events (the last old task stopped) are recorded. */
function settle(session: Session, refs: StackRefs, tracker: RolloutTracker, settleMs: number, pollMs: number, progress: (tracker: RolloutTracker) => void): Promise<void> {
  return keepWatching(session, { look: looker(session, refs, tracker), afterLook: () => progress(tracker), durationMs: settleMs, pollMs });
}

export function eventLine(event: RolloutEvent): string {
  const sign = event.seconds < 0 ? '-' : '+';
  const task = event.taskId ? ` task ${event.taskId}${event.taskDefinition ? ` ${event.taskDefinition}` : ''}` : '';
  const detail = event.detail ? (event.event === 'ECS' ? `: ${event.detail}` : ` [${event.detail}]`) : '';
  return shortenArns(`  ${sign}${Math.abs(event.seconds).toFixed(1)}s ${event.event}${task}${detail}`);
}

/** Progress: the deployment's state, tasks per revision, healthy targets, requests and versions; at most one update per interval. */
function progressReporter(session: Session, prober: Prober, intervalMs: number): (tracker: RolloutTracker) => void {
  let last = -Infinity;
  return (tracker) => {
    const now = session.clock.now();
    if (now - last < intervalMs) return;
    last = now;
    const probe = prober.snapshot();
    const seen = tracker.latest;
    const perRevision = new Map<string, number>();
    for (const task of seen?.wanted ?? []) {
      const revision = task.taskDefinitionArn?.split('/').pop() ?? 'unknown';
      perRevision.set(revision, (perRevision.get(revision) ?? 0) + 1);
    }
    const tasks = [...perRevision].map(([revision, n]) => `${revision} ${n}`).join(', ') || 'none';
    const healthy = [...(seen?.targets ?? []), ...(seen?.alternateTargets ?? [])].filter((t) => t.state === 'healthy').length;
    session.reporter.progress(
      PROGRESS_ID,
      `+${Math.round((now - tracker.t0) / 1000)}s ${tracker.state}${tracker.lifecycleStage ? ` (${tracker.lifecycleStage})` : ''}: tasks ${tasks} · targets ${healthy} healthy · requests ${probe.successes} ok / ${probe.failures} failed · versions ${probe.versions.join(', ') || 'none yet'}`,
    );
  };
}
