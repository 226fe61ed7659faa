/**
 * The timeline of a deployment, built from successive looks at the service (its deployments and
 * events), its tasks and its targets; for the native strategies (blue/green, linear, canary) also
 * its service deployment (status, lifecycle stage, traffic weights, rollback) and the targets of
 * both target groups. Pure: no AWS, no clock; times come with each
 * observation, so the same observations always give the same timeline and the same outcome.
 */
import { secondsAfter } from '../chaos/timeline.js';
import type { TargetView, TaskView } from '../inspect/stack.js';
import { revisionName } from './release.js';

export type RolloutEventName =
  | 'update requested'
  | 'deployment started'
  | 'task started'
  | 'task running'
  | 'task healthy'
  | 'task stopping'
  | 'task stopped'
  | 'deployment completed'
  | 'deployment failed'
  | 'deployment replaced'
  | 'rollback started'
  | 'rollback completed'
  | 'rollback failed'
  | 'lifecycle stage'
  | 'first answer'
  | 'last answer'
  | 'ECS';

export interface RolloutEvent {
  event: RolloutEventName;
  /** Seconds after the service was updated (t0), one decimal; negative before it. */
  seconds: number;
  taskId?: string;
  /** The revision a task runs ("ha:2"). */
  taskDefinition?: string;
  detail?: string;
}

export interface RolloutTaskView extends TaskView {
  taskDefinitionArn?: string;
}

export interface DeploymentView {
  id: string;
  status: string;
  taskDefinition: string;
  rolloutState?: string;
  rolloutStateReason?: string;
  desiredCount: number;
  runningCount: number;
  pendingCount: number;
}

/** A service deployment of a native strategy (DescribeServiceDeployments), as the tracker reads it. */
export interface ServiceDeploymentView {
  arn: string;
  /** PENDING, IN_PROGRESS, SUCCESSFUL, STOPPED, STOP_REQUESTED, ROLLBACK_REQUESTED, ROLLBACK_IN_PROGRESS, ROLLBACK_SUCCESSFUL, ROLLBACK_FAILED */
  status: string;
  statusReason?: string;
  /** RECONCILE_SERVICE, PRE_SCALE_UP, SCALE_UP, …, BAKE_TIME, CLEAN_UP */
  lifecycleStage?: string;
  /** ECS's clock (ms): only to tell the newest apart. */
  createdAt?: number;
  /** The share of production traffic ECS asked for the new revision (percent). */
  productionTrafficWeight?: number;
  rollback?: { reason?: string; serviceRevisionArn?: string };
}

/** One look at the service, at `at` (ms, the run's clock). */
export interface RolloutObservation {
  at: number;
  service?: {
    desiredCount: number;
    runningCount: number;
    pendingCount: number;
    taskDefinition?: string;
    deployments: DeploymentView[];
    /** Newest first, as ECS lists them; `at` from ECS's clock. */
    events: Array<{ id: string; at: number; message: string }>;
    /** Whether the circuit breaker rolls a failed deployment back. */
    rollbackOnFailure: boolean;
  };
  /** The service's tasks ECS wants running, described. */
  wanted: RolloutTaskView[];
  /** Tasks followed since they stopped being wanted, described by ARN. */
  others: RolloutTaskView[];
  targets: TargetView[];
  /** Native strategies only (the service reports BLUE_GREEN, LINEAR or CANARY): its service deployments in flight and its current one. */
  serviceDeployments?: ServiceDeploymentView[];
  /** Native strategies only: the targets of the other target group (the new revision's until traffic moved). */
  alternateTargets?: TargetView[];
}

export type RolloutState = 'in progress' | 'completed' | 'failed' | 'rolling back' | 'rolled back';

interface FollowedTask {
  arn: string;
  id: string;
  az?: string;
  taskDefinition?: string;
  old: boolean;
  everHealthy: boolean;
  stopped: boolean;
}

export interface RolloutPlanRefs {
  /** Task definition ARNs the service ran before and is updated to. */
  from: string;
  to: string;
  /** The service's task ARNs before the update: the old tasks. */
  tasksBefore: string[];
  /** The service's event IDs before the update: history, not part of this rollout. */
  eventsBefore: string[];
  /** The service's current service deployment before the update (native strategies): not this rollout's. */
  serviceDeploymentBefore?: string;
}

