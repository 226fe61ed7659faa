import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AwsClients } from '../../../src/aws/clients.js';
import { parseChaosOptions } from '../../../src/chaos/options.js';
import { assembleReport, concludeChaos, renderChaosLines, reportTimestamp, writeChaosReport, type ReportInput, type ZoneDrillInput } from '../../../src/chaos/report.js';
import { chaosDocument, chaosReportProblem } from '../../../src/report/chaos.js';
import type { Session } from '../../../src/session.js';
import { ExitCode } from '../../../src/errors.js';
import { summarize, type ProbeRecord, type ProbeReport } from '../../../src/probe/prober.js';
import { createReporter } from '../../../src/ui/reporter.js';
import { fakeClock, REGION, scriptedRunner } from '../../helpers/context.js';

const START = Date.UTC(2026, 10, 26, 22, 15, 0);

function probe(records: ProbeRecord[], end: number): ProbeReport {
  return { url: 'http://demo/health', rps: 10, timeoutMs: 2000, maxInFlight: 20, startedAt: START, endedAt: end, records, summary: summarize(records, { start: START, end }), peakInFlight: 1, skipped: { inFlightCap: 0, late: 0 } };
}
const ok = (at: number, az: string): ProbeRecord => ({ startedAt: START + at, latencyMs: 10, outcome: 'ok', status: 200, backend: { hostname: `host-${az}`, az } });
const refused = (at: number): ProbeRecord => ({ startedAt: START + at, latencyMs: 1, outcome: 'refused', error: 'ECONNREFUSED: connect ECONNREFUSED' });

function input(overrides: Partial<ReportInput> = {}): ReportInput {
  return {
    stack: 'demo',
    url: 'http://demo',
    options: parseChaosOptions({ killOne: true, rps: '10', baseline: '1', settle: '1', timeout: '60', maxFailures: '0' }),
    startedAt: START,
    t0: START + 1000,
    victims: [{ id: 'aaa', az: 'us-east-1a', ip: '10.0.1.10' }],
    replacements: [{ id: 'ccc', az: 'us-east-1a', ip: '10.0.1.30' }],
    timeline: [
      { event: 'stop requested', seconds: 0, taskId: 'aaa' },
      { event: 'replacement healthy', seconds: 2, taskId: 'ccc' },
      { event: 'steady', seconds: 3.5 },
    ],
    recoveredAt: START + 4500,
    lastSeen: [],
    interrupted: false,
    warnings: [],
    probe: probe([ok(0, 'us-east-1a'), ok(500, 'us-east-1b'), refused(1500), ok(2000, 'us-east-1b'), ok(5000, 'us-east-1a')], START + 5500),
    ...overrides,
  };
}

function session(stateDir: string, json: boolean): Session & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  const sink = (lines: string[]) => ({ write: (text: string) => lines.push(text) > 0 }) as unknown as NodeJS.WritableStream;
  return {
    out,
    err,
    stack: 'demo',
    stateDir,
    local: false,
    json,
    aws: new AwsClients({ region: REGION }),
    reporter: createReporter({ json, interactive: false, stdout: sink(out), stderr: sink(err) }),
    clock: fakeClock(),
    runner: scriptedRunner(),
    signal: new AbortController().signal,
  };
}

