/**
 * The kinds of report `ecs-ha report` can list and draw. Each tells its own JSON from anything
 * else and maps it to the page's document; a command that writes a new kind of measured report
 * (deploy) adds its kind to REPORT_KINDS.
 */
import { chaosDocument, chaosReportProblem, type StoredChaosReport } from './chaos.js';
import type { RolloutReport } from '../deploy/report.js';
import { rolloutDocument, rolloutReportProblem } from './deploy.js';
import type { MeasuredRunDocument } from './document.js';

/** A report file's content, recognised as one kind of measured run. */
export interface RecognizedReport {
  kind: MeasuredRunDocument['kind'];
  stack: string;
  /** When the run started, ISO 8601: reports are listed in this order. */
  startedAt: string;
  passed: boolean;
  /** Why it passed or failed, one sentence. */
  verdict: string;
  document(generatedAt?: string): MeasuredRunDocument;
}

export interface ReportKind {
  kind: MeasuredRunDocument['kind'];
  /** The report `value` holds, or why it is not a report of this kind. */
  recognize(value: unknown): RecognizedReport | { problem: string };
}

export const chaosReports: ReportKind = {
  kind: 'chaos',
  recognize(value) {
    const problem = chaosReportProblem(value);
    if (problem !== undefined) return { problem };
    const report = value as StoredChaosReport;
    return {
      kind: 'chaos',
      stack: report.stack,
      startedAt: report.startedAt,
      passed: report.passed,
      verdict: report.verdict,
      document: (generatedAt) => chaosDocument(report, generatedAt),
    };
  },
};

export const rolloutReports: ReportKind = {
  kind: 'deploy',
  recognize(value) {
    const problem = rolloutReportProblem(value);
    if (problem !== undefined) return { problem };
    const report = value as RolloutReport;
    return {
      kind: report.command,
      stack: report.stack,
      startedAt: report.startedAt,
      passed: report.passed,
      verdict: report.verdict,
      document: (generatedAt) => rolloutDocument(report, generatedAt),
    };
  },
};

export const REPORT_KINDS: readonly ReportKind[] = [chaosReports, rolloutReports];

/** The report in `value`, or, for each kind, why it is not one. */
export function recognizeReport(value: unknown, kinds: readonly ReportKind[] = REPORT_KINDS): RecognizedReport | { problems: string[] } {
  const problems: string[] = [];
  for (const kind of kinds) {
    const result = kind.recognize(value);
    if (!('problem' in result)) return result;
    problems.push(`not a ${kind.kind} report: ${result.problem}`);
  }
  return { problems };
}
