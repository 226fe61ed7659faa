/**
 * The rollout tracker on scripted observations: ECS's deployments, events, tasks and targets at
 * chosen seconds after the update. Pure, so the timeline and the outcome are exact.
 */
import { describe, expect, it } from 'vitest';
import { RolloutTracker, type DeploymentView, type RolloutObservation, type RolloutTaskView } from '../../../src/deploy/timeline.js';

const T0 = 1_000_000;
const td = (n: number) => `arn:aws:ecs:us-east-1:123456789012:task-definition/demo:${n}`;
const taskArn = (id: string) => `arn:aws:ecs:us-east-1:123456789012:task/demo/${id}`;
const TG = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/demo-tg/0123456789abcdef';

function task(id: string, revision: number, lastStatus: string, ip: string, stoppedReason?: string): RolloutTaskView {
  return { arn: taskArn(id), id, lastStatus, desiredStatus: lastStatus === 'STOPPED' || stoppedReason ? 'STOPPED' : 'RUNNING', ip, az: 'us-east-1a', taskDefinitionArn: td(revision), ...(stoppedReason ? { stoppedReason } : {}) };
}

function deployment(id: string, status: string, revision: number, rolloutState: string, rolloutStateReason?: string): DeploymentView {
  return { id, status, taskDefinition: td(revision), rolloutState, ...(rolloutStateReason ? { rolloutStateReason } : {}), desiredCount: 2, runningCount: 2, pendingCount: 0 };
}

function look(second: number, parts: { deployments: DeploymentView[]; wanted?: RolloutTaskView[]; others?: RolloutTaskView[]; healthy?: string[]; events?: Array<[number, string]>; rollback?: boolean; running?: number }): RolloutObservation {
  return {
    at: T0 + second * 1000,
    service: {
      desiredCount: 2,
      runningCount: parts.running ?? 2,
      pendingCount: 0,
      taskDefinition: parts.deployments.find((d) => d.status === 'PRIMARY')!.taskDefinition,
      deployments: parts.deployments,
      events: (parts.events ?? []).map(([at, message], i) => ({ id: `e-${at}-${i}`, at: T0 + at * 1000, message })).reverse(),
      rollbackOnFailure: parts.rollback ?? true,
    },
    wanted: parts.wanted ?? [],
    others: parts.others ?? [],
    targets: (parts.healthy ?? []).map((ip) => ({ ip, state: 'healthy' })),
  };
}

const plan = { from: td(1), to: td(2), tasksBefore: [taskArn('a'), taskArn('b')], eventsBefore: ['old-event'] };
const OLD = ['10.0.1.1', '10.0.2.2'];

