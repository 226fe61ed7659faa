import { describe, expect, it } from 'vitest';
import { RecoveryTracker, secondsAfter, steadyBlockers, type ChaosObservation } from '../../../src/chaos/timeline.js';
import type { TaskView } from '../../../src/inspect/stack.js';

const T0 = 5_000_000;
const task = (id: string, lastStatus: string, extra: Partial<TaskView> = {}): TaskView => ({ arn: `arn:task/demo/${id}`, id, lastStatus, desiredStatus: 'RUNNING', ...extra });
const victim = task('victim', 'RUNNING', { az: 'us-east-1a', ip: '10.0.1.10' });
const other = task('other', 'RUNNING', { az: 'us-east-1b', ip: '10.0.2.20' });
const service = (runningCount: number, pendingCount = 0) => ({ runningCount, desiredCount: 2, pendingCount });

function look(seconds: number, parts: Partial<ChaosObservation>): ChaosObservation {
  return { at: T0 + seconds * 1000, service: service(2), tasks: [other], victims: [], targets: [], instances: [], ...parts };
}

describe('secondsAfter', () => {
  it('rounds to one decimal', () => {
    expect(secondsAfter(T0, T0 + 1234)).toBe(1.2);
    expect(secondsAfter(T0, T0 + 1250)).toBe(1.3);
    expect(secondsAfter(T0, T0 - 500)).toBe(-0.5);
  });
});

