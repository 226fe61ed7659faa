/**
 * Report files: the page written beside its JSON, a report JSON read back, and the reports in
 * `<state-dir>/reports/` listed. No AWS, no network.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { writeFileAtomic } from '../fs/safe.js';
import type { MeasuredRunDocument } from './document.js';
import { renderHtmlReport } from './html.js';
import { recognizeReport, type RecognizedReport } from './kinds.js';

/** `reports/demo-20261130T043255Z.json` → `reports/demo-20261130T043255Z.html`. */
export function htmlPathBeside(jsonPath: string): string {
  return jsonPath.endsWith('.json') ? `${jsonPath.slice(0, -'.json'.length)}.html` : `${jsonPath}.html`;
}

/**
 * Writes the page of `doc` beside its JSON report, 0600 like the JSON, atomically (a reader never
 * sees half a page; an existing page is replaced, a symbolic link in its place too, not followed).
 * Returns the page's path.
 */
export function writeReportPage(jsonPath: string, doc: MeasuredRunDocument): string {
  const path = htmlPathBeside(jsonPath);
  writeFileAtomic(path, renderHtmlReport(doc));
  return path;
}

const WHAT_IS_EXPECTED = 'give the path of a JSON report that `ecs-ha chaos` (or `deploy`) wrote to <state-dir>/reports/; `ecs-ha report` lists them';

function readJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'it does not exist' : code === 'EISDIR' ? 'it is a folder' : (error as Error).message;
    throw new UsageError(`cannot read the report "${file}": ${why}`, WHAT_IS_EXPECTED);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new UsageError(`"${file}" is not a report: it is not JSON (${(error as Error).message})`, WHAT_IS_EXPECTED);
  }
}

/** The report in `file`; UsageError (exit 2) naming the file when it cannot be read, is not JSON or not a report. */
export function readReportFile(file: string): RecognizedReport {
  const recognized = recognizeReport(readJson(file));
  if ('problems' in recognized) throw new UsageError(`"${file}" is not an ecs-ha report (${recognized.problems.join('; ')})`, WHAT_IS_EXPECTED);
  return recognized;
}

export interface ListedReport {
  kind: RecognizedReport['kind'];
  stack: string;
  startedAt: string;
  passed: boolean;
  verdict: string;
  path: string;
  /** The page beside it, or null when there is none (yet: `ecs-ha report <path>` writes it). */
  html: string | null;
}

export function reportsFolder(stateDir: string): string {
  return join(stateDir, 'reports');
}

/**
 * The reports in `<stateDir>/reports/` (of `stack` only, when given), oldest first; JSON files
 * there that are not reports are returned as skipped, with the reason.
 */
export function listReports(stateDir: string, stack?: string): { reports: ListedReport[]; skipped: Array<{ path: string; reason: string }> } {
  const dir = reportsFolder(stateDir);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { reports: [], skipped: [] };
    throw error;
  }
  const reports: ListedReport[] = [];
  const skipped: Array<{ path: string; reason: string }> = [];
  for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
    const path = join(dir, name);
    let report: RecognizedReport;
    try {
      report = readReportFile(path);
    } catch (error) {
      skipped.push({ path, reason: (error as Error).message });
      continue;
    }
    if (stack !== undefined && report.stack !== stack) continue;
    const html = htmlPathBeside(path);
    reports.push({ kind: report.kind, stack: report.stack, startedAt: report.startedAt, passed: report.passed, verdict: report.verdict, path, html: existsSync(html) ? html : null });
  }
  reports.sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt) || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { reports, skipped };
}