export class RolloutTracker {
  private readonly events: RolloutEvent[] = [];
  private readonly seen = new Set<string>();
  private readonly tasks = new Map<string, FollowedTask>();
  private readonly knownEvents: Set<string>;
  private ours: string | undefined;
  private failure: { reason: string; at: number } | undefined;
  private back: { deploymentId: string; taskDefinition: string; reason?: string; completedAt?: number } | undefined;
  private replacedBy: string | undefined;
  private completedAt: number | undefined;
  private failedTaskReasons: Array<{ id: string; reason?: string }> = [];
  private last: RolloutObservation | undefined;
  /** Native strategies: the service deployment the update started, as last seen. */
  private serviceDeployment: { arn: string; view?: ServiceDeploymentView } | undefined;
  private lastStage: string | undefined;
  /** Native strategies: when the service deployment ended without completing (STOPPED, ROLLBACK_FAILED). */
  private endedAt: number | undefined;

  constructor(
    readonly t0: number,
    readonly plan: RolloutPlanRefs,
  ) {
    this.knownEvents = new Set(plan.eventsBefore);
    for (const arn of plan.tasksBefore) {
      this.tasks.set(arn, { arn, id: arn.split('/').pop() ?? arn, taskDefinition: revisionName(plan.from), old: true, everHealthy: true, stopped: false });
    }
    this.record('update requested', t0, { detail: `${revisionName(plan.from)} → ${revisionName(plan.to)}` });
  }

  get timeline(): RolloutEvent[] {
    return [...this.events].sort((a, b) => a.seconds - b.seconds);
  }
  get deploymentId(): string | undefined {
    return this.ours ?? (this.serviceDeployment ? serviceDeploymentId(this.serviceDeployment.arn) : undefined);
  }
  /** Native strategies: the lifecycle stage of the service deployment at the last look. */
  get lifecycleStage(): string | undefined {
    return this.serviceDeployment?.view?.lifecycleStage;
  }
  get latest(): RolloutObservation | undefined {
    return this.last;
  }
  /** Tasks to describe by ARN on the next look: followed and not yet seen STOPPED. */
  get tasksToFollow(): string[] {
    return [...this.tasks.values()].filter((t) => !t.stopped).map((t) => t.arn);
  }
  /** Tasks of the new revision that stopped before they were ever healthy, with ECS's reason. */
  get failedTasks(): Array<{ id: string; reason?: string }> {
    // Those a deployment scaled in (the rollback stopping the new revision's last tasks) did not fail.
    return this.failedTaskReasons.filter((task) => !SCALED_IN.test(task.reason ?? '')).map((task) => ({ ...task }));
  }
  get failureReason(): string | undefined {
    return this.failure?.reason;
  }
  get rollback(): { deploymentId: string; taskDefinition: string; reason?: string; completed: boolean } | undefined {
    if (!this.back) return undefined;
    const { completedAt, ...rest } = this.back;
    return { ...rest, completed: completedAt !== undefined };
  }

  get state(): RolloutState {
    if (this.completedAt !== undefined) return 'completed';
    if (this.endedAt !== undefined) return 'failed';
    if (this.back) return this.back.completedAt !== undefined ? 'rolled back' : 'rolling back';
    if (this.failure) return 'failed';
    return 'in progress';
  }

  /**
   * When following can stop: the deployment completed, a rollback completed, or it failed with
   * nothing more to wait for (no rollback configured, or another deployment took its place).
   */
  get finishedAt(): number | undefined {
    if (this.completedAt !== undefined) return this.completedAt;
    if (this.back?.completedAt !== undefined) return this.back.completedAt;
    if (this.endedAt !== undefined) return this.endedAt;
    if (this.failure && !this.back && (this.replacedBy !== undefined || this.last?.service?.rollbackOnFailure === false)) return this.failure.at;
    return undefined;
  }

  observe(observation: RolloutObservation): RolloutEvent[] {
    const before = this.events.length;
    this.last = observation;
    const { at, service } = observation;
    if (service && observation.serviceDeployments) {
      // A native strategy: the service deployment says how far it is and how it ended.
      this.recordEcsEvents(service.events);
      this.followServiceDeployment(at, observation.serviceDeployments);
    } else if (service) {
      // Ours first: ECS's events about it ("deployment failed") are read with its ID, and its own
      // rolloutStateReason, when it is still listed, is ECS's best word on a failure.
      this.readOurDeployment(at, service.deployments);
      this.recordEcsEvents(service.events);
      this.followDeployments(at, service);
    }
    this.followTasks(observation);
    return this.events.slice(before);
  }

