import { validateStackName } from '../config.js';
import { listReports, readReportFile, reportsFolder, writeReportPage } from '../report/files.js';
import { createReporter } from '../ui/reporter.js';

export interface ReportCliOptions {
  stack?: string;
  stateDir: string;
  json?: boolean;
}

/**
 * `ecs-ha report [FILE]`: without FILE, lists the measured runs' reports in `<state-dir>/reports/`
 * (oldest first, so the newest is next to the prompt); with FILE, a report's JSON, (re)writes
 * its HTML page beside it. Reads local files only: no AWS call, no credentials.
 */
export async function reportAction(file: string | undefined, options: ReportCliOptions): Promise<void> {
  const stack = options.stack !== undefined ? validateStackName(options.stack) : undefined;
  const json = Boolean(options.json);
  const reporter = createReporter({ json, interactive: false });

  if (file !== undefined) {
    const report = readReportFile(file);
    const html = writeReportPage(file, report.document());
    if (json) reporter.json({ report: file, html });
    else reporter.result(html);
    return;
  }

  const { reports, skipped } = listReports(options.stateDir, stack);
  for (const { reason } of skipped) reporter.warn(`skipped: ${reason}`);
  if (json) {
    reporter.json(reports);
    return;
  }
  if (reports.length === 0) {
    reporter.info(`no report in ${reportsFolder(options.stateDir)}${stack !== undefined ? ` for stack "${stack}"` : ''}`);
    return;
  }
  const kindWidth = Math.max(...reports.map((r) => r.kind.length));
  const pathWidth = Math.max(...reports.map((r) => r.path.length));
  for (const r of reports) {
    const time = r.startedAt.replace(/\.\d{3}Z$/, 'Z');
    reporter.result(`${time}  ${r.kind.padEnd(kindWidth)}  ${r.passed ? 'PASS' : 'FAIL'}  ${r.path.padEnd(pathWidth)}  ${r.verdict}`);
  }
}