describe('following a rolling deployment', () => {
  it('a clean rollout: new tasks healthy, old ones stopped, COMPLETED: an exact timeline and "completed"', () => {
    const tracker = new RolloutTracker(T0, plan);
    const ours = (state: string) => deployment('ecs-svc/2', 'PRIMARY', 2, state);
    const old = deployment('ecs-svc/1', 'ACTIVE', 1, 'COMPLETED');
    const a = (s = 'RUNNING', why?: string) => task('a', 1, s, OLD[0]!, why);
    const b = (s = 'RUNNING', why?: string) => task('b', 1, s, OLD[1]!, why);
    tracker.observe(look(1, { deployments: [ours('IN_PROGRESS'), old], wanted: [a(), b(), task('c', 2, 'PROVISIONING', '10.0.1.3')], healthy: OLD, events: [[0.5, '(service demo) has started 2 tasks: (task c) (task d).']] }));
    tracker.observe(look(3, { deployments: [ours('IN_PROGRESS'), old], wanted: [a(), b(), task('c', 2, 'RUNNING', '10.0.1.3'), task('d', 2, 'RUNNING', '10.0.2.4')], healthy: OLD }));
    expect(tracker.state).toBe('in progress');
    expect(tracker.finishedAt).toBeUndefined();
    expect(tracker.blockers()).toEqual(['deployment ecs-svc/2 (demo:2) IN_PROGRESS: 2/2 running', '2 deployments']);
    const why = 'Scaling activity initiated by (deployment ecs-svc/2)';
    tracker.observe(look(5, { deployments: [ours('IN_PROGRESS'), old], wanted: [task('c', 2, 'RUNNING', '10.0.1.3'), task('d', 2, 'RUNNING', '10.0.2.4')], others: [a('DEACTIVATING', why), b('DEACTIVATING', why)], healthy: ['10.0.1.3', '10.0.2.4'] }));
    tracker.observe(look(8, { deployments: [ours('COMPLETED')], wanted: [task('c', 2, 'RUNNING', '10.0.1.3'), task('d', 2, 'RUNNING', '10.0.2.4')], others: [a('STOPPED', why), b('STOPPED', why)], healthy: ['10.0.1.3', '10.0.2.4'], events: [[7.5, '(service demo) (deployment ecs-svc/2) deployment completed.']] }));

    expect(tracker.state).toBe('completed');
    expect(tracker.finishedAt).toBe(T0 + 8_000);
    expect(tracker.deploymentId).toBe('ecs-svc/2');
    expect(tracker.failedTasks).toEqual([]);
    expect(tracker.tasksToFollow).toEqual([taskArn('c'), taskArn('d')]);
    expect(tracker.timeline.map((e) => [e.seconds, e.event, e.taskId ?? e.detail])).toEqual([
      [0, 'update requested', 'demo:1 → demo:2'],
      [0.5, 'ECS', '(service demo) has started 2 tasks: (task c) (task d).'],
      [1, 'deployment started', 'ecs-svc/2'],
      [1, 'task started', 'c'],
      [3, 'task running', 'c'],
      [3, 'task started', 'd'],
      [3, 'task running', 'd'],
      [5, 'task healthy', 'c'],
      [5, 'task healthy', 'd'],
      [5, 'task stopping', 'a'],
      [5, 'task stopping', 'b'],
      [7.5, 'ECS', '(service demo) (deployment ecs-svc/2) deployment completed.'],
      [8, 'deployment completed', 'ecs-svc/2'],
      [8, 'task stopped', 'a'],
      [8, 'task stopped', 'b'],
    ]);
    expect(tracker.timeline.find((e) => e.event === 'task stopping' && e.taskId === 'a')).toEqual({ event: 'task stopping', seconds: 5, taskId: 'a', taskDefinition: 'demo:1', detail: why });
  });

  it('a new version that fails its health checks: FAILED, the circuit breaker rolls back, the failed launches with ECS\'s reasons', () => {
    const tracker = new RolloutTracker(T0, plan);
    const unhealthy = `Task failed ELB health checks in (target-group ${TG})`;
    const old = deployment('ecs-svc/1', 'ACTIVE', 1, 'COMPLETED');
    const olds = [task('a', 1, 'RUNNING', OLD[0]!), task('b', 1, 'RUNNING', OLD[1]!)];
    tracker.observe(look(1, { deployments: [deployment('ecs-svc/2', 'PRIMARY', 2, 'IN_PROGRESS'), old], wanted: [...olds, task('c', 2, 'RUNNING', '10.0.1.3'), task('d', 2, 'RUNNING', '10.0.2.4')], healthy: OLD }));
    tracker.observe(look(4, { deployments: [deployment('ecs-svc/2', 'PRIMARY', 2, 'IN_PROGRESS'), old], wanted: [...olds, task('e', 2, 'PENDING', '10.0.1.5')], others: [task('c', 2, 'STOPPING', '10.0.1.3', unhealthy), task('d', 2, 'STOPPED', '10.0.2.4', unhealthy)], healthy: OLD }));
    // The breaker trips: ours FAILED, a new PRIMARY rolls back to demo:1; the rollback stops e.
    const back = deployment('ecs-svc/9', 'PRIMARY', 1, 'IN_PROGRESS', 'ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/1.');
    const scaled = 'Scaling activity initiated by (deployment ecs-svc/9)';
    tracker.observe(look(6, { deployments: [back, deployment('ecs-svc/2', 'ACTIVE', 2, 'FAILED', 'ECS deployment circuit breaker: tasks failed to start.')], wanted: olds, others: [task('c', 2, 'STOPPED', '10.0.1.3', unhealthy), task('e', 2, 'STOPPING', '10.0.1.5', scaled)], healthy: OLD, events: [[5.5, '(service demo) (deployment ecs-svc/2) deployment failed: tasks failed to start.']] }));
    expect(tracker.state).toBe('rolling back');
    expect(tracker.finishedAt).toBeUndefined();
    tracker.observe(look(7, { deployments: [{ ...back, rolloutState: 'COMPLETED' }], wanted: olds, others: [task('e', 2, 'STOPPED', '10.0.1.5', scaled)], healthy: OLD }));

    expect(tracker.state).toBe('rolled back');
    expect(tracker.finishedAt).toBe(T0 + 7_000);
    expect(tracker.failureReason).toBe('ECS deployment circuit breaker: tasks failed to start.');
    expect(tracker.rollback).toEqual({ deploymentId: 'ecs-svc/9', taskDefinition: td(1), reason: 'ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/1.', completed: true });
    // e was stopped by the rollback itself (scaled in), not by a failed launch.
    expect(tracker.failedTasks).toEqual([
      { id: 'c', reason: unhealthy },
      { id: 'd', reason: unhealthy },
    ]);
    const names = tracker.timeline.map((e) => e.event);
    expect(names.filter((n) => n !== 'ECS')).toEqual(['update requested', 'deployment started', 'task started', 'task running', 'task started', 'task running', 'task started', 'task stopping', 'task stopping', 'task stopped', 'deployment failed', 'rollback started', 'task stopped', 'task stopping', 'rollback completed', 'task stopped']);
    // The old tasks were never stopped.
    expect(tracker.timeline.some((e) => (e.taskId === 'a' || e.taskId === 'b') && e.event.startsWith('task stop'))).toBe(false);
  });

  it('a FAILED deployment is noticed from ECS\'s event when it is gone before the next look', () => {
    const tracker = new RolloutTracker(T0, plan);
    tracker.observe(look(1, { deployments: [deployment('ecs-svc/2', 'PRIMARY', 2, 'IN_PROGRESS'), deployment('ecs-svc/1', 'ACTIVE', 1, 'COMPLETED')] }));
    tracker.observe(
      look(9, {
        deployments: [deployment('ecs-svc/9', 'PRIMARY', 1, 'COMPLETED', 'ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/1.')],
        events: [[8, '(service demo) (deployment ecs-svc/2) deployment failed: tasks failed to start.']],
      }),
    );
    expect(tracker.state).toBe('rolled back');
    expect(tracker.failureReason).toBe('deployment failed: tasks failed to start.');
    expect(tracker.timeline.find((e) => e.event === 'deployment failed')?.seconds).toBe(8);
  });

  it('without rollback on the circuit breaker, FAILED ends the rollout as failed', () => {
    const tracker = new RolloutTracker(T0, plan);
    tracker.observe(look(4, { deployments: [deployment('ecs-svc/2', 'PRIMARY', 2, 'FAILED', 'ECS deployment circuit breaker: tasks failed to start.'), deployment('ecs-svc/1', 'ACTIVE', 1, 'COMPLETED')], rollback: false }));
    expect(tracker.state).toBe('failed');
    expect(tracker.finishedAt).toBe(T0 + 4_000);
    expect(tracker.rollback).toBeUndefined();
  });

  it('with rollback on, a FAILED deployment is followed until the rollback shows', () => {
    const tracker = new RolloutTracker(T0, plan);
    tracker.observe(look(4, { deployments: [deployment('ecs-svc/2', 'PRIMARY', 2, 'FAILED', 'tasks failed to start.'), deployment('ecs-svc/1', 'ACTIVE', 1, 'COMPLETED')] }));
    expect(tracker.state).toBe('failed');
    expect(tracker.finishedAt).toBeUndefined();
  });

  it('another deployment taking its place (not a rollback) fails it as replaced', () => {
    const tracker = new RolloutTracker(T0, plan);
    tracker.observe(look(1, { deployments: [deployment('ecs-svc/2', 'PRIMARY', 2, 'IN_PROGRESS'), deployment('ecs-svc/1', 'ACTIVE', 1, 'COMPLETED')] }));
    tracker.observe(look(2, { deployments: [deployment('ecs-svc/3', 'PRIMARY', 3, 'IN_PROGRESS'), deployment('ecs-svc/2', 'ACTIVE', 2, 'IN_PROGRESS')] }));
    expect(tracker.state).toBe('failed');
    expect(tracker.failureReason).toBe('replaced by deployment ecs-svc/3 (demo:3) before it completed');
    expect(tracker.finishedAt).toBe(T0 + 2_000);
  });

  it('events from before the update are history, not part of the timeline', () => {
    const tracker = new RolloutTracker(T0, plan);
    const observation = look(1, { deployments: [deployment('ecs-svc/2', 'PRIMARY', 2, 'IN_PROGRESS')] });
    observation.service!.events = [{ id: 'old-event', at: T0 - 60_000, message: '(service demo) has reached a steady state.' }];
    tracker.observe(observation);
    expect(tracker.timeline.some((e) => e.event === 'ECS')).toBe(false);
  });
});
