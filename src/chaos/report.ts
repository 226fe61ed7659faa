/**
 * The chaos report: assembled from the tracker and the prober (pure), rendered for people or as
 * JSON, written to `<state-dir>/reports/` with its HTML page beside it, and turned into the exit code.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Session } from '../session.js';
import { InterruptedError, OperationError } from '../errors.js';
import { ensurePrivateDir } from '../fs/safe.js';
import { summarize, type AzShare, type ProbeOutcome, type ProbeReport, type ProbeSummary } from '../probe/prober.js';
import { chaosDocument } from '../report/chaos.js';
import { writeReportPage } from '../report/files.js';
import { buildSeries, type SeriesBucket } from '../report/series.js';
import type { ChaosOptions } from './options.js';
import { secondsAfter, type TaskRef, type TimelineEvent } from './timeline.js';
import { formatSeconds, signedSeconds, zoneDrillRows, type ZoneDrillPlan } from './zoneDrill.js';

/** What a zone drill (--kill-az) did to the service's subnets and where its tasks ran; seconds are relative to the stop. */
export interface ZoneDrillReport {
  az: string;
  /** The stack's subnets: what the service runs in normally, and was given back. */
  subnets: string[];
  /** The zone's subnets, left out of the service for the drill. */
  excludedSubnets: string[];
  /** When they were left out; null when the run ended before. */
  excludedSeconds: number | null;
  holdSeconds: number;
  /** false with --no-restore. */
  restore: boolean;
  /** When they were given back; null when they were not (--no-restore, an interruption before, or a failed call). */
  restoredSeconds: number | null;
  restoreError: string | null;
  /** Tasks ECS started in the zone while it was left out: each one fails the drill. */
  startedInFailedZone: TaskRef[];
  /** Running tasks per AZ before the drill, when the service had recovered, and at the last look. */
  tasksPerAz: { before: Record<string, number>; recovered: Record<string, number> | null; end: Record<string, number> | null };
  /** When the tasks were steady and spread over every zone again after the restore; null when not (yet). */
  rebalancedSeconds: number | null;
  /** What kept them from it at the last look; empty once rebalanced or when not followed. */
  rebalanceLastSeen: string[];
}

/** What the run hands over of a zone drill; times in ms of the run's clock. */
export interface ZoneDrillInput {
  plan: ZoneDrillPlan;
  holdMs: number;
  restore: boolean;
  excludedAt?: number;
  restoredAt?: number;
  restoreError?: string;
  startedInFailedZone: TaskRef[];
  tasksBefore: Record<string, number>;
  tasksAtRecovery?: Record<string, number>;
  tasksAtEnd?: Record<string, number>;
  rebalancedAt?: number;
  rebalanceLastSeen: string[];
}

export interface ChaosReport {
  stack: string;
  mode: 'kill-one' | 'kill-az';
  az?: string;
  url: string;
  /** When probing started and when the stop was requested (t0), ISO 8601. */
  startedAt: string;
  stopRequestedAt: string | null;
  settings: { rps: number; baselineSeconds: number; settleSeconds: number; timeoutSeconds: number; maxFailures: number; force: boolean };
  warnings: string[];
  victims: TaskRef[];
  /** Every task ECS started during the recovery, each with the AZ it landed in. */
  replacements: TaskRef[];
  /** With --kill-az: the zone drill. Absent from kill-one reports and from reports of earlier versions. */
  zoneDrill?: ZoneDrillReport;
  timeline: TimelineEvent[];
  recovered: boolean;
  /** Seconds from the stop to the service being steady again; null when it was not. */
  recoverySeconds: number | null;
  /** What still kept the service from being steady at the last look (empty once recovered). */
  lastSeen: string[];
  interrupted: boolean;
  /** What a user saw over the whole run (baseline, recovery and settle). */
  userSaw: ProbeSummary;
  /** The requests sent between the stop and recovery (or the end): which AZs answered during the gap. */
  duringRecovery: { fromSeconds: number; toSeconds: number; requests: number; successes: number; failures: number; longestOutageMs: number; azs: AzShare[] } | null;
  /** The failed requests (at most 100), seconds relative to the stop (negative: before it). */
  failedRequests: Array<{ seconds: number; outcome: ProbeOutcome; error?: string }>;
  /**
   * Every request, per second sent, from the same origin (the stop, or the start when nothing was
   * stopped): what the report's page draws, kept so that `ecs-ha report` can draw it again.
   */
  series: SeriesBucket[];
  passed: boolean;
  /** Why it passed or failed, in one sentence. */
  verdict: string;
}

