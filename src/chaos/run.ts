/**
 * `ecs-ha chaos`: under the stack's lock, check the service, start probing its URL, stop the
 * victim(s), follow the recovery until the service is steady again (or --timeout), keep probing
 * for --settle, and return the report. `--kill-az` is a zone drill: before the stop the zone's
 * subnets leave the service, after the recovery (and --hold) they come back and the tasks are
 * followed until they are spread over every zone again. All waiting goes through the session's clock.
 */
import { StopTaskCommand } from '@aws-sdk/client-ecs';
import type { Clock } from '../clock.js';
import { noStateFile, withStackState, type Session } from '../session.js';
import type { StateStore } from '../state/store.js';
import { EnvironmentError } from '../errors.js';
import { cloudMapInstances, describeService, describeTasks, listServiceTaskArns, listsNoTasks, stackRefs, targetHealth, type StackRefs, type TaskView } from '../inspect/stack.js';
import { keepWatching, watchUntil } from '../inspect/watch.js';
import { startProber, type Prober } from '../probe/prober.js';
import { modeLabel, type ChaosOptions } from './options.js';
import { preflight, type Preflight } from './preflight.js';
import { assembleReport, type ChaosReport } from './report.js';
import { RecoveryTracker, type ChaosObservation, type TimelineEvent } from './timeline.js';
import { clearDrillRecord, drillOutcome, excludeZone, keptSubnets, planZoneDrill, recordedDrill, restoreZone, sameSubnets, stackSubnets, upCommand, type Drill } from './zoneDrill.js';

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

/** Runs the chaos test on the session's stack; the caller renders and concludes the report. */
export async function runChaos(session: Session, options: ChaosOptions, deps: ChaosDependencies = {}): Promise<ChaosReport> {
  return withChaosLock(session, async (refs, state) => {
    const { reporter } = session;
    if (session.emulatorEndpoint && (await listsNoTasks(session.aws, refs))) {
      throw new EnvironmentError(
        `chaos needs running tasks: the endpoint ${session.emulatorEndpoint} lists no task for service ${refs.service}, so it runs no containers and there is nothing to stop or measure`,
        'use --local, whose data plane runs the tasks, or run against a stack on AWS',
      );
    }
    reporter.start('preflight', `checking service ${refs.service} before the test`);
    let checked: Preflight;
    let drill: Drill | undefined;
    try {
      const snapshot = state.snapshot();
      const network = stackSubnets(snapshot);
      const unfinished = recordedDrill(snapshot);
      const expected = network ? { subnets: network.subnets, ...(unfinished ? { unfinished } : {}) } : undefined;
      checked = await preflight(session.aws, refs, options, deps.pick ?? ((count) => Math.random() * count), expected);
      const subnetsNow = checked.service.networkConfiguration?.awsvpcConfiguration?.subnets;
      // A drill killed before its restore, whose subnets `up` has given back since: nothing left to do.
      if (unfinished && network && subnetsNow && sameSubnets(subnetsNow, network.subnets)) clearDrillRecord(state);
      if (options.mode.kind === 'kill-az' && options.drill) {
        drill = { plan: planZoneDrill(snapshot, checked.service, options.mode.az), state, ...options.drill };
      }
    } catch (error) {
      reporter.fail('preflight', `service ${refs.service} cannot be tested now`);
      throw error;
    }
    const azs = [...new Set(checked.running.map((t) => t.az ?? 'unknown AZ'))].sort().join(', ');
    reporter.succeed('preflight', `service ${refs.service}: ${checked.running.length} tasks running in ${azs}; stopping ${checked.victims.map(describeTask).join(', ')}`);
    for (const warning of checked.warnings) reporter.warn(warning);
    return follow(session, refs, options, checked, deps, drill);
  });
}

async function withChaosLock<T>(session: Session, work: (refs: StackRefs, state: StateStore) => Promise<T>): Promise<T> {
  return withStackState(session, 'chaos', async (state) => {
    if (!state.exists) throw noStateFile(session);
    return work(stackRefs(state.snapshot()), state);
  });
}

