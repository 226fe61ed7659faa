/** What the chaos report keeps for its page, and how `chaos` writes the page beside its JSON. */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AwsClients } from '../../../src/aws/clients.js';
import { assembleReport, concludeChaos, reportTimestamp } from '../../../src/chaos/report.js';
import { ExitCode } from '../../../src/errors.js';
import type { Session } from '../../../src/session.js';
import { createReporter } from '../../../src/ui/reporter.js';
import { fakeClock, REGION, scriptedRunner } from '../../helpers/context.js';
import { realisticChaosInput, START, T0 } from './fixtures.js';
import { drawnBars } from './page.js';

function session(stateDir: string): Session & { err: string[] } {
  const err: string[] = [];
  const sink = (lines: string[]) => ({ write: (text: string) => lines.push(text) > 0 }) as unknown as NodeJS.WritableStream;
  return {
    err,
    stack: 'demo',
    stateDir,
    local: false,
    json: true,
    aws: new AwsClients({ region: REGION }),
    reporter: createReporter({ json: true, interactive: false, stdout: sink([]), stderr: sink(err) }),
    clock: fakeClock(),
    runner: scriptedRunner(),
    signal: new AbortController().signal,
  };
}

describe('the series in the chaos report', () => {
  it('counts every request once, per second after the stop', () => {
    const input = realisticChaosInput();
    const report = assembleReport(input);
    const totals = report.series.reduce((sum, b) => ({ ok: sum.ok + b.ok, failed: sum.failed + b.failed }), { ok: 0, failed: 0 });
    expect(totals).toEqual({ ok: report.userSaw.successes, failed: report.userSaw.failures });
    // The first request was sent 5.037 s before the stop: second -6.
    expect(report.series[0]?.t).toBe(Math.floor((START - T0) / 1000));
    expect(report.series.find((b) => b.t === 0)?.failed).toBe(input.probe.records.filter((r) => r.outcome !== 'ok' && r.startedAt >= T0 && r.startedAt < T0 + 1000).length);
  });

  it('counts from the start when nothing was stopped, as the failed requests do', () => {
    const report = assembleReport({ ...realisticChaosInput(), t0: undefined, timeline: [], recoveredAt: undefined, interrupted: true });
    expect(report.series[0]?.t).toBe(0);
    const firstFailure = report.failedRequests[0]!.seconds;
    expect(report.series.find((b) => b.failed > 0)?.t).toBe(Math.floor(firstFailure));
  });
});

describe('concludeChaos', () => {
  it('a page that cannot be written is warned about; the JSON and the exit code stay as they are', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ecs-ha-page-'));
    const report = assembleReport(realisticChaosInput());
    const base = join(dir, 'reports', `demo-${reportTimestamp(START)}`);
    mkdirSync(`${base}.html`, { recursive: true }); // a folder where the page goes
    const s = session(dir);
    expect(() => concludeChaos(s, report)).toThrow(expect.objectContaining({ exitCode: ExitCode.failed }));
    expect(JSON.parse(readFileSync(`${base}.json`, 'utf8'))).toEqual(report);
    expect(s.err.join('')).toContain(`⚠ could not write the report's page: `);
    expect(s.err.join('')).toContain(`\`ecs-ha report ${base}.json\` tries again`);
    expect(readdirSync(join(dir, 'reports')).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('writes the page beside the JSON, drawn from the same series', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ecs-ha-page-'));
    const input = realisticChaosInput();
    const report = assembleReport({ ...input, options: { ...input.options, maxFailures: 10 } });
    expect(report.passed).toBe(true);
    const path = concludeChaos(session(dir), report);
    const bars = drawnBars(readFileSync(path.replace(/\.json$/, '.html'), 'utf8'));
    expect(bars.map((b) => [b.t, b.ok, b.failed])).toEqual(report.series.map((b) => [b.t, b.ok, b.failed]));
  });
});