  /** Why the rollout is not finished, at the last look; empty once it is. */
  blockers(): string[] {
    if (this.finishedAt !== undefined) return [];
    const service = this.last?.service;
    if (!service) return [this.last ? 'the service was not found' : 'not observed yet'];
    const blockers: string[] = [];
    if (this.last?.serviceDeployments) {
      const d = this.serviceDeployment?.view;
      if (!this.serviceDeployment) blockers.push(`no service deployment of ${revisionName(this.plan.to)} seen`);
      else blockers.push(`service deployment ${serviceDeploymentId(this.serviceDeployment.arn)} ${d?.status ?? 'not described'}${d?.lifecycleStage ? ` at ${stageDetail(d)}` : ''}`);
      for (const target of [...(this.last.targets ?? []), ...(this.last.alternateTargets ?? [])]) {
        if (target.state !== 'healthy') blockers.push(`target ${target.ip} ${target.state}${target.reason ? ` (${target.reason})` : ''}`);
      }
      return blockers;
    }
    const primary = service.deployments.find((d) => d.status === 'PRIMARY');
    if (!this.ours) blockers.push(`no deployment of ${revisionName(this.plan.to)} seen`);
    if (primary) {
      blockers.push(`deployment ${primary.id} (${revisionName(primary.taskDefinition)}) ${primary.rolloutState ?? 'without a rollout state'}: ${primary.runningCount}/${primary.desiredCount} running${primary.pendingCount ? `, ${primary.pendingCount} pending` : ''}`);
    }
    if (service.deployments.length > 1) blockers.push(`${service.deployments.length} deployments`);
    for (const target of this.last?.targets ?? []) {
      if (target.state !== 'healthy') blockers.push(`target ${target.ip} ${target.state}${target.reason ? ` (${target.reason})` : ''}`);
    }
    return blockers;
  }

  private recordEcsEvents(events: Array<{ id: string; at: number; message: string }>): void {
    for (const event of [...events].reverse()) {
      if (this.knownEvents.has(event.id)) continue;
      this.knownEvents.add(event.id);
      this.events.push({ event: 'ECS', seconds: secondsAfter(this.t0, event.at), detail: event.message });
      const failed = this.ours && new RegExp(`\\(deployment ${escapeRegExp(this.ours)}\\) deployment failed: (.+)$`).exec(event.message);
      if (failed && !this.failure) this.fail(event.at, `deployment failed: ${failed[1]}`);
    }
  }

  /** The deployment the update started (the PRIMARY one of the new revision), and whether it FAILED. */
  private readOurDeployment(at: number, deployments: DeploymentView[]): void {
    const primary = deployments.find((d) => d.status === 'PRIMARY');
    if (!this.ours && primary?.taskDefinition === this.plan.to) {
      this.ours = primary.id;
      this.record('deployment started', at, { detail: primary.id });
    }
    const ours = deployments.find((d) => d.id === this.ours);
    if (ours?.rolloutState === 'FAILED' && !this.failure) this.fail(at, ours.rolloutStateReason || 'the deployment FAILED');
  }

  private followDeployments(at: number, service: NonNullable<RolloutObservation['service']>): void {
    const { deployments } = service;
    const primary = deployments.find((d) => d.status === 'PRIMARY');
    if (!this.ours) return;
    const ours = deployments.find((d) => d.id === this.ours);
    if (primary && primary.id !== this.ours && !this.back && this.replacedBy === undefined) {
      const rollingBack = /rolling back|circuit breaker/i.test(primary.rolloutStateReason ?? '');
      if (this.failure || rollingBack) {
        if (!this.failure) this.fail(at, 'the deployment circuit breaker failed the deployment');
        this.back = { deploymentId: primary.id, taskDefinition: primary.taskDefinition, ...(primary.rolloutStateReason ? { reason: primary.rolloutStateReason } : {}) };
        this.record('rollback started', at, { detail: `${primary.id} → ${revisionName(primary.taskDefinition)}` });
      } else {
        this.replacedBy = primary.id;
        this.fail(at, `replaced by deployment ${primary.id} (${revisionName(primary.taskDefinition)}) before it completed`);
        this.record('deployment replaced', at, { detail: primary.id });
      }
    }
    const alone = deployments.length === 1;
    if (this.back && this.back.completedAt === undefined && alone && primary?.id === this.back.deploymentId && settled(primary, service)) {
      this.back.completedAt = at;
      this.record('rollback completed', at, { detail: `${revisionName(primary.taskDefinition)} runs again` });
    }
    if (!this.failure && this.completedAt === undefined && alone && ours && primary?.id === ours.id && settled(ours, service)) {
      this.completedAt = at;
      this.record('deployment completed', at, { detail: ours.id });
    }
  }

