/**
 * The rollout report of `deploy` and `rollback`: assembled from the tracker and the prober (pure),
 * printed (for people by render.ts, or as JSON), written to `<state-dir>/reports/`, and turned
 * into the exit code.
 */
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { secondsAfter } from '../chaos/timeline.js';
import { reportTimestamp } from '../chaos/report.js';
import { InterruptedError, OperationError } from '../errors.js';
import { ensurePrivateDir, writeFileAtomic } from '../fs/safe.js';
import { rolloutDocument } from '../report/deploy.js';
import { writeReportPage } from '../report/files.js';
import { summarize, versionShares, type FailureOutcome, type LatencyPercentiles, type ProbeOutcome, type ProbeRecord, type ProbeReport, type ProbeSummary, type VersionShare } from '../probe/prober.js';
import { buildSeries, type SeriesBucket } from '../report/series.js';
import { renderRolloutLines, shortenArns } from './render.js';
import type { Session } from '../session.js';
import type { MeasureOptions } from './options.js';
import type { Strategy } from './strategy.js';
import type { RolloutEvent } from './timeline.js';

export type RolloutCommand = 'deploy' | 'rollback';
export type RolloutOutcome = 'completed' | 'rolled back' | 'failed' | 'timed out' | 'interrupted';

/** A revision as the report names it. */
export interface RevisionRef {
  taskDefinition: string;
  /** "ha:2" */
  revision: string;
  appVersion: string;
  image: string;
}

/** What a user saw in one window of the run. */
export interface PhaseSummary {
  /** Seconds after the update (negative: before it). */
  fromSeconds: number;
  toSeconds: number;
  requests: number;
  successes: number;
  failures: number;
  failuresByKind: Record<FailureOutcome, number>;
  longestOutageMs: number;
  latencyMs: LatencyPercentiles | null;
  versions: VersionShare[];
}

export interface RolloutReport {
  command: RolloutCommand;
  /** rolling, blue-green, linear or canary. */
  strategy: Strategy;
  stack: string;
  url: string;
  /** When probing started, when the service was updated (t0; null when it was not), when probing ended. */
  startedAt: string;
  updateRequestedAt: string | null;
  endedAt: string;
  from: RevisionRef;
  to: RevisionRef;
  settings: { rps: number; baselineSeconds: number; settleSeconds: number; timeoutSeconds: number; maxFailures: number };
  deploymentId: string | null;
  outcome: RolloutOutcome;
  /** Seconds from the update to the deployment completing, failing, or its rollback completing. */
  rolloutSeconds: number | null;
  /**
   * Set when ECS rolled the deployment back: why the deployment failed, what ECS said when it
   * started the rollback deployment, and the tasks of the new revision that never served.
   */
  rollback: {
    reason: string;
    rollbackReason: string | null;
    deploymentId: string;
    taskDefinition: string;
    completed: boolean;
    failedTasks: Array<{ id: string; reason?: string }>;
  } | null;
  /** What was still going on at the last look, when following ended before the rollout did. */
  lastSeen: string[];
  interrupted: boolean;
  timeline: RolloutEvent[];
  /** before: the baseline; during: from the update to the end of the rollout; after: the settle time. */
  phases: { before: PhaseSummary; during: PhaseSummary | null; after: PhaseSummary | null };
  userSaw: ProbeSummary;
  versions: VersionShare[];
  /** One-second buckets of the probe, t in seconds after the update: which version answered when. */
  series: SeriesBucket[];
  /** The failed requests (at most 100), seconds after the update. */
  failedRequests: Array<{ seconds: number; outcome: ProbeOutcome; status?: number; error?: string }>;
  passed: boolean;
  verdict: string;
}

export interface RolloutReportInput {
  command: RolloutCommand;
  /** Default rolling. */
  strategy?: Strategy;
  stack: string;
  url: string;
  options: MeasureOptions;
  from: RevisionRef;
  to: RevisionRef;
  startedAt: number;
  /** Undefined when the service was never updated. */
  t0?: number;
  deploymentId?: string;
  state: 'in progress' | 'completed' | 'failed' | 'rolling back' | 'rolled back';
  failureReason?: string;
  rollback?: { deploymentId: string; taskDefinition: string; reason?: string; completed: boolean };
  failedTasks: Array<{ id: string; reason?: string }>;
  /** When the rollout finished (completed, failed, rolled back); undefined when it had not. */
  finishedAt?: number;
  lastSeen: string[];
  interrupted: boolean;
  timeline: RolloutEvent[];
  probe: ProbeReport;
}

const MAX_FAILED_LISTED = 100;

