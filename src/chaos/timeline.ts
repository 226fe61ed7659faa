/**
 * The recovery timeline of a chaos test, built from successive observations of the service, its
 * tasks, its targets and its Cloud Map instances. Pure: no AWS, no clock; times come with each
 * observation, so the same observations always give the same timeline.
 */
import type { InstanceView, TargetView, TaskView } from '../inspect/stack.js';

export type TimelineEventName =
  | 'stop requested'
  | 'victim deactivating'
  | 'victim stopping'
  | 'victim deprovisioning'
  | 'victim stopped'
  | 'target draining'
  | 'target deregistered'
  | 'replacement started'
  | 'replacement running'
  | 'replacement registered in Cloud Map'
  | 'replacement healthy'
  | 'replacement stopping'
  | 'rebalancing move'
  | 'deployment move'
  | 'steady'
  | 'zone excluded'
  | 'zone restored'
  | 'rebalanced';

export interface TimelineEvent {
  event: TimelineEventName;
  /** Seconds after the stop was requested (t0), one decimal. */
  seconds: number;
  taskId?: string;
  detail?: string;
}

/** A task as the report names it. */
export interface TaskRef {
  id: string;
  az?: string;
  ip?: string;
}

/** One look at the stack, taken at `at` (ms, the run's clock). */
export interface ChaosObservation {
  at: number;
  service?: { runningCount: number; desiredCount: number; pendingCount: number; deployments?: Array<{ id?: string; status?: string; rolloutState?: string }> };
  /** The service's tasks that ECS wants running (ListTasks desiredStatus RUNNING), described. */
  tasks: TaskView[];
  /** The stopped tasks, described by ARN (a stopping task is no longer listed as wanted running). */
  victims: TaskView[];
  targets: TargetView[];
  instances: InstanceView[];
}

/** The victim's lastStatus values worth a timeline entry, in the order ECS goes through them. */
const VICTIM_STATES: Record<string, TimelineEventName> = {
  DEACTIVATING: 'victim deactivating',
  STOPPING: 'victim stopping',
  DEPROVISIONING: 'victim deprovisioning',
  STOPPED: 'victim stopped',
};

export function secondsAfter(t0: number, at: number): number {
  return Math.round((at - t0) / 100) / 10;
}

interface Replacement extends TaskRef {
  arn: string;
}

/** What the tracker needs to know of a zone drill: the AZ taken away and every AZ of the stack. */
export interface DrillZones {
  az: string;
  zones: string[];
}

/** Running tasks per AZ: every AZ of `zones` (0 when empty), then any other AZ a task runs in. */
export function tasksPerAz(tasks: TaskView[], zones: string[]): Record<string, number> {
  const counts: Record<string, number> = Object.fromEntries([...zones].sort().map((zone) => [zone, 0]));
  for (const task of tasks) if (task.lastStatus === 'RUNNING') counts[task.az ?? 'unknown AZ'] = (counts[task.az ?? 'unknown AZ'] ?? 0) + 1;
  return counts;
}

export function describeCounts(counts: Record<string, number>): string {
  return Object.entries(counts).map(([az, n]) => `${az} ${n}`).join(', ');
}

/**
 * Follows one chaos test from the stop (t0) on. `observe` takes each new observation and returns
 * the events it revealed; each event is recorded once per task, at the first observation that
 * showed it (so the resolution is the polling interval).
 */
export class RecoveryTracker {
  private readonly events: TimelineEvent[] = [];
  private readonly seen = new Set<string>();
  private readonly known: Set<string>;
  private readonly victimRefs: Array<TaskRef & { arn: string }>;
  private readonly replacementList: Replacement[] = [];
  private steadyAt: number | undefined;
  private lastBlockers: string[] = ['not observed yet'];
  private last: ChaosObservation | undefined;
  private restored: { at: number; zones: string[]; deploymentBefore?: string } | undefined;
  /** Tasks already recorded as stopped by ECS (a deployment or rebalancing move): once each. */
  private readonly movedAway = new Set<string>();
  private rebalancedTime: number | undefined;
  private lastRebalanceBlockers: string[] = ['not observed yet'];
  private readonly inFailedZone: TaskRef[] = [];
  private steadyCounts: Record<string, number> | undefined;
  private latestCounts: Record<string, number> | undefined;