describe('assembleReport', () => {
  it('measures from the stop, counts the gap, and fails on failures over --max-failures', () => {
    const report = assembleReport(input());
    expect(report).toMatchObject({
      startedAt: '2026-11-26T22:15:00.000Z',
      stopRequestedAt: '2026-11-26T22:15:01.000Z',
      settings: { rps: 10, baselineSeconds: 1, settleSeconds: 1, timeoutSeconds: 60, maxFailures: 0, force: false },
      recovered: true,
      recoverySeconds: 3.5,
      duringRecovery: { fromSeconds: 0, toSeconds: 3.5, requests: 2, successes: 1, failures: 1, longestOutageMs: 1010, azs: [{ az: 'us-east-1b', successes: 1, share: 1 }] },
      failedRequests: [{ seconds: 0.5, outcome: 'refused', error: 'ECONNREFUSED: connect ECONNREFUSED' }],
      passed: false,
      verdict: '1 of 5 requests failed, more than --max-failures 0',
    });
    expect(assembleReport(input({ options: { ...input().options, maxFailures: 1 } })).verdict).toBe('recovered in 3.5s; 1 of 5 requests failed (allowed 1)');
  });

  it('an interruption before the stop: no timeline, no gap, times relative to the start', () => {
    const report = assembleReport(input({ t0: undefined, victims: [], replacements: [], timeline: [], recoveredAt: undefined, lastSeen: ['nothing was stopped'], interrupted: true }));
    expect(report).toMatchObject({ stopRequestedAt: null, recovered: false, recoverySeconds: null, duringRecovery: null, passed: false });
    expect(report.verdict).toBe('interrupted before the test finished; 1 of 5 requests failed, more than --max-failures 0');
    expect(report.failedRequests[0]?.seconds).toBe(1.5);
    expect(renderChaosLines(report)).toContain('  (nothing was stopped)');
  });
});

describe('writing and concluding', () => {
  it('names the file by stack and UTC start, mode 0600, never overwriting an earlier report', () => {
    expect(reportTimestamp(START)).toBe('20261126T221500Z');
    const dir = mkdtempSync(join(tmpdir(), 'ecs-ha-report-'));
    const report = assembleReport(input());
    const first = writeChaosReport(dir, report);
    const second = writeChaosReport(dir, report);
    expect(first).toBe(join(dir, 'reports', 'demo-20261126T221500Z.json'));
    expect(second).toBe(join(dir, 'reports', 'demo-20261126T221500Z-2.json'));
    expect(statSync(first).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'reports')).mode & 0o777).toBe(0o700);
    expect(JSON.parse(readFileSync(second, 'utf8'))).toEqual(report);
  });

  it('--json prints the report as one JSON document, the path on stderr, then exit 1 when it failed', () => {
    const s = session(mkdtempSync(join(tmpdir(), 'ecs-ha-report-')), true);
    const report = assembleReport(input());
    // The report is the one JSON document on stdout: the error that sets exit 1 adds none (resultPrinted).
    expect(() => concludeChaos(s, report)).toThrow(expect.objectContaining({ exitCode: ExitCode.failed, resultPrinted: true, message: 'chaos test failed: 1 of 5 requests failed, more than --max-failures 0' }));
    expect(JSON.parse(s.out.join(''))).toEqual(report);
    const path = join(s.stateDir, 'reports', 'demo-20261126T221500Z');
    expect(s.err.join('')).toBe(`report written to ${path}.json\npage written to ${path}.html (chart, timeline and failed requests; open it in a browser)\n`);
    expect(statSync(`${path}.html`).mode & 0o777).toBe(0o600);
    expect(readFileSync(`${path}.html`, 'utf8')).toContain('<p class="verdict fail" data-passed="false">FAIL: 1 of 5 requests failed');
  });

  it('renders failures by kind, latency, backends and the AZs that served the gap', () => {
    const lines = renderChaosLines(assembleReport(input()));
    expect(lines).toEqual([
      'Chaos test kill-one on stack "demo" (http://demo)',
      '  stopped:      aaa (us-east-1a, 10.0.1.10)',
      '  replacements: ccc (us-east-1a, 10.0.1.30)',
      '',
      'Timeline (seconds after the stop):',
      '  +0.0s  stop requested       task aaa (us-east-1a)',
      '  +2.0s  replacement healthy  task ccc (us-east-1a)',
      '  +3.5s  steady',
      '',
      'What a user saw (http://demo, 10 requests/s):',
      '  requests:       5 sent, 4 ok, 1 failed (error rate 20.0%)',
      '  failures:       refused 1',
      '  longest outage: 1500 ms',
      '  latency:        p50 10.0 ms, p95 10.0 ms, p99 10.0 ms',
      '  backends:       host-us-east-1a (us-east-1a) 50.0%, host-us-east-1b (us-east-1b) 50.0%',
      '  AZs:            us-east-1a 50.0%, us-east-1b 50.0%',
      '  stop → recovery (+0.0s to +3.5s): 2 requests, 1 ok, 1 failed; served by us-east-1b 100.0%',
      '',
      'FAIL: 1 of 5 requests failed, more than --max-failures 0',
    ]);
  });
});

