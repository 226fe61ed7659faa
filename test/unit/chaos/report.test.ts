import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AwsClients } from '../../../src/aws/clients.js';
import { parseChaosOptions } from '../../../src/chaos/options.js';
import { assembleReport, concludeChaos, renderChaosLines, reportTimestamp, writeChaosReport, type ReportInput } from '../../../src/chaos/report.js';
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
    expect(() => concludeChaos(s, report)).toThrow(expect.objectContaining({ exitCode: ExitCode.failed, message: 'chaos test failed: 1 of 5 requests failed, more than --max-failures 0' }));
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