export interface ReportInput {
  stack: string;
  url: string;
  options: ChaosOptions;
  startedAt: number;
  /** Undefined when the run was interrupted before anything was stopped. */
  t0?: number;
  victims: TaskRef[];
  replacements: TaskRef[];
  timeline: TimelineEvent[];
  recoveredAt?: number;
  lastSeen: string[];
  interrupted: boolean;
  warnings: string[];
  probe: ProbeReport;
  zoneDrill?: ZoneDrillInput;
}

const MAX_FAILED_LISTED = 100;

function zoneDrillReport(drill: ZoneDrillInput, origin: number): ZoneDrillReport {
  const at = (ms: number | undefined): number | null => (ms === undefined ? null : secondsAfter(origin, ms));
  return {
    az: drill.plan.az,
    subnets: drill.plan.subnets,
    excludedSubnets: drill.plan.excludedSubnets,
    excludedSeconds: at(drill.excludedAt),
    holdSeconds: drill.holdMs / 1000,
    restore: drill.restore,
    restoredSeconds: at(drill.restoredAt),
    restoreError: drill.restoreError ?? null,
    startedInFailedZone: drill.startedInFailedZone,
    tasksPerAz: { before: drill.tasksBefore, recovered: drill.tasksAtRecovery ?? null, end: drill.tasksAtEnd ?? null },
    rebalancedSeconds: at(drill.rebalancedAt),
    rebalanceLastSeen: drill.rebalanceLastSeen,
  };
}

/** Why a zone drill fails the test, beyond the recovery and the failed requests. */
function zoneDrillProblems(drill: ZoneDrillReport, recovered: boolean, interrupted: boolean, timeoutSeconds: number): string[] {
  const problems: string[] = [];
  if (drill.startedInFailedZone.length > 0) {
    problems.push(`${drill.startedInFailedZone.map((t) => `task ${t.id}`).join(', ')} started in ${drill.az}, the zone the drill took away`);
  }
  if (drill.restoreError !== null) problems.push(`the subnets of ${drill.az} could not be given back (${drill.restoreError}): run \`ecs-ha up\``);
  else if (drill.restoredSeconds !== null && recovered && !interrupted && drill.rebalancedSeconds === null) {
    problems.push(`not rebalanced within ${timeoutSeconds}s of the restore (last seen: ${drill.rebalanceLastSeen.join('; ') || 'nothing'})`);
  }
  return problems;
}

