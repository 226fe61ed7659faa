/**
 * `ecs-ha chaos`: under the stack's lock, check the service, start probing its URL, stop the
 * victim(s), follow the recovery until the service is steady again (or --timeout), keep probing
 * for --settle, and return the report. All waiting goes through the session's clock.
 */
import { StopTaskCommand } from '@aws-sdk/client-ecs';
import type { Clock } from '../clock.js';
import { noStateFile, withStackState, type Session } from '../session.js';
import { EnvironmentError } from '../errors.js';
import { cloudMapInstances, describeService, describeTasks, listServiceTaskArns, listsNoTasks, stackRefs, targetHealth, type StackRefs, type TaskView } from '../inspect/stack.js';
import { startProber, type Prober } from '../probe/prober.js';
import { modeLabel, type ChaosOptions } from './options.js';
import { preflight, type Preflight } from './preflight.js';
import { assembleReport, type ChaosReport } from './report.js';
import { RecoveryTracker, type ChaosObservation, type TimelineEvent } from './timeline.js';

export type ProberFactory = (options: { baseUrl: string; rps: number; clock: Pick<Clock, 'now'> }) => Prober;

export interface ChaosDependencies {
  /** The URL to probe; default the stack's load balancer URL from its state file. */
  url?: string;
  /** Default: the real HTTP prober. */
  startProber?: ProberFactory;
  /** Picks the index of the task to stop among `count` running tasks; default random. */
  pick?: (count: number) => number;
  /** How often to look at the service while it recovers; default 1000 ms. */
  pollIntervalMs?: number;
  /** At most one progress update this often; 0 on a terminal (the spinner line is rewritten in place). Default 5000 ms. */
  progressIntervalMs?: number;
}

const PROGRESS_ID = 'chaos';
const describeTask = (task: { id: string; az?: string }): string => `${task.id}${task.az ? ` (${task.az})` : ''}`;
/** Polls in a row that may fail (throttling beyond the SDK's retries, a network blip) before giving up. */
const MAX_FAILED_POLLS = 3;

/** Runs the chaos test on the session's stack; the caller renders and concludes the report. */
export async function runChaos(session: Session, options: ChaosOptions, deps: ChaosDependencies = {}): Promise<ChaosReport> {
  return withChaosLock(session, async (refs) => {
    const { reporter } = session;
    if (session.emulatorEndpoint && (await listsNoTasks(session.aws, refs))) {
      throw new EnvironmentError(
        `chaos needs running tasks: the endpoint ${session.emulatorEndpoint} lists no task for service ${refs.service}, so it runs no containers and there is nothing to stop or measure`,
        'use --local, whose data plane runs the tasks, or run against a stack on AWS',
      );
    }
    reporter.start('preflight', `checking service ${refs.service} before the test`);
    let checked: Preflight;
    try {
      checked = await preflight(session.aws, refs, options, deps.pick ?? ((count) => Math.random() * count));
    } catch (error) {
      reporter.fail('preflight', `service ${refs.service} cannot be tested now`);
      throw error;
    }
    const azs = [...new Set(checked.running.map((t) => t.az ?? 'unknown AZ'))].sort().join(', ');
    reporter.succeed('preflight', `service ${refs.service}: ${checked.running.length} tasks running in ${azs}; stopping ${checked.victims.map(describeTask).join(', ')}`);
    for (const warning of checked.warnings) reporter.warn(warning);
    return follow(session, refs, options, checked, deps);
  });
}

async function withChaosLock<T>(session: Session, work: (refs: StackRefs) => Promise<T>): Promise<T> {
  return withStackState(session, 'chaos', async (state) => {
    if (!state.exists) throw noStateFile(session);
    return work(stackRefs(state.snapshot()));
  });
}

async function follow(session: Session, refs: StackRefs, options: ChaosOptions, checked: Preflight, deps: ChaosDependencies): Promise<ChaosReport> {
  const { clock, signal, reporter } = session;
  const url = deps.url ?? refs.url;
  const pollMs = deps.pollIntervalMs ?? 1_000;
  const startedAt = clock.now();
  const prober = (deps.startProber ?? startProber)({ baseUrl: url, rps: options.rps, clock });
  const progress = progressReporter(session, prober, deps.progressIntervalMs ?? 5_000);
  let tracker: RecoveryTracker | undefined;
  try {
    reporter.start(PROGRESS_ID, `probing ${url} at ${options.rps}/s for a ${options.baselineMs / 1000}s baseline, then stopping`);
    if (options.baselineMs > 0) await clock.sleep(options.baselineMs, signal);
    if (!signal.aborted) {
      await stopTasks(session, refs, options, checked.victims);
      tracker = new RecoveryTracker(clock.now(), checked.victims, checked.taskArnsBefore);
      for (const event of tracker.timeline) reporter.info(eventLine(event, tracker));
      await pollUntilRecovered(session, refs, tracker, options.timeoutMs, pollMs, progress);
      if (tracker.recoveredAt !== undefined && !signal.aborted) {
        reporter.progress(PROGRESS_ID, `recovered; probing ${options.settleMs / 1000}s more`);
        await settle(session, refs, tracker, options.settleMs, pollMs, progress);
      }
    }
  } catch (error) {
    await prober.stop().catch(() => undefined);
    throw error;
  }
  const probe = await prober.stop();
  const interrupted = signal.aborted;
  if (interrupted) reporter.warn(tracker ? 'interrupted: stopped following the recovery (ECS replaces the stopped tasks regardless)' : 'interrupted before any task was stopped');
  const report = assembleReport({
    stack: refs.stack,
    url,
    options,
    startedAt,
    ...(tracker ? { t0: tracker.t0 } : {}),
    victims: tracker?.victims ?? [],
    replacements: tracker?.replacements ?? [],
    timeline: tracker?.timeline ?? [],
    ...(tracker?.recoveredAt !== undefined ? { recoveredAt: tracker.recoveredAt } : {}),
    lastSeen: tracker?.blockers ?? ['nothing was stopped'],
    interrupted,
    warnings: checked.warnings,
    probe,
  });
  if (report.passed) reporter.succeed(PROGRESS_ID, `chaos test passed: ${report.verdict}`);
  else reporter.fail(PROGRESS_ID, `chaos test failed: ${report.verdict}`);
  return report;
}

