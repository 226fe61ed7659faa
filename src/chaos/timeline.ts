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
  | 'steady';

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
  service?: { runningCount: number; desiredCount: number; pendingCount: number };
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

  /** `victims`: the tasks stopped at t0; `before`: every task ARN the service had before the stop. */
  constructor(
    readonly t0: number,
    victims: TaskView[],
    before: string[],
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

  observe(observation: ChaosObservation): TimelineEvent[] {
    const before = this.events.length;
    const { at } = observation;
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
    for (const arn of this.known) {
      if (!victimArns.has(arn) && !wanted.has(arn) && !this.replacementList.some((r) => r.arn === arn)) {
        this.record('rebalancing move', at, arn.split('/').pop(), 'stopped by ECS, not by this test');
      }
    }
    for (const task of observation.tasks) {
      if (this.known.has(task.arn)) continue;
      if (this.steadyAt !== undefined && !this.replacementList.some((r) => r.arn === task.arn)) {
        this.known.add(task.arn);
        this.record('rebalancing move', at, task.id, `started${task.az ? ` in ${task.az}` : ''} after the service was steady again`);
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
      if (!wanted.has(replacement.arn)) this.record('replacement stopping', at, replacement.id, 'no longer wanted running by the service');
    }

    this.lastBlockers = steadyBlockers(observation, this.victimRefs);
    if (this.steadyAt === undefined && this.lastBlockers.length === 0) {
      this.steadyAt = at;
      this.record('steady', at, undefined);
    }
    return this.events.slice(before);
  }

  private record(event: TimelineEventName, at: number, taskId: string | undefined, detail?: string): void {
    const key = `${event}|${taskId ?? ''}`;
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
  return blockers;
}