  /**
   * `victims`: the tasks stopped at t0; `before`: every task ARN the service had before the stop;
   * `drill`: for --kill-az, the zone taken out of the service's subnets and the stack's zones.
   */
  constructor(
    readonly t0: number,
    victims: TaskView[],
    before: string[],
    private readonly drill?: DrillZones,
  ) {
    this.known = new Set(before);
    this.victimRefs = victims.map((v) => ({ arn: v.arn, ...ref(v) }));
    for (const victim of this.victimRefs) this.record('stop requested', t0, victim.id);
  }

  get timeline(): TimelineEvent[] {
    return [...this.events];
  }
  get victims(): TaskRef[] {
    return this.victimRefs.map(({ arn: _arn, ...rest }) => rest);
  }
  get victimArns(): string[] {
    return this.victimRefs.map((v) => v.arn);
  }
  get replacements(): TaskRef[] {
    return this.replacementList.map(({ arn: _arn, ...rest }) => rest);
  }
  /** When the service was first seen steady again (ms), undefined until then. */
  get recoveredAt(): number | undefined {
    return this.steadyAt;
  }
  /** What kept the last observation from being steady; empty once it was. */
  get blockers(): string[] {
    return [...this.lastBlockers];
  }
  get latest(): ChaosObservation | undefined {
    return this.last;
  }
  /** When the zone's subnets were given back (ms), undefined until then. */
  get restoredAt(): number | undefined {
    return this.restored?.at;
  }
  /** When the service was first seen steady and spread evenly after the restore (ms). */
  get rebalancedAt(): number | undefined {
    return this.rebalancedTime;
  }
  /** What kept the last look after the restore from being rebalanced; empty once it was. */
  get rebalanceBlockers(): string[] {
    return [...this.lastRebalanceBlockers];
  }
  /** Tasks ECS started in the drill's zone while the zone was taken away: each one fails the drill. */
  get startedInFailedZone(): TaskRef[] {
    return this.inFailedZone.map((t) => ({ ...t }));
  }
  /** Running tasks per AZ when the service was steady again, and at the last look. */
  get countsAtRecovery(): Record<string, number> | undefined {
    return this.steadyCounts;
  }
  get countsNow(): Record<string, number> | undefined {
    return this.latestCounts;
  }

  /** A moment of the drill the tracker does not observe itself: the zone taken away (before t0). */
  note(event: 'zone excluded', at: number, detail?: string): void {
    const before = this.events.length;
    this.record(event, at, undefined, detail);
    // It happened before the stop: it leads the timeline.
    if (this.events.length > before) this.events.unshift(this.events.pop()!);
  }

  /** The zone's subnets are back (over `zones`): from now on new tasks are moves, and balance is awaited. */
  markRestored(at: number, zones: string[], detail?: string): void {
    // Giving the subnets back is a new deployment: the one running now does not count as rebalanced.
    const deploymentBefore = this.last?.service?.deployments?.find((d) => d.status === 'PRIMARY')?.id;
    this.restored = { at, zones, ...(deploymentBefore ? { deploymentBefore } : {}) };
    this.lastRebalanceBlockers = ['not observed since the restore'];
    this.record('zone restored', at, undefined, detail);
  }

