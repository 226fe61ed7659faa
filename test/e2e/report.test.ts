/**
 * `ecs-ha report` as a user runs it: the built CLI in a folder of its own, with no AWS endpoint
 * that answers (it makes no AWS call). The report JSON it reads is one `chaos` assembles.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assembleReport, reportTimestamp, type ChaosReport } from '../../src/chaos/report.js';
import { realisticChaosInput, shiftedBy, START } from '../unit/report/fixtures.js';
import { drawnBars, drawnMarkers } from '../unit/report/page.js';
import { emulatorEnv, runCli, tempDir } from './harness.js';

// Nothing listens here: an AWS call would fail.
const env = emulatorEnv('http://127.0.0.1:9');

/** Writes a chaos report of `stack` where `chaos` would, as `chaos` would name it. */
function placeReport(cwd: string, stack: string, startedAt: number, passed: boolean): { path: string; report: ChaosReport } {
  const input = shiftedBy(realisticChaosInput(), startedAt - START);
  const report = assembleReport({ ...input, stack, options: { ...input.options, maxFailures: passed ? 100 : 0 } });
  const dir = join(cwd, '.ecs-ha', 'reports');
  mkdirSync(dir, { recursive: true });
  const path = join('.ecs-ha', 'reports', `${stack}-${reportTimestamp(startedAt)}.json`);
  writeFileSync(join(cwd, path), JSON.stringify(report, null, 2));
  return { path, report };
}

describe('ecs-ha report', () => {
  it('lists nothing in a folder without reports, and exits 0', async () => {
    const cwd = tempDir();
    const listed = await runCli(['report'], { cwd, env });
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toBe('');
    expect(listed.stderr).toBe(`no report in ${join('.ecs-ha', 'reports')}\n`);
    const json = await runCli(['report', '--json', '--stack', 'demo'], { cwd, env });
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual([]);
  });

  it('lists the reports oldest first, of one stack with --stack, and re-renders one into its page', async () => {
    const cwd = tempDir();
    const newer = placeReport(cwd, 'demo', START + 3_600_000, true);
    const older = placeReport(cwd, 'demo', START, false);
    const other = placeReport(cwd, 'other', START + 60_000, true);

    const listed = await runCli(['report'], { cwd, env });
    expect(listed.code, listed.stderr).toBe(0);
    const lines = listed.stdout.trimEnd().split('\n');
    expect(lines.map((line) => line.split(/\s+/).slice(0, 4))).toEqual([
      ['2026-11-26T22:15:00Z', 'chaos', 'FAIL', older.path],
      ['2026-11-26T22:16:00Z', 'chaos', 'PASS', other.path],
      ['2026-11-26T23:15:00Z', 'chaos', 'PASS', newer.path],
    ]);
    expect(lines[0]).toContain(older.report.verdict);

    const demo = await runCli(['report', '--stack', 'demo', '--json', '--state-dir', '.ecs-ha'], { cwd, env });
    expect(demo.code, demo.stderr).toBe(0);
    expect(JSON.parse(demo.stdout)).toEqual([
      { kind: 'chaos', stack: 'demo', startedAt: older.report.startedAt, passed: false, verdict: older.report.verdict, path: older.path, html: null },
      { kind: 'chaos', stack: 'demo', startedAt: newer.report.startedAt, passed: true, verdict: newer.report.verdict, path: newer.path, html: null },
    ]);

    const rendered = await runCli(['report', older.path], { cwd, env });
    expect(rendered.code, rendered.stderr).toBe(0);
    const page = older.path.replace(/\.json$/, '.html');
    expect(rendered.stdout).toBe(`${page}\n`);
    expect(statSync(join(cwd, page)).mode & 0o777).toBe(0o600);
    const html = readFileSync(join(cwd, page), 'utf8');
    const bars = drawnBars(html);
    expect(bars.map((b) => [b.t, b.ok, b.failed])).toEqual(older.report.series.map((b) => [b.t, b.ok, b.failed]));
    expect(drawnMarkers(html).map((m) => m.label)).toEqual(older.report.timeline.map((e) => e.event));

    // The list now names the page; a second render replaces it.
    const after = await runCli(['report', '--json', '--stack', 'demo'], { cwd, env });
    expect(JSON.parse(after.stdout)[0].html).toBe(page);
    const again = await runCli(['report', older.path, '--json'], { cwd, env });
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual({ report: older.path, html: page });
  });

  it('refuses a file that is missing, not JSON or not a report: exit 2, naming the file and what it expects', async () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, 'notes.txt'), 'hello');
    writeFileSync(join(cwd, 'state.json'), JSON.stringify({ schemaVersion: 1, stack: 'demo', resources: {} }));
    const cases: Array<[string, string]> = [
      ['missing.json', 'cannot read the report "missing.json": it does not exist'],
      ['notes.txt', '"notes.txt" is not a report: it is not JSON'],
      ['state.json', '"state.json" is not an ecs-ha report (not a chaos report: it has no "mode" of kill-one or kill-az; not a deploy report: it has no "command" of deploy or rollback)'],
    ];
    for (const [file, message] of cases) {
      const result = await runCli(['report', file], { cwd, env });
      expect(result.code, file).toBe(2);
      expect(result.stderr).toContain(`error: ${message}`);
      expect(result.stderr).toContain('hint: give the path of a JSON report that `ecs-ha chaos` (or `deploy`) wrote to <state-dir>/reports/');
      expect(existsSync(join(cwd, file.replace(/\.[a-z]+$/, '.html')))).toBe(false);
    }
    const badStack = await runCli(['report', '--stack', 'Not_A_Stack'], { cwd, env });
    expect(badStack.code).toBe(2);
    expect(badStack.stderr).toContain('invalid --stack "Not_A_Stack"');
  });
});