function phase(records: readonly ProbeRecord[], origin: number, start: number, end: number): PhaseSummary {
  const inside = records.filter((r) => r.startedAt >= start && r.startedAt <= end);
  const s = summarize(inside, { start, end });
  return {
    // `|| 0`: the baseline ends 1 ms before the update, which is -0.0 s, said 0.
    fromSeconds: secondsAfter(origin, start) || 0,
    toSeconds: secondsAfter(origin, end) || 0,
    requests: s.requests,
    successes: s.successes,
    failures: s.failures,
    failuresByKind: s.failuresByKind,
    longestOutageMs: s.longestOutageMs,
    latencyMs: s.latencyMs ?? null,
    versions: versionShares(inside),
  };
}

/** When each version first answered after the update, and when each one that went away last answered. */
function versionEvents(records: readonly ProbeRecord[], t0: number, end: number): RolloutEvent[] {
  const first = new Map<string, number>();
  const last = new Map<string, number>();
  for (const r of records) {
    const version = r.outcome === 'ok' ? r.backend?.version : undefined;
    if (version === undefined) continue;
    if (!first.has(version)) first.set(version, r.startedAt);
    last.set(version, r.startedAt);
  }
  const lastSecond = end - 1_000;
  const events: RolloutEvent[] = [];
  for (const [version, at] of first) if (at >= t0) events.push({ event: 'first answer', seconds: secondsAfter(t0, at), detail: `version ${version}` });
  for (const [version, at] of last) if (at < lastSecond && (first.get(version) ?? 0) < t0) events.push({ event: 'last answer', seconds: secondsAfter(t0, at), detail: `version ${version}` });
  return events;
}

function outcomeOf(input: RolloutReportInput): RolloutOutcome {
  if (input.state === 'completed') return 'completed';
  // A native deployment whose rollback failed (ROLLBACK_FAILED) failed; a rolling one never reports 'failed' with a rollback.
  if (input.rollback && input.state !== 'failed') return 'rolled back';
  if (input.state === 'failed') return 'failed';
  return input.interrupted ? 'interrupted' : 'timed out';
}

const formatSeconds = (seconds: number): string => `${seconds.toFixed(1)}s`;

function verdictOf(input: RolloutReportInput, outcome: RolloutOutcome, summary: ProbeSummary, rolloutSeconds: number | null): { passed: boolean; verdict: string } {
  const { maxFailures, timeoutMs } = input.options;
  const counted = `${summary.failures} of ${summary.requests} requests failed`;
  const tooMany = summary.failures > maxFailures;
  const deployment = input.deploymentId ? `deployment ${input.deploymentId}` : 'the deployment';
  switch (outcome) {
    case 'completed':
      return tooMany
        ? { passed: false, verdict: `${deployment} completed in ${formatSeconds(rolloutSeconds ?? 0)}, but ${counted}, more than --max-failures ${maxFailures}` }
        : { passed: true, verdict: `${deployment} completed in ${formatSeconds(rolloutSeconds ?? 0)}; ${counted} (allowed ${maxFailures})` };
    case 'rolled back': {
      const why = input.failedTasks.find((t) => t.reason)?.reason;
      const restored = input.rollback?.completed ? `; the service runs ${input.from.revision} again` : `; the rollback to ${input.from.revision} had not completed when following ended`;
      return { passed: false, verdict: `rolled back by ECS: ${input.failureReason ?? input.rollback?.reason ?? 'the deployment failed'}${why ? ` (${shortenArns(why)})` : ''}${restored}; ${counted}` };
    }
    case 'failed':
      return { passed: false, verdict: `${deployment} failed: ${input.failureReason ?? 'unknown reason'}; ${counted}` };
    case 'interrupted':
      return {
        passed: false,
        verdict: input.t0 === undefined ? 'interrupted before the service was updated: nothing was deployed' : `interrupted before ${deployment} finished (it goes on in ECS); ${counted}`,
      };
    case 'timed out':
      return { passed: false, verdict: `${deployment} did not finish within ${timeoutMs / 1000}s (last seen: ${input.lastSeen.join('; ') || 'nothing'}); ${counted}` };
  }
}