  observe(observation: ChaosObservation): TimelineEvent[] {
    const before = this.events.length;
    const { at } = observation;
    // A task ECS stopped is no longer listed: its AZ is the one the previous look saw.
    const previous = this.last;
    const stoppedIn = (arn: string): string => {
      const az = previous?.tasks.find((t) => t.arn === arn)?.az;
      return az ? ` in ${az}` : '';
    };
    this.last = observation;
    const targetsByIp = new Map(observation.targets.map((t) => [t.ip, t]));

    for (const victim of this.victimRefs) {
      const view = observation.victims.find((v) => v.arn === victim.arn);
      const name = view ? VICTIM_STATES[view.lastStatus] : undefined;
      if (name) this.record(name, at, victim.id);
      if (!victim.ip) continue;
      const target = targetsByIp.get(victim.ip);
      if (target?.state === 'draining') this.record('target draining', at, victim.id);
      if (!target) this.record('target deregistered', at, victim.id);
    }

    const wanted = new Set(observation.tasks.map((t) => t.arn));
    // ECS moving tasks between AZs (rebalancing) is not part of the recovery: a task it stops that
    // chaos did not, or one it starts once the service was steady again, is its own event.
    const victimArns = new Set(this.victimRefs.map((v) => v.arn));
    // In a zone drill the change of subnets is a new deployment: ECS replaces the other zones' tasks too.
    const rollingOut = this.drill !== undefined && this.steadyAt === undefined && this.restored === undefined;
    for (const arn of this.known) {
      if (!victimArns.has(arn) && !wanted.has(arn) && !this.replacementList.some((r) => r.arn === arn) && !this.movedAway.has(arn)) {
        this.movedAway.add(arn);
        // Keyed apart from the task's start: a task ECS started as a move may be stopped by a later one.
        if (rollingOut) this.record('deployment move', at, arn.split('/').pop(), `stopped by ECS${stoppedIn(arn)}: the change of subnets is a new deployment`, 'stopped');
        else this.record('rebalancing move', at, arn.split('/').pop(), `stopped by ECS${stoppedIn(arn)}, not by this test`, 'stopped');
      }
    }
    for (const task of observation.tasks) {
      if (this.drill && this.restored === undefined && task.az === this.drill.az && !this.known.has(task.arn) && !this.inFailedZone.some((t) => t.id === task.id)) {
        this.inFailedZone.push(ref(task));
      }
      if (this.known.has(task.arn)) continue;
      if ((this.steadyAt !== undefined || this.restored !== undefined) && !this.replacementList.some((r) => r.arn === task.arn)) {
        this.known.add(task.arn);
        const when = this.restored !== undefined ? 'after the zone was restored' : 'after the service was steady again';
        this.record('rebalancing move', at, task.id, `started${task.az ? ` in ${task.az}` : ''} ${when}`);
        continue;
      }
      let replacement = this.replacementList.find((r) => r.arn === task.arn);
      if (!replacement) {
        replacement = { arn: task.arn, id: task.id };
        this.replacementList.push(replacement);
        this.record('replacement started', at, task.id, task.lastStatus);
      }
      // The AZ and IP appear once the ENI is attached, possibly after the first sighting.
      Object.assign(replacement, ref(task));
      if (task.lastStatus === 'RUNNING') this.record('replacement running', at, task.id);
      const registered = observation.instances.some((i) => i.id === task.id || (task.ip !== undefined && i.ip === task.ip));
      if (registered) this.record('replacement registered in Cloud Map', at, task.id);
      if (task.ip && targetsByIp.get(task.ip)?.state === 'healthy') this.record('replacement healthy', at, task.id);
    }
    for (const replacement of this.replacementList) {
      if (wanted.has(replacement.arn)) continue;
      // After the restore the service moves back over every zone: its stops are expected.
      if (this.restored !== undefined) this.record('rebalancing move', at, replacement.id, 'stopped by ECS after the zone was restored');
      else this.record('replacement stopping', at, replacement.id, 'no longer wanted running by the service');
    }

    if (this.drill) this.latestCounts = tasksPerAz(observation.tasks, this.restored?.zones ?? this.drill.zones);
    this.lastBlockers = steadyBlockers(observation, this.victimRefs);
    if (this.steadyAt === undefined && this.lastBlockers.length === 0) {
      this.steadyAt = at;
      if (this.latestCounts) this.steadyCounts = { ...this.latestCounts };
      this.record('steady', at, undefined);
    }
    if (this.restored && this.rebalancedTime === undefined) {
      const primary = observation.service?.deployments?.find((d) => d.status === 'PRIMARY')?.id;
      const sameDeployment = this.restored.deploymentBefore !== undefined && primary === this.restored.deploymentBefore;
      this.lastRebalanceBlockers = [
        ...this.lastBlockers,
        ...(sameDeployment ? [`the deployment of the restored subnets has not started (deployment ${primary} is still the primary one)`] : []),
        ...balanceBlockers(observation.tasks, this.restored.zones),
      ];
      if (this.lastRebalanceBlockers.length === 0) {
        this.rebalancedTime = at;
        this.record('rebalanced', at, undefined, describeCounts(tasksPerAz(observation.tasks, this.restored.zones)));
      }
    }
    return this.events.slice(before);
  }