async function stopTasks(session: Session, refs: StackRefs, options: ChaosOptions, victims: TaskView[]): Promise<void> {
  const reason = `ecs-ha chaos: ${modeLabel(options.mode)} test`;
  // All at once: --kill-az simulates a zone failing, not tasks dying one after another.
  await Promise.all(victims.map((victim) => session.aws.ecs.send(new StopTaskCommand({ cluster: refs.cluster, task: victim.arn, reason }))));
}

async function pollUntilRecovered(
  session: Session,
  refs: StackRefs,
  tracker: RecoveryTracker,
  timeoutMs: number,
  pollMs: number,
  progress: (tracker: RecoveryTracker) => void,
): Promise<void> {
  const { clock, signal } = session;
  const deadline = tracker.t0 + timeoutMs;
  let failedPolls = 0;
  for (;;) {
    failedPolls = (await observeInto(session, refs, tracker, failedPolls)) ? 0 : failedPolls + 1;
    progress(tracker);
    const now = clock.now();
    if (tracker.recoveredAt !== undefined || signal.aborted || now >= deadline) return;
    await clock.sleep(Math.min(pollMs, deadline - now), signal);
    if (signal.aborted) return;
  }
}

/** Keeps probing after recovery, still looking, so late events (a Cloud Map registration) are recorded. */
async function settle(session: Session, refs: StackRefs, tracker: RecoveryTracker, settleMs: number, pollMs: number, progress: (tracker: RecoveryTracker) => void): Promise<void> {
  const { clock, signal } = session;
  const end = clock.now() + settleMs;
  for (let now = clock.now(); now < end && !signal.aborted; now = clock.now()) {
    await clock.sleep(Math.min(pollMs, end - now), signal);
    if (signal.aborted) return;
    // After recovery a failed look is only warned about: the result no longer depends on it.
    await observeInto(session, refs, tracker, 0);
    progress(tracker);
  }
}

/** One look, fed to the tracker; a failed look is warned about and tolerated a few times in a row. */
async function observeInto(session: Session, refs: StackRefs, tracker: RecoveryTracker, failedBefore: number): Promise<boolean> {
  try {
    const observation = await observe(session, refs, tracker);
    for (const event of tracker.observe(observation)) session.reporter.info(eventLine(event, tracker));
    return true;
  } catch (error) {
    if (failedBefore + 1 >= MAX_FAILED_POLLS) throw error;
    session.reporter.warn(`could not look at the service (${(error as Error).message}); trying again`);
    return false;
  }
}

async function observe(session: Session, refs: StackRefs, tracker: RecoveryTracker): Promise<ChaosObservation> {
  const { aws } = session;
  const [service, listed, targets, instances] = await Promise.all([
    describeService(aws, refs),
    listServiceTaskArns(aws, refs.cluster, refs.service),
    targetHealth(aws, refs),
    cloudMapInstances(aws, refs),
  ]);
  const wanted = listed;
  const victimArns = tracker.victimArns;
  // One DescribeTasks for the wanted tasks and the victims together.
  const described = await describeTasks(aws, refs, [...new Set([...wanted, ...victimArns])]);
  return {
    at: session.clock.now(),
    ...(service
      ? { service: { runningCount: service.runningCount ?? 0, desiredCount: service.desiredCount ?? 0, pendingCount: service.pendingCount ?? 0 } }
      : {}),
    tasks: described.filter((t) => wanted.includes(t.arn)),
    victims: described.filter((t) => victimArns.includes(t.arn)),
    targets,
    instances,
  };
}

export function eventLine(event: TimelineEvent, tracker: RecoveryTracker): string {
  const task = [...tracker.victims, ...tracker.replacements].find((t) => t.id === event.taskId);
  const who = event.taskId ? ` task ${task ? describeTask(task) : event.taskId}` : '';
  return `  +${event.seconds.toFixed(1)}s ${event.event}${who}${event.detail ? ` [${event.detail}]` : ''}`;
}

/** Progress: requests ok/failed, tasks running/desired, healthy targets; at most one update per interval. */
function progressReporter(session: Session, prober: Prober, intervalMs: number): (tracker: RecoveryTracker) => void {
  let last = -Infinity;
  return (tracker) => {
    const now = session.clock.now();
    if (now - last < intervalMs) return;
    last = now;
    const probe = prober.snapshot();
    const seen = tracker.latest;
    const desired = seen?.service?.desiredCount ?? 0;
    const healthy = seen?.targets.filter((t) => t.state === 'healthy').length ?? 0;
    const state = tracker.recoveredAt === undefined ? 'recovering' : 'recovered';
    session.reporter.progress(
      PROGRESS_ID,
      `+${Math.round((now - tracker.t0) / 1000)}s ${state}: requests ${probe.successes} ok / ${probe.failures} failed · tasks ${seen?.service?.runningCount ?? 0}/${desired} running · targets ${healthy}/${desired} healthy`,
    );
  };
}