export function assembleRolloutReport(input: RolloutReportInput): RolloutReport {
  const { probe, t0, options } = input;
  const records = probe.records;
  const origin = t0 ?? probe.startedAt;
  const end = input.finishedAt ?? probe.endedAt;
  const outcome = outcomeOf(input);
  const rolloutSeconds = t0 !== undefined && input.finishedAt !== undefined ? secondsAfter(t0, input.finishedAt) : null;
  const { passed, verdict } = verdictOf(input, outcome, probe.summary, rolloutSeconds);
  const phases: RolloutReport['phases'] =
    t0 === undefined
      ? { before: phase(records, origin, probe.startedAt, probe.endedAt), during: null, after: null }
      : {
          // Whole milliseconds: the windows touch but do not overlap.
          before: phase(records, origin, probe.startedAt, t0 - 1),
          during: phase(records, origin, t0, end),
          after: input.finishedAt !== undefined ? phase(records, origin, end + 1, probe.endedAt) : null,
        };
  const timeline = t0 === undefined ? [] : [...input.timeline, ...versionEvents(records, t0, probe.endedAt)].sort((a, b) => a.seconds - b.seconds);
  return {
    command: input.command,
    strategy: input.strategy ?? 'rolling',
    stack: input.stack,
    url: input.url,
    startedAt: new Date(input.startedAt).toISOString(),
    updateRequestedAt: t0 === undefined ? null : new Date(t0).toISOString(),
    endedAt: new Date(probe.endedAt).toISOString(),
    from: input.from,
    to: input.to,
    settings: {
      rps: options.rps,
      baselineSeconds: options.baselineMs / 1000,
      settleSeconds: options.settleMs / 1000,
      timeoutSeconds: options.timeoutMs / 1000,
      maxFailures: options.maxFailures,
    },
    deploymentId: input.deploymentId ?? null,
    outcome,
    rolloutSeconds,
    rollback: input.rollback
      ? {
          reason: input.failureReason ?? input.rollback.reason ?? 'the deployment failed',
          rollbackReason: input.rollback.reason ?? null,
          deploymentId: input.rollback.deploymentId,
          taskDefinition: input.rollback.taskDefinition,
          completed: input.rollback.completed,
          failedTasks: input.failedTasks,
        }
      : null,
    lastSeen: input.lastSeen,
    interrupted: input.interrupted,
    timeline,
    phases,
    userSaw: probe.summary,
    versions: versionShares(records),
    series: buildSeries(records, origin),
    failedRequests: records
      .filter((r) => r.outcome !== 'ok')
      .slice(0, MAX_FAILED_LISTED)
      .map((r) => ({ seconds: secondsAfter(origin, r.startedAt), outcome: r.outcome, ...(r.status ? { status: r.status } : {}), ...(r.error ? { error: r.error } : {}) })),
    passed,
    verdict,
  };
}

// ---- the file and the exit code ----

/**
 * Writes the report to `<stateDir>/reports/<stack>-<command>-<UTC time>.json` (0600, through the
 * state's atomic writer), under a name no earlier report has.
 */
export function writeRolloutReport(stateDir: string, report: RolloutReport): string {
  const dir = join(stateDir, 'reports');
  ensurePrivateDir(dir, 'the reports folder');
  const base = `${report.stack}-${report.command}-${reportTimestamp(Date.parse(report.startedAt))}`;
  for (let n = 1; n <= 100; n++) {
    const path = join(dir, n === 1 ? `${base}.json` : `${base}-${n}.json`);
    if (existsSync(path)) continue;
    writeFileAtomic(path, `${JSON.stringify(report, null, 2)}\n`);
    return path;
  }
  throw new OperationError(`could not find a free name for the report in ${dir}: 100 reports named ${base}-… exist`);
}

/**
 * Renders the report (stdout), writes it (path on stderr), then ends the command: InterruptedError
 * (130) after Ctrl-C, OperationError (1) when it did not pass. Returns the report's path.
 */
export function concludeRollout(session: Session, report: RolloutReport): string {
  const { reporter } = session;
  if (session.json) reporter.json(report);
  else for (const line of renderRolloutLines(report)) reporter.result(line);
  const path = writeRolloutReport(session.stateDir, report);
  reporter.info(`report written to ${path}`);
  try {
    reporter.info(`page written to ${writeReportPage(path, rolloutDocument(report))} (chart, versions, timeline and failed requests; open it in a browser)`);
  } catch (error) {
    // The JSON is what the exit code and scripts rely on; a page that could not be written must not change them.
    reporter.warn(`could not write the report's page: ${(error as Error).message}; \`ecs-ha report ${path}\` tries again`);
  }
  if (report.interrupted) {
    const goesOn = report.updateRequestedAt ? '; the deployment goes on in ECS' : '';
    throw new InterruptedError(`interrupted${goesOn}: the partial report is in ${path}`);
  }
  if (!report.passed) throw new OperationError(`${report.command} failed: ${report.verdict}`, `the report is in ${path}`, { resultPrinted: true });
  return path;
}