async function follow(session: Session, refs: StackRefs, options: ChaosOptions, checked: Preflight, deps: ChaosDependencies, drill?: Drill): Promise<ChaosReport> {
  const { clock, signal, reporter } = session;
  const url = deps.url ?? refs.url;
  const pollMs = deps.pollIntervalMs ?? 1_000;
  const startedAt = clock.now();
  const prober = (deps.startProber ?? startProber)({ baseUrl: url, rps: options.rps, clock });
  const progress = progressReporter(session, prober, deps.progressIntervalMs ?? 5_000);
  let tracker: RecoveryTracker | undefined;
  let excludedAt: number | undefined;
  let failure: { error: unknown } | undefined;
  try {
    reporter.start(PROGRESS_ID, `probing ${url} at ${options.rps}/s for a ${options.baselineMs / 1000}s baseline, then ${drill ? `taking ${drill.plan.az} away` : 'stopping'}`);
    if (options.baselineMs > 0) await clock.sleep(options.baselineMs, signal);
    if (drill && !signal.aborted) excludedAt = await excludeZone(session, refs, drill, (message) => reporter.progress(PROGRESS_ID, message));
    if (!signal.aborted) {
      await stopTasks(session, refs, options, checked.victims);
      tracker = new RecoveryTracker(clock.now(), checked.victims, checked.taskArnsBefore, drill ? { az: drill.plan.az, zones: drill.plan.zones } : undefined);
      if (drill && excludedAt !== undefined) tracker.note('zone excluded', excludedAt, `subnets ${drill.plan.excludedSubnets.join(', ')} left out`);
      for (const event of tracker.timeline) reporter.info(eventLine(event, tracker));
      await pollUntil(session, refs, tracker, (t) => t.recoveredAt !== undefined, tracker.t0 + options.timeoutMs, pollMs, progress);
      if (drill && drill.holdMs > 0 && tracker.recoveredAt !== undefined && !signal.aborted) {
        reporter.progress(PROGRESS_ID, `recovered; keeping ${drill.plan.az} out for ${drill.holdMs / 1000}s more (--hold)`);
        await settle(session, refs, tracker, drill.holdMs, pollMs, progress);
      }
    }
  } catch (error) {
    failure = { error };
  }
  // The zone comes back however the test ended: passed, failed, timed out, interrupted or broken.
  const restore = drill && excludedAt !== undefined && drill.restore ? await restoreZone(session, refs, drill, tracker) : undefined;
  if (failure) {
    await prober.stop().catch(() => undefined);
    throw failure.error;
  }
  let rebalanceFollowed = false;
  try {
    if (tracker?.recoveredAt !== undefined && !signal.aborted) {
      if (restore?.at !== undefined) {
        rebalanceFollowed = true;
        reporter.progress(PROGRESS_ID, `zone ${drill!.plan.az} restored; following the tasks until they are spread over every zone`);
        await pollUntil(session, refs, tracker, (t) => t.rebalancedAt !== undefined, restore.at + options.timeoutMs, pollMs, progress);
      }
      if (!signal.aborted && (restore?.at === undefined || tracker.rebalancedAt !== undefined)) {
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
  const warnings = [...checked.warnings];
  if (drill && excludedAt !== undefined && restore?.at === undefined) {
    const still = `zone ${drill.plan.az} is still left out: service ${refs.service} runs in ${keptSubnets(drill.plan).join(', ')} only; \`${upCommand(session, refs)}\` gives it subnets ${drill.plan.excludedSubnets.join(', ')} back`;
    reporter.warn(still);
    warnings.push(still);
  }
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
    warnings,
    probe,
    ...(drill ? { zoneDrill: drillOutcome(drill, checked, tracker, excludedAt, restore, rebalanceFollowed) } : {}),
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

/** One look at the service, fed to the tracker; what it saw is reported as it happens. */
function looker(session: Session, refs: StackRefs, tracker: RecoveryTracker): () => Promise<void> {
  return async () => {
    const observation = await observe(session, refs, tracker);
    for (const event of tracker.observe(observation)) session.reporter.info(eventLine(event, tracker));
  };
}

/** Looks every poll until `done` (recovered, rebalanced), Ctrl-C or the deadline. */
function pollUntil(session: Session, refs: StackRefs, tracker: RecoveryTracker, done: (tracker: RecoveryTracker) => boolean, deadline: number, pollMs: number, progress: (tracker: RecoveryTracker) => void): Promise<void> {
  return watchUntil(session, { look: looker(session, refs, tracker), afterLook: () => progress(tracker), done: () => done(tracker), deadline, pollMs });
}

/** Keeps probing after recovery, still looking, so late events (a Cloud Map registration) are recorded. */
function settle(session: Session, refs: StackRefs, tracker: RecoveryTracker, settleMs: number, pollMs: number, progress: (tracker: RecoveryTracker) => void): Promise<void> {
  return keepWatching(session, { look: looker(session, refs, tracker), afterLook: () => progress(tracker), durationMs: settleMs, pollMs });
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
      ? {
          service: {
            runningCount: service.runningCount ?? 0,
            desiredCount: service.desiredCount ?? 0,
            pendingCount: service.pendingCount ?? 0,
            ...(service.deployments ? { deployments: service.deployments.map((d) => ({ ...(d.id ? { id: d.id } : {}), ...(d.status ? { status: d.status } : {}), ...(d.rolloutState ? { rolloutState: d.rolloutState } : {}) })) } : {}),
          },
        }
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
  return `  ${event.seconds < 0 ? '' : '+'}${event.seconds.toFixed(1)}s ${event.event}${who}${event.detail ? ` [${event.detail}]` : ''}`;
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
    const state = tracker.recoveredAt === undefined ? 'recovering' : tracker.restoredAt !== undefined && tracker.rebalancedAt === undefined ? 'rebalancing' : 'recovered';
    session.reporter.progress(
      PROGRESS_ID,
      `+${Math.round((now - tracker.t0) / 1000)}s ${state}: requests ${probe.successes} ok / ${probe.failures} failed · tasks ${seen?.service?.runningCount ?? 0}/${desired} running · targets ${healthy}/${desired} healthy`,
    );
  };
}