  private record(event: TimelineEventName, at: number, taskId: string | undefined, detail?: string, phase = ''): void {
    const key = `${event}|${taskId ?? ''}|${phase}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.events.push({ event, seconds: secondsAfter(this.t0, at), ...(taskId ? { taskId } : {}), ...(detail ? { detail } : {}) });
  }
}

function ref(task: TaskView): TaskRef {
  return { id: task.id, ...(task.az ? { az: task.az } : {}), ...(task.ip ? { ip: task.ip } : {}) };
}

/**
 * Why an observation is not steady; empty when it is: running = desired with nothing pending,
 * every victim STOPPED, every target healthy and every wanted task RUNNING behind a healthy target.
 */
export function steadyBlockers(observation: ChaosObservation, victims: Array<{ arn: string; id: string }>): string[] {
  const { service, tasks, targets } = observation;
  if (!service) return ['the service was not found'];
  const blockers: string[] = [];
  if (service.runningCount !== service.desiredCount) blockers.push(`${service.runningCount} of ${service.desiredCount} tasks running`);
  if (service.pendingCount > 0) blockers.push(`${service.pendingCount} pending`);
  for (const victim of victims) {
    const status = observation.victims.find((v) => v.arn === victim.arn)?.lastStatus ?? 'not described';
    if (status !== 'STOPPED') blockers.push(`stopped task ${victim.id} is ${status}`);
  }
  for (const target of targets) {
    if (target.state !== 'healthy') blockers.push(`target ${target.ip} ${target.state}${target.reason ? ` (${target.reason})` : ''}`);
  }
  const healthy = new Set(targets.filter((t) => t.state === 'healthy').map((t) => t.ip));
  for (const task of tasks) {
    if (task.lastStatus !== 'RUNNING') blockers.push(`task ${task.id} ${task.lastStatus}`);
    else if (!task.ip || !healthy.has(task.ip)) blockers.push(`task ${task.id} has no healthy target`);
  }
  if (tasks.length === 0 && service.desiredCount > 0) blockers.push('no task is running');
  // A deployment still rolling (a zone drill's change of subnets is one) is not steady yet.
  const deployments = service.deployments;
  if (deployments && deployments.length !== 1) blockers.push(`${deployments.length} deployments (${deployments.map((d) => `${d.status ?? '?'} ${d.rolloutState ?? '?'}`).join(', ')})`);
  else if (deployments?.[0]?.rolloutState !== undefined && deployments[0].rolloutState !== 'COMPLETED') blockers.push(`the deployment is ${deployments[0].rolloutState}`);
  return blockers;
}

/**
 * Why the running tasks are not spread evenly over `zones` (as ECS's Availability Zone rebalancing
 * aims for: no AZ with two or more tasks more than another), or [] when they are.
 */
export function balanceBlockers(tasks: TaskView[], zones: string[]): string[] {
  const counts = tasksPerAz(tasks, zones);
  const blockers = Object.keys(counts)
    .filter((az) => !zones.includes(az))
    .map((az) => `${counts[az]} task${counts[az] === 1 ? '' : 's'} in ${az}, outside the service's zones`);
  const inZones = zones.map((zone) => counts[zone] ?? 0);
  if (inZones.length > 0 && Math.max(...inZones) - Math.min(...inZones) > 1) blockers.push(`tasks not spread evenly: ${describeCounts(counts)}`);
  return blockers;
}