describe('RecoveryTracker', () => {
  it('records only the states it saw, once each, and the first steady look', () => {
    const tracker = new RecoveryTracker(T0, [victim], [victim.arn, other.arn]);
    const healthyOther = { ip: '10.0.2.20', state: 'healthy' };
    // The victim jumps from RUNNING straight to STOPPED between two looks; its target was never seen draining.
    expect(tracker.observe(look(1.04, { service: service(1), victims: [{ ...victim, desiredStatus: 'STOPPED' }], targets: [{ ip: '10.0.1.10', state: 'healthy' }, healthyOther] }))).toEqual([]);
    const replacement = task('new', 'RUNNING', { az: 'us-east-1a', ip: '10.0.1.30' });
    const steadyLook = look(30.26, {
      tasks: [other, replacement],
      victims: [{ ...victim, lastStatus: 'STOPPED' }],
      targets: [healthyOther, { ip: '10.0.1.30', state: 'healthy' }],
      instances: [{ id: 'new' }],
    });
    expect(tracker.observe(steadyLook)).toEqual([
      { event: 'victim stopped', seconds: 30.3, taskId: 'victim' },
      { event: 'target deregistered', seconds: 30.3, taskId: 'victim' },
      { event: 'replacement started', seconds: 30.3, taskId: 'new', detail: 'RUNNING' },
      { event: 'replacement running', seconds: 30.3, taskId: 'new' },
      { event: 'replacement registered in Cloud Map', seconds: 30.3, taskId: 'new' },
      { event: 'replacement healthy', seconds: 30.3, taskId: 'new' },
      { event: 'steady', seconds: 30.3 },
    ]);
    expect(tracker.observe({ ...steadyLook, at: T0 + 31_000 })).toEqual([]);
    expect(tracker.recoveredAt).toBe(T0 + 30_260);
    expect(tracker.timeline[0]).toEqual({ event: 'stop requested', seconds: 0, taskId: 'victim' });
    expect(tracker.blockers).toEqual([]);
  });

  it('reports Availability Zone rebalancing by ECS as its own event, not as part of the recovery', () => {
    const third = task('third', 'RUNNING', { az: 'us-east-1b', ip: '10.0.2.21' });
    const tracker = new RecoveryTracker(T0, [victim], [victim.arn, other.arn, third.arn]);
    const replacement = task('new', 'RUNNING', { az: 'us-east-1a', ip: '10.0.1.30' });
    const healthy = [{ ip: '10.0.2.20', state: 'healthy' }, { ip: '10.0.2.21', state: 'healthy' }, { ip: '10.0.1.30', state: 'healthy' }];
    const steadyLook = look(20, { service: { runningCount: 3, desiredCount: 3, pendingCount: 0 }, tasks: [other, third, replacement], victims: [{ ...victim, lastStatus: 'STOPPED' }], targets: healthy });
    tracker.observe(steadyLook);
    expect(tracker.recoveredAt).toBe(T0 + 20_000);
    // ECS then moves a task from us-east-1b to us-east-1c: it starts one and stops one of its own.
    const moved = task('moved', 'PROVISIONING', { az: 'us-east-1c' });
    const events = tracker.observe({ ...steadyLook, at: T0 + 25_000, tasks: [other, replacement, moved] });
    expect(events).toEqual([
      { event: 'rebalancing move', seconds: 25, taskId: 'third', detail: 'stopped by ECS in us-east-1b, not by this test' },
      { event: 'rebalancing move', seconds: 25, taskId: 'moved', detail: 'started in us-east-1c after the service was steady again' },
    ]);
    expect(tracker.replacements.map((r) => r.id)).toEqual(['new']);
    expect(tracker.recoveredAt).toBe(T0 + 20_000);
  });

  it('fills in a replacement address that appears late, and follows a replacement that is itself stopped', () => {
    const tracker = new RecoveryTracker(T0, [victim], [victim.arn, other.arn]);
    const draining = [{ ip: '10.0.1.10', state: 'draining' }, { ip: '10.0.2.20', state: 'healthy' }];
    tracker.observe(look(2, { service: service(1, 1), tasks: [other, task('first', 'PROVISIONING')], targets: draining }));
    expect(tracker.replacements).toEqual([{ id: 'first' }]);
    tracker.observe(look(4, { service: service(1, 1), tasks: [other, task('first', 'PENDING', { az: 'us-east-1a', ip: '10.0.1.31' })], targets: draining }));
    expect(tracker.replacements).toEqual([{ id: 'first', az: 'us-east-1a', ip: '10.0.1.31' }]);
    const events = tracker.observe(look(40, { service: service(1, 1), tasks: [other, task('second', 'PROVISIONING')], targets: [{ ip: '10.0.2.20', state: 'healthy' }] }));
    expect(events).toEqual([
      { event: 'target deregistered', seconds: 40, taskId: 'victim' },
      { event: 'replacement started', seconds: 40, taskId: 'second', detail: 'PROVISIONING' },
      { event: 'replacement stopping', seconds: 40, taskId: 'first', detail: 'no longer wanted running by the service' },
    ]);
    expect(tracker.replacements.map((r) => r.id)).toEqual(['first', 'second']);
    expect(tracker.blockers).toEqual(['1 of 2 tasks running', '1 pending', 'stopped task victim is not described', 'task second PROVISIONING']);
  });
});

describe('steadyBlockers', () => {
  it('names every reason the service is not steady', () => {
    const victims = [{ arn: victim.arn, id: 'victim' }];
    expect(steadyBlockers(look(1, { service: undefined }), victims)).toEqual(['the service was not found']);
    expect(
      steadyBlockers(
        look(1, {
          tasks: [other, task('new', 'RUNNING', { ip: '10.0.1.30' })],
          victims: [{ ...victim, lastStatus: 'DEACTIVATING' }],
          targets: [{ ip: '10.0.2.20', state: 'healthy' }, { ip: '10.0.1.10', state: 'draining', reason: 'Target.DeregistrationInProgress' }, { ip: '10.0.1.30', state: 'initial' }],
        }),
        victims,
      ),
    ).toEqual([
      'stopped task victim is DEACTIVATING',
      'target 10.0.1.10 draining (Target.DeregistrationInProgress)',
      'target 10.0.1.30 initial',
      'task new has no healthy target',
    ]);
    expect(steadyBlockers(look(1, { service: { runningCount: 0, desiredCount: 2, pendingCount: 0 }, tasks: [], victims: [{ ...victim, lastStatus: 'STOPPED' }] }), victims)).toEqual([
      '0 of 2 tasks running',
      'no task is running',
    ]);
  });
});