describe('the zone drill in the report', () => {
  const plan = {
    az: 'us-east-1a',
    subnets: ['subnet-aaa', 'subnet-bbb', 'subnet-ccc'],
    zones: ['us-east-1a', 'us-east-1b', 'us-east-1c'],
    excludedSubnets: ['subnet-aaa'],
    awsvpc: { subnets: ['subnet-aaa', 'subnet-bbb', 'subnet-ccc'], securityGroups: ['sg-1'], assignPublicIp: 'ENABLED' as const },
  };
  const drill = (overrides: Partial<ZoneDrillInput> = {}): ZoneDrillInput => ({
    plan,
    holdMs: 0,
    restore: true,
    excludedAt: START + 900,
    restoredAt: START + 5000,
    startedInFailedZone: [],
    tasksBefore: { 'us-east-1a': 1, 'us-east-1b': 1, 'us-east-1c': 0 },
    tasksAtRecovery: { 'us-east-1a': 0, 'us-east-1b': 1, 'us-east-1c': 1 },
    tasksAtEnd: { 'us-east-1a': 1, 'us-east-1b': 1, 'us-east-1c': 0 },
    rebalancedAt: START + 9000,
    rebalanceLastSeen: [],
    ...overrides,
  });
  const drillInput = (overrides: Partial<ZoneDrillInput> = {}, rest: Partial<ReportInput> = {}): ReportInput =>
    input({
      options: parseChaosOptions({ killAz: 'us-east-1a', rps: '10', baseline: '1', settle: '1', timeout: '60', maxFailures: '5' }),
      replacements: [{ id: 'ccc', az: 'us-east-1c', ip: '10.0.3.30' }, { id: 'ddd', az: 'us-east-1b', ip: '10.0.2.40' }],
      zoneDrill: drill(overrides),
      ...rest,
    });

  it('reports the subnets left out and given back, where each new task landed, and the rebalance, relative to the stop', () => {
    const report = assembleReport(drillInput());
    expect(report.zoneDrill).toEqual({
      az: 'us-east-1a',
      subnets: plan.subnets,
      excludedSubnets: ['subnet-aaa'],
      excludedSeconds: -0.1,
      holdSeconds: 0,
      restore: true,
      restoredSeconds: 4,
      restoreError: null,
      startedInFailedZone: [],
      tasksPerAz: { before: drill().tasksBefore, recovered: drill().tasksAtRecovery, end: drill().tasksAtEnd },
      rebalancedSeconds: 8,
      rebalanceLastSeen: [],
    });
    expect(report.verdict).toBe('recovered in 3.5s with every new task outside us-east-1a; us-east-1a restored at +4.0s, rebalanced at +8.0s; 1 of 5 requests failed (allowed 5)');
    expect(chaosReportProblem(JSON.parse(JSON.stringify(report)))).toBeUndefined();
    const lines = renderChaosLines(report);
    expect(lines.slice(3, 10)).toEqual([
      '',
      'Zone drill (us-east-1a):',
      '  zone taken away: us-east-1a: subnets subnet-aaa left out at -0.1s; the service kept subnet-bbb, subnet-ccc',
      '  landed in:       us-east-1b 1, us-east-1c 1 (none in us-east-1a)',
      '  tasks per AZ:    before us-east-1a 1, us-east-1b 1, us-east-1c 0; recovered us-east-1a 0, us-east-1b 1, us-east-1c 1; end us-east-1a 1, us-east-1b 1, us-east-1c 0',
      '  restored:        at +4.0s: subnets subnet-aaa, subnet-bbb, subnet-ccc',
      '  rebalanced:      at +8.0s',
    ]);
  });

  it('fails on a task in the zone taken away, a restore that failed, or no rebalance within --timeout', () => {
    const inZone = assembleReport(drillInput({ startedInFailedZone: [{ id: 'eee', az: 'us-east-1a' }] }));
    expect(inZone).toMatchObject({ passed: false, verdict: 'task eee started in us-east-1a, the zone the drill took away' });
    const broken = assembleReport(drillInput({ restoredAt: undefined, rebalancedAt: undefined, restoreError: 'Rate exceeded' }));
    expect(broken.verdict).toBe('the subnets of us-east-1a could not be given back (Rate exceeded): run `ecs-ha up`');
    expect(renderChaosLines(broken)).toContain('  restored:        FAILED (Rate exceeded): run `ecs-ha up` to give subnet-aaa back');
    const unbalanced = assembleReport(drillInput({ rebalancedAt: undefined, rebalanceLastSeen: ['tasks not spread evenly: us-east-1a 2, us-east-1b 0, us-east-1c 0'] }));
    expect(unbalanced.verdict).toBe('not rebalanced within 60s of the restore (last seen: tasks not spread evenly: us-east-1a 2, us-east-1b 0, us-east-1c 0)');
    // Not followed after an interruption: the interruption is the reason, not the rebalance.
    const interrupted = assembleReport(drillInput({ rebalancedAt: undefined }, { interrupted: true }));
    expect(interrupted.verdict).toBe('interrupted before the test finished');
  });

  it('the page shows the drill rows and marks the zone leaving, coming back and the rebalance', () => {
    const report = assembleReport(
      drillInput({}, {
        timeline: [
          { event: 'zone excluded', seconds: -0.1, detail: 'subnets subnet-aaa left out' },
          { event: 'stop requested', seconds: 0, taskId: 'aaa' },
          { event: 'deployment move', seconds: 2, taskId: 'bbb', detail: 'stopped by ECS: the change of subnets is a new deployment' },
          { event: 'steady', seconds: 3.5 },
          { event: 'zone restored', seconds: 4, detail: 'subnets subnet-aaa, subnet-bbb, subnet-ccc' },
          { event: 'rebalanced', seconds: 8, detail: 'us-east-1a 1, us-east-1b 1, us-east-1c 0' },
        ],
      }),
    );
    const page = chaosDocument(report, '2026-11-26T22:20:00.000Z');
    expect(page.summaryRows).toEqual(expect.arrayContaining([
      ['zone taken away', 'us-east-1a: subnets subnet-aaa left out at -0.1s; the service kept subnet-bbb, subnet-ccc'],
      ['landed in', 'us-east-1b 1, us-east-1c 1 (none in us-east-1a)'],
      ['restored', 'at +4.0s: subnets subnet-aaa, subnet-bbb, subnet-ccc'],
      ['rebalanced', 'at +8.0s'],
    ]));
    expect(page.markers.map((m) => [m.label, m.kind])).toEqual([
      ['zone excluded', 'action'],
      ['stop requested', 'action'],
      ['deployment move', 'info'],
      ['steady', 'done'],
      ['zone restored', 'action'],
      ['rebalanced', 'done'],
    ]);
  });

  it('a report without a drill (kill-one, or an earlier version) is still read; a malformed drill is refused', () => {
    const plain = JSON.parse(JSON.stringify(assembleReport(input())));
    expect(plain.zoneDrill).toBeUndefined();
    expect(chaosReportProblem(plain)).toBeUndefined();
    const stored = JSON.parse(JSON.stringify(assembleReport(drillInput())));
    expect(chaosReportProblem({ ...stored, zoneDrill: { ...stored.zoneDrill, excludedSubnets: 'subnet-aaa' } })).toBe('"zoneDrill" has no "az", "subnets" or "excludedSubnets"');
    expect(chaosReportProblem({ ...stored, zoneDrill: { ...stored.zoneDrill, restoredSeconds: 'soon' } })).toBe('"zoneDrill" has a time that is neither a number nor null');
    expect(chaosReportProblem({ ...stored, zoneDrill: { ...stored.zoneDrill, tasksPerAz: { before: { a: 'x' } } } })).toBe('"zoneDrill" "tasksPerAz" is incomplete');
    expect(chaosReportProblem({ ...stored, zoneDrill: null })).toBe('"zoneDrill" is not an object');
  });
});
