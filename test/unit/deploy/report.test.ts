import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseMeasureOptions } from '../../../src/deploy/options.js';
import { renderRolloutLines, shortenArns } from '../../../src/deploy/render.js';
import { assembleRolloutReport, writeRolloutReport, type RolloutReportInput } from '../../../src/deploy/report.js';
import { summarize, type ProbeRecord } from '../../../src/probe/prober.js';

const START = Date.parse('2026-11-30T12:00:00Z');
const from = { taskDefinition: 'arn:aws:ecs:us-east-1:123456789012:task-definition/demo:1', revision: 'demo:1', appVersion: '1.0', image: 'repo/demo:aaa' };
const to = { taskDefinition: 'arn:aws:ecs:us-east-1:123456789012:task-definition/demo:2', revision: 'demo:2', appVersion: '2', image: 'repo/demo:bbb' };

/** One request a second for `seconds` from START, all answered by `version`. */
function probe(seconds: number, version: string) {
  const records: ProbeRecord[] = Array.from({ length: seconds }, (_, s) => ({ startedAt: START + s * 1000, latencyMs: 5, outcome: 'ok' as const, status: 200, backend: { hostname: 'ip-1', version } }));
  const endedAt = START + seconds * 1000;
  return { url: 'http://x/health', rps: 1, timeoutMs: 2000, maxInFlight: 2, startedAt: START, endedAt, records, summary: summarize(records, { start: START, end: endedAt }), peakInFlight: 1, skipped: { inFlightCap: 0, late: 0 } };
}

function input(overrides: Partial<RolloutReportInput>): RolloutReportInput {
  return {
    command: 'deploy',
    stack: 'demo',
    url: 'http://x',
    options: parseMeasureOptions({ rps: '1', baseline: '2', settle: '0', timeout: '30', maxFailures: '0' }),
    from,
    to,
    startedAt: START,
    state: 'in progress',
    failedTasks: [],
    lastSeen: [],
    interrupted: false,
    timeline: [],
    probe: probe(10, '1.0'),
    ...overrides,
  };
}

describe('the rollout report', () => {
  it('a FAILED deployment without rollback: failed, with ECS\'s reason', () => {
    const report = assembleRolloutReport(input({ t0: START + 2000, deploymentId: 'ecs-svc/2', state: 'failed', failureReason: 'ECS deployment circuit breaker: tasks failed to start.', finishedAt: START + 6000 }));
    expect(report).toMatchObject({ outcome: 'failed', passed: false, rolloutSeconds: 4, rollback: null });
    expect(report.verdict).toBe('deployment ecs-svc/2 failed: ECS deployment circuit breaker: tasks failed to start.; 0 of 10 requests failed');
    // Requests sent at +0 … +4 s are "during" (the end is inclusive), +5 … +7 s "after".
    expect(report.phases.during).toMatchObject({ fromSeconds: 0, toSeconds: 4, requests: 5 });
    expect(report.phases.after).toMatchObject({ fromSeconds: 4, toSeconds: 8, requests: 3 });
    expect(report.phases.before.requests + report.phases.during!.requests + report.phases.after!.requests).toBe(10);
  });

  it('Ctrl-C during the baseline: nothing was deployed, every request is "before"', () => {
    const report = assembleRolloutReport(input({ interrupted: true, lastSeen: ['the service was not updated'] }));
    expect(report).toMatchObject({ outcome: 'interrupted', passed: false, updateRequestedAt: null, verdict: 'interrupted before the service was updated: nothing was deployed', phases: { during: null, after: null }, timeline: [] });
    expect(report.phases.before.requests).toBe(10);
    expect(renderRolloutLines(report)).toContain('  (the service was not updated)');
  });

  it('names target groups by name in what it prints; the JSON keeps ECS\'s words whole', () => {
    expect(shortenArns('Task failed ELB health checks in (target-group arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/demo-tg/0123456789abcdef)')).toBe('Task failed ELB health checks in (target-group demo-tg)');
    expect(shortenArns('(task arn:aws:ecs:us-east-1:123456789012:task/demo/abc)')).toBe('(task arn:aws:ecs:us-east-1:123456789012:task/demo/abc)');
  });

  it('is written 0600 under <stack>-<command>-<UTC time>.json, never over an earlier one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ecs-ha-reports-'));
    const report = assembleRolloutReport(input({ command: 'rollback' }));
    const first = writeRolloutReport(dir, report);
    const second = writeRolloutReport(dir, report);
    expect([first, second]).toEqual([join(dir, 'reports', 'demo-rollback-20261130T120000Z.json'), join(dir, 'reports', 'demo-rollback-20261130T120000Z-2.json')]);
    expect(statSync(first).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(dir, 'reports'))).toHaveLength(2);
  });
});