  /**
   * Native strategies: finds the service deployment the update started (the newest one that is not
   * the service's current one from before), records each change of its lifecycle stage (and of the
   * production traffic it asked for: a linear deployment stays in PRODUCTION_TRAFFIC_SHIFT while the
   * weight grows), and ends the rollout on SUCCESSFUL, ROLLBACK_SUCCESSFUL, STOPPED or ROLLBACK_FAILED.
   */
  private followServiceDeployment(at: number, deployments: ServiceDeploymentView[]): void {
    if (!this.serviceDeployment) {
      const newest = deployments.filter((d) => d.arn !== this.plan.serviceDeploymentBefore).sort((a, b) => (b.createdAt ?? 0) - (a.createdAt ?? 0))[0];
      if (!newest) return;
      this.serviceDeployment = { arn: newest.arn };
      this.record('deployment started', at, { detail: newest.arn });
    }
    const ours = deployments.find((d) => d.arn === this.serviceDeployment!.arn);
    if (!ours) return;
    this.serviceDeployment.view = ours;
    if (ours.lifecycleStage) {
      const stage = stageDetail(ours);
      if (stage !== this.lastStage) {
        this.lastStage = stage;
        this.record('lifecycle stage', at, { detail: stage, key: `${stage}@${at}` });
      }
    }
    const id = serviceDeploymentId(ours.arn);
    switch (ours.status) {
      case 'SUCCESSFUL':
        if (this.completedAt === undefined && !this.back && this.endedAt === undefined) {
          this.completedAt = at;
          this.record('deployment completed', at, { detail: id });
        }
        break;
      case 'ROLLBACK_REQUESTED':
      case 'ROLLBACK_IN_PROGRESS':
        this.rollingBack(at, ours);
        break;
      case 'ROLLBACK_SUCCESSFUL':
        this.rollingBack(at, ours);
        if (this.back && this.back.completedAt === undefined) {
          this.back.completedAt = at;
          this.record('rollback completed', at, { detail: `${revisionName(this.plan.from)} runs again${ours.statusReason ? `: ${ours.statusReason}` : ''}` });
        }
        break;
      case 'ROLLBACK_FAILED':
        this.rollingBack(at, ours);
        if (this.endedAt === undefined) {
          this.endedAt = at;
          this.failure = { reason: `${this.failure!.reason}; the rollback failed${ours.statusReason ? `: ${ours.statusReason}` : ''}`, at: this.failure!.at };
          this.record('rollback failed', at, { ...(ours.statusReason ? { detail: ours.statusReason } : {}) });
        }
        break;
      case 'STOPPED':
        if (this.endedAt === undefined && this.completedAt === undefined) {
          this.endedAt = at;
          if (!this.failure) this.fail(at, `service deployment ${id} was stopped${ours.statusReason ? `: ${ours.statusReason}` : ''}`);
        }
        break;
    }
  }

  /**
   * ECS rolls a native deployment back within the same service deployment (the traffic moves back to
   * the old revision): why it failed is the rollback's reason, what ECS says of the rollback its
   * latest statusReason.
   */
  private rollingBack(at: number, deployment: ServiceDeploymentView): void {
    const why = deployment.rollback?.reason;
    const said = deployment.statusReason;
    if (!this.back) {
      if (!this.failure) this.fail(at, why ?? said ?? DEFAULT_ROLLBACK_REASON);
      this.back = { deploymentId: serviceDeploymentId(deployment.arn), taskDefinition: this.plan.from, ...(said ?? why ? { reason: (said ?? why)! } : {}) };
      this.record('rollback started', at, { detail: `${why ?? said ?? DEFAULT_ROLLBACK_REASON}; traffic back to ${revisionName(this.plan.from)}` });
      return;
    }
    if (said) this.back.reason = said;
    if (why && this.failure?.reason === DEFAULT_ROLLBACK_REASON) this.failure = { ...this.failure, reason: why };
  }

