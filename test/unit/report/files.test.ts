import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assembleReport, writeChaosReport, type ChaosReport } from '../../../src/chaos/report.js';
import { ExitCode } from '../../../src/errors.js';
import { chaosDocument } from '../../../src/report/chaos.js';
import { htmlPathBeside, listReports, readReportFile, writeReportPage } from '../../../src/report/files.js';
import { realisticChaosInput, shiftedBy, START } from './fixtures.js';
import { drawnBars } from './page.js';

const stateDir = (): string => mkdtempSync(join(tmpdir(), 'ecs-ha-reports-'));

function reportOf(stack: string, startedAt: number, passed: boolean): ChaosReport {
  const input = shiftedBy(realisticChaosInput(), startedAt - START);
  return assembleReport({ ...input, stack, options: { ...input.options, maxFailures: passed ? 100 : 0 } });
}

describe('the page beside a report', () => {
  it('is written beside its JSON, 0600, replaced atomically when written again, never through a link', () => {
    const dir = stateDir();
    const report = assembleReport(realisticChaosInput());
    const json = writeChaosReport(dir, report);
    const page = writeReportPage(json, chaosDocument(report));
    expect(page).toBe(json.replace(/\.json$/, '.html'));
    expect(statSync(page).mode & 0o777).toBe(0o600);
    expect(drawnBars(readFileSync(page, 'utf8')).length).toBeGreaterThan(0);

    // Someone plants a link where the page goes: the link is replaced, its target left alone.
    const target = join(dir, 'elsewhere.txt');
    writeFileSync(target, 'keep me');
    const again = join(dir, 'reports', 'planted.json');
    writeFileSync(again, JSON.stringify(report));
    symlinkSync(target, htmlPathBeside(again));
    writeReportPage(again, chaosDocument(report));
    expect(readFileSync(target, 'utf8')).toBe('keep me');
    expect(lstatSync(htmlPathBeside(again)).isSymbolicLink()).toBe(false);
    expect(htmlPathBeside('a/b.report')).toBe('a/b.report.html');
  });
});

function write(folder: string, name: string, content = '<!doctype html>'): string {
  const path = join(folder, name);
  writeFileSync(path, content);
  return path;
}

describe('reading a report back', () => {
  it('recognises a chaos report, and one of an earlier version without series', () => {
    const dir = stateDir();
    const report = assembleReport(realisticChaosInput());
    const recognized = readReportFile(write(dir, 'r.json', JSON.stringify(report)));
    expect(recognized).toMatchObject({ kind: 'chaos', stack: 'demo', startedAt: report.startedAt, passed: false, verdict: report.verdict });
    expect(recognized.document('x').series).toEqual(report.series);
    const { series: _series, ...older } = report;
    expect(readReportFile(write(dir, 'old.json', JSON.stringify(older))).document().series).toEqual([]);
  });

  it('refuses (exit 2) a file that is missing, a folder, not JSON or not a report, naming it and what is wrong', () => {
    const dir = stateDir();
    const report = JSON.parse(JSON.stringify(assembleReport(realisticChaosInput()))) as Record<string, unknown>;
    const cases: Array<[string, string]> = [
      [join(dir, 'missing.json'), 'it does not exist'],
      [dir, 'it is a folder'],
      [write(dir, 'page.html'), 'it is not JSON'],
      [write(dir, 'state.json', JSON.stringify({ schemaVersion: 1, stack: 'demo', resources: {} })), 'not a chaos report: it has no "mode" of kill-one or kill-az'],
      [write(dir, 'list.json', '[1, 2]'), 'not a chaos report: it is not a JSON object'],
      [write(dir, 'no-saw.json', JSON.stringify({ ...report, userSaw: { requests: 'many' } })), '"userSaw" is incomplete'],
      [write(dir, 'bad-series.json', JSON.stringify({ ...report, series: [{ t: 0, ok: '3' }] })), 'a bucket of "series" is malformed'],
      [write(dir, 'bad-event.json', JSON.stringify({ ...report, timeline: [{ event: 'steady' }] })), 'an event of "timeline" has no "event" or "seconds"'],
    ];
    for (const [file, why] of cases) {
      expect(() => readReportFile(file), file).toThrow(expect.objectContaining({ exitCode: ExitCode.usage, message: expect.stringContaining(file) }));
      expect(() => readReportFile(file), file).toThrow(why);
    }
  });
});

describe('listing the reports', () => {
  it('oldest first, of one stack or all, with the page when there is one; other JSON files are skipped with the reason', () => {
    const dir = stateDir();
    const newer = writeChaosReport(dir, reportOf('demo', START + 60_000, true));
    const older = writeChaosReport(dir, reportOf('demo', START, false));
    const otherStack = writeChaosReport(dir, reportOf('demo-2', START + 30_000, true));
    writeReportPage(older, chaosDocument(reportOf('demo', START, false)));
    writeFileSync(join(dir, 'reports', 'notes.json'), '{"hello": "world"}');
    writeFileSync(join(dir, 'reports', 'broken.json'), '{"mode": ');
    writeFileSync(join(dir, 'reports', 'readme.txt'), 'not a report');

    const all = listReports(dir);
    expect(all.reports.map((r) => [r.path, r.stack, r.passed, r.html])).toEqual([
      [older, 'demo', false, htmlPathBeside(older)],
      [otherStack, 'demo-2', true, null],
      [newer, 'demo', true, null],
    ]);
    expect(all.skipped.map((s) => s.path)).toEqual([join(dir, 'reports', 'broken.json'), join(dir, 'reports', 'notes.json')]);
    expect(all.skipped[0]?.reason).toContain('it is not JSON');

    // "demo" is a prefix of "demo-2": the filter goes by the report's stack, not its file name.
    expect(listReports(dir, 'demo').reports.map((r) => r.path)).toEqual([older, newer]);
    expect(listReports(dir, 'demo-2').reports.map((r) => r.path)).toEqual([otherStack]);
  });

  it('no reports folder yet is an empty list', () => {
    const dir = stateDir();
    expect(listReports(dir)).toEqual({ reports: [], skipped: [] });
    mkdirSync(join(dir, 'reports'));
    expect(listReports(dir, 'demo')).toEqual({ reports: [], skipped: [] });
    expect(existsSync(join(dir, 'reports'))).toBe(true);
  });
});