export function assembleReport(input: ReportInput): ChaosReport {
  const { options, t0, recoveredAt, probe } = input;
  const recovered = recoveredAt !== undefined;
  const failures = probe.summary.failures;
  const origin = t0 ?? probe.startedAt;
  let duringRecovery: ChaosReport['duringRecovery'] = null;
  if (t0 !== undefined) {
    const end = recoveredAt ?? probe.endedAt;
    const gap = summarize(probe.records, { start: t0, end });
    duringRecovery = {
      fromSeconds: 0,
      toSeconds: secondsAfter(t0, end),
      requests: gap.requests,
      successes: gap.successes,
      failures: gap.failures,
      longestOutageMs: gap.longestOutageMs,
      azs: gap.azs,
    };
  }
  const zoneDrill = input.zoneDrill ? zoneDrillReport(input.zoneDrill, origin) : undefined;
  const reasons: string[] = [];
  if (input.interrupted) reasons.push('interrupted before the test finished');
  else if (!recovered) reasons.push(`not recovered within ${options.timeoutMs / 1000}s (last seen: ${input.lastSeen.join('; ') || 'nothing'})`);
  if (zoneDrill) reasons.push(...zoneDrillProblems(zoneDrill, recovered, input.interrupted, options.timeoutMs / 1000));
  if (failures > options.maxFailures) reasons.push(`${failures} of ${probe.summary.requests} requests failed, more than --max-failures ${options.maxFailures}`);
  const passed = reasons.length === 0;
  const verdict = passed
    ? `recovered in ${formatSeconds(secondsAfter(origin, recoveredAt as number))}${zoneDrill ? zoneDrillVerdict(zoneDrill) : ''}; ${failures} of ${probe.summary.requests} requests failed (allowed ${options.maxFailures})`
    : reasons.join('; ');
  return {
    stack: input.stack,
    mode: options.mode.kind,
    ...(options.mode.kind === 'kill-az' ? { az: options.mode.az } : {}),
    url: input.url,
    startedAt: new Date(input.startedAt).toISOString(),
    stopRequestedAt: t0 === undefined ? null : new Date(t0).toISOString(),
    settings: {
      rps: options.rps,
      baselineSeconds: options.baselineMs / 1000,
      settleSeconds: options.settleMs / 1000,
      timeoutSeconds: options.timeoutMs / 1000,
      maxFailures: options.maxFailures,
      force: options.force,
    },
    warnings: input.warnings,
    victims: input.victims,
    replacements: input.replacements,
    ...(zoneDrill ? { zoneDrill } : {}),
    timeline: input.timeline,
    recovered,
    recoverySeconds: recovered ? secondsAfter(origin, recoveredAt) : null,
    lastSeen: recovered ? [] : input.lastSeen,
    interrupted: input.interrupted,
    userSaw: probe.summary,
    duringRecovery,
    failedRequests: probe.records
      .filter((r) => r.outcome !== 'ok')
      .slice(0, MAX_FAILED_LISTED)
      .map((r) => ({ seconds: secondsAfter(origin, r.startedAt), outcome: r.outcome, ...(r.error ? { error: r.error } : {}) })),
    series: buildSeries(probe.records, origin),
    passed,
    verdict,
  };
}


function zoneDrillVerdict(drill: ZoneDrillReport): string {
  const outside = ` with every new task outside ${drill.az}`;
  if (drill.restoredSeconds === null) return `${outside} (${drill.az} still left out)`;
  return `${outside}; ${drill.az} restored at ${signedSeconds(drill.restoredSeconds)}${drill.rebalancedSeconds !== null ? `, rebalanced at ${signedSeconds(drill.rebalancedSeconds)}` : ''}`;
}

const percent = (share: number): string => `${(share * 100).toFixed(1)}%`;
const ms = (value: number): string => `${value.toFixed(1)} ms`;

function taskLabel(report: ChaosReport, id: string | undefined): string {
  if (!id) return '';
  const task = [...report.victims, ...report.replacements].find((t) => t.id === id);
  return `task ${id}${task?.az ? ` (${task.az})` : ''}`;
}