  private fail(at: number, reason: string): void {
    this.failure = { reason, at };
    this.record('deployment failed', at, { detail: reason });
  }

  private followTasks(observation: RolloutObservation): void {
    const { at } = observation;
    const healthyIps = new Set([...observation.targets, ...(observation.alternateTargets ?? [])].filter((t) => t.state === 'healthy').map((t) => t.ip));
    const wanted = new Set(observation.wanted.map((t) => t.arn));
    for (const view of [...observation.wanted, ...observation.others]) {
      let task = this.tasks.get(view.arn);
      if (!task) {
        if (!wanted.has(view.arn)) continue;
        task = { arn: view.arn, id: view.id, old: false, everHealthy: false, stopped: false, ...(view.taskDefinitionArn ? { taskDefinition: revisionName(view.taskDefinitionArn) } : {}) };
        this.tasks.set(view.arn, task);
        this.record('task started', at, { task, detail: view.lastStatus });
      }
      if (view.az) task.az = view.az;
      if (view.taskDefinitionArn) task.taskDefinition = revisionName(view.taskDefinitionArn);
      if (!task.old && view.lastStatus === 'RUNNING') this.record('task running', at, { task });
      if (!task.old && view.ip && healthyIps.has(view.ip) && wanted.has(view.arn)) {
        task.everHealthy = true;
        this.record('task healthy', at, { task });
      }
      if (!wanted.has(view.arn)) {
        // A task of the new revision stopped before it ever served: a failed launch, as the circuit breaker counts them.
        const neverServed = view.taskDefinitionArn === this.plan.to && !task.everHealthy;
        if (neverServed && !this.failedTaskReasons.some((f) => f.id === task!.id)) this.failedTaskReasons.push({ id: task.id });
        this.record('task stopping', at, { task, ...(view.stoppedReason ? { detail: view.stoppedReason } : {}) });
      }
      const failedLaunch = this.failedTaskReasons.find((f) => f.id === task!.id);
      if (failedLaunch && !failedLaunch.reason && view.stoppedReason) failedLaunch.reason = view.stoppedReason;
      if (view.lastStatus === 'STOPPED') {
        task.stopped = true;
        this.record('task stopped', at, { task, ...(view.stoppedReason ? { detail: view.stoppedReason } : {}) });
      }
    }
  }

  private record(event: RolloutEventName, at: number, what: { task?: FollowedTask; detail?: string; key?: string } = {}): void {
    const key = `${event}|${what.task?.id ?? ''}${what.key !== undefined ? `|${what.key}` : ''}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    const { task, detail } = what;
    this.events.push({
      event,
      seconds: secondsAfter(this.t0, at),
      ...(task ? { taskId: task.id, ...(task.taskDefinition ? { taskDefinition: task.taskDefinition } : {}) } : {}),
      ...(detail ? { detail } : {}),
    });
  }
}

const DEFAULT_ROLLBACK_REASON = 'ECS rolled the deployment back';

/** `arn:aws:ecs:…:service-deployment/cluster/service/AbC123` → `AbC123`. */
export function serviceDeploymentId(arn: string): string {
  return arn.slice(arn.lastIndexOf('/') + 1);
}

/** "PRODUCTION_TRAFFIC_SHIFT, 25% of production traffic to the new revision"; the stage alone when ECS gives no weight. */
function stageDetail(deployment: ServiceDeploymentView): string {
  const stage = deployment.lifecycleStage ?? 'no lifecycle stage';
  return deployment.productionTrafficWeight !== undefined && stage === 'PRODUCTION_TRAFFIC_SHIFT' ? `${stage}, ${deployment.productionTrafficWeight}% of production traffic to the new revision` : stage;
}

/** ECS's stop reason for a task a deployment (or a scale-in) stopped: not a failure of the task. */
const SCALED_IN = /^Scaling activity initiated by/;

/** ECS's own word when it gives one (COMPLETED); without a rollout state, steady counts. */
function settled(deployment: DeploymentView, service: { runningCount: number; desiredCount: number; pendingCount: number }): boolean {
  if (deployment.rolloutState !== undefined) return deployment.rolloutState === 'COMPLETED';
  return service.runningCount === service.desiredCount && service.pendingCount === 0;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