/** The human rendering: victims, the timeline table, what a user saw, then PASS/FAIL and why. */
export function renderChaosLines(report: ChaosReport): string[] {
  const lines: string[] = [];
  const what = report.mode === 'kill-az' ? `kill-az ${report.az}` : 'kill-one';
  lines.push(`Chaos test ${what} on stack "${report.stack}" (${report.url})`);
  const list = (tasks: TaskRef[]): string => tasks.map((t) => `${t.id} (${[t.az, t.ip].filter(Boolean).join(', ') || 'no address'})`).join(', ') || 'none';
  lines.push(`  stopped:      ${list(report.victims)}`);
  lines.push(`  replacements: ${list(report.replacements)}`);
  if (report.zoneDrill) {
    lines.push('', `Zone drill (${report.zoneDrill.az}):`);
    for (const [label, text] of zoneDrillRows(report.zoneDrill, report.replacements)) lines.push(`  ${`${label}:`.padEnd(17)}${text}`);
  }
  lines.push('', 'Timeline (seconds after the stop):');
  const widthSeconds = Math.max(...report.timeline.map((e) => signedSeconds(e.seconds).length), 5);
  const widthEvent = Math.max(...report.timeline.map((e) => e.event.length), 5);
  for (const e of report.timeline) {
    const rest = [taskLabel(report, e.taskId), e.detail ? `[${e.detail}]` : ''].filter(Boolean).join(' ');
    lines.push(`  ${signedSeconds(e.seconds).padStart(widthSeconds)}  ${rest ? e.event.padEnd(widthEvent) : e.event}${rest ? `  ${rest}` : ''}`);
  }
  if (report.timeline.length === 0) lines.push('  (nothing was stopped)');

  const s = report.userSaw;
  lines.push('', `What a user saw (${report.url}, ${report.settings.rps} requests/s):`);
  lines.push(`  requests:       ${s.requests} sent, ${s.successes} ok, ${s.failures} failed (error rate ${percent(s.errorRate)})`);
  const kinds = Object.entries(s.failuresByKind).filter(([, n]) => n > 0);
  if (kinds.length > 0) lines.push(`  failures:       ${kinds.map(([kind, n]) => `${kind} ${n}`).join(', ')}`);
  lines.push(`  longest outage: ${s.longestOutageMs.toFixed(0)} ms`);
  if (s.latencyMs) lines.push(`  latency:        p50 ${ms(s.latencyMs.p50)}, p95 ${ms(s.latencyMs.p95)}, p99 ${ms(s.latencyMs.p99)}`);
  if (s.backends.length > 0) lines.push(`  backends:       ${s.backends.map((b) => `${b.hostname}${b.az ? ` (${b.az})` : ''} ${percent(b.share)}`).join(', ')}`);
  if (s.azs.length > 0) lines.push(`  AZs:            ${s.azs.map((a) => `${a.az} ${percent(a.share)}`).join(', ')}`);
  const gap = report.duringRecovery;
  if (gap) {
    const served = gap.azs.length > 0 ? `served by ${gap.azs.map((a) => `${a.az} ${percent(a.share)}`).join(', ')}` : 'no AZ reported by the app';
    lines.push(`  stop → ${report.recovered ? 'recovery' : 'end'} (+0.0s to +${formatSeconds(gap.toSeconds)}): ${gap.requests} requests, ${gap.successes} ok, ${gap.failures} failed; ${served}`);
  }
  for (const warning of report.warnings) lines.push(`  warning: ${warning}`);
  lines.push('', `${report.passed ? 'PASS' : 'FAIL'}: ${report.verdict}`);
  return lines;
}

/** UTC, compact: 20261126T221500Z. */
export function reportTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

/** Writes the report to `<stateDir>/reports/<stack>-<timestamp>.json` (mode 0600), never over an older one. */
export function writeChaosReport(stateDir: string, report: ChaosReport): string {
  const dir = join(stateDir, 'reports');
  ensurePrivateDir(dir, 'the reports folder');
  const base = `${report.stack}-${reportTimestamp(Date.parse(report.startedAt))}`;
  for (let n = 1; ; n++) {
    const path = join(dir, n === 1 ? `${base}.json` : `${base}-${n}.json`);
    try {
      writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
      return path;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || n >= 100) throw error;
    }
  }
}

/**
 * Renders the report (stdout), writes it and its page (paths on stderr), then ends the command:
 * InterruptedError (130) after Ctrl-C, OperationError (1) when it did not pass. Returns the report's path.
 */
export function concludeChaos(session: Session, report: ChaosReport): string {
  const { reporter } = session;
  if (session.json) reporter.json(report);
  else for (const line of renderChaosLines(report)) reporter.result(line);
  const path = writeChaosReport(session.stateDir, report);
  reporter.info(`report written to ${path}`);
  try {
    reporter.info(`page written to ${writeReportPage(path, chaosDocument(report))} (chart, timeline and failed requests; open it in a browser)`);
  } catch (error) {
    // The JSON is what the exit code and scripts rely on; a page that could not be written must not change them.
    reporter.warn(`could not write the report's page: ${(error as Error).message}; \`ecs-ha report ${path}\` tries again`);
  }
  if (report.interrupted) throw new InterruptedError(`interrupted: the partial report is in ${path}`);
  if (!report.passed) throw new OperationError(`chaos test failed: ${report.verdict}`, `the report is in ${path}`, { resultPrinted: true });
  return path;
}
