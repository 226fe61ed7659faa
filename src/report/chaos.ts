/**
 * A chaos report as a report page shows it, and how to tell a chaos report's JSON from anything else.
 */
import type { ChaosReport } from '../chaos/report.js';
import { zoneDrillRows } from '../chaos/zoneDrill.js';
import type { TimelineEventName } from '../chaos/timeline.js';
import type { MarkerKind, MeasuredRunDocument } from './document.js';
import type { SeriesBucket } from './series.js';

const MARKER_KINDS: Partial<Record<TimelineEventName, MarkerKind>> = {
  'stop requested': 'action',
  steady: 'done',
  'replacement healthy': 'done',
  'replacement stopping': 'problem',
  'rebalancing move': 'info',
  'deployment move': 'info',
  'zone excluded': 'action',
  'zone restored': 'action',
  rebalanced: 'done',
};

const percent = (share: number): string => `${(share * 100).toFixed(1)}%`;
const ms = (value: number): string => `${value.toFixed(1)} ms`;

/** A chaos report as read back from its JSON: reports of earlier versions have no `series`. */
export type StoredChaosReport = Omit<ChaosReport, 'series'> & { series?: SeriesBucket[] };

export function chaosDocument(report: StoredChaosReport, generatedAt: string = new Date().toISOString()): MeasuredRunDocument {
  const what = report.mode === 'kill-az' ? `kill-az ${report.az ?? ''}` : 'kill-one';
  const tasks = [...report.victims, ...report.replacements];
  const taskLabel = (id: string | undefined): string => {
    if (!id) return '';
    const task = tasks.find((t) => t.id === id);
    return `task ${id}${task?.az ? ` (${task.az})` : ''}`;
  };
  const s = report.userSaw;
  const listTasks = (list: StoredChaosReport['victims']): string => list.map((t) => `${t.id} (${[t.az, t.ip].filter(Boolean).join(', ') || 'no address'})`).join(', ') || 'none';
  const kinds = Object.entries(s.failuresByKind).filter(([, n]) => n > 0);
  const gap = report.duringRecovery;
  const rows: Array<[string, string]> = [
    ['stack', report.stack],
    ['test', what],
    ['URL probed', `${report.url} at ${report.settings.rps} requests/s`],
    ['probing started', report.startedAt],
    ['stop requested', report.stopRequestedAt ?? 'nothing was stopped'],
    ['stopped', listTasks(report.victims)],
    ['replacements', listTasks(report.replacements)],
    ...(report.zoneDrill ? zoneDrillRows(report.zoneDrill, report.replacements) : []),
    ['recovered', report.recoverySeconds !== null ? `in ${report.recoverySeconds.toFixed(1)}s` : `no${report.lastSeen.length > 0 ? ` (last seen: ${report.lastSeen.join('; ')})` : ''}`],
    ['requests', `${s.requests} sent, ${s.successes} ok, ${s.failures} failed (error rate ${percent(s.errorRate)})`],
    ...(kinds.length > 0 ? [['failures', kinds.map(([kind, n]) => `${kind} ${n}`).join(', ')] as [string, string]] : []),
    ['longest outage', `${s.longestOutageMs.toFixed(0)} ms`],
    ...(s.latencyMs ? [['latency', `p50 ${ms(s.latencyMs.p50)}, p95 ${ms(s.latencyMs.p95)}, p99 ${ms(s.latencyMs.p99)}, max ${ms(s.latencyMs.max)}`] as [string, string]] : []),
    ...(s.backends.length > 0 ? [['backends', s.backends.map((b) => `${b.hostname}${b.az ? ` (${b.az})` : ''} ${percent(b.share)}`).join(', ')] as [string, string]] : []),
    ...(s.azs.length > 0 ? [['AZs', s.azs.map((a) => `${a.az} ${percent(a.share)}`).join(', ')] as [string, string]] : []),
    ...(s.versions.length > 0 ? [['versions', s.versions.join(', ')] as [string, string]] : []),
    ...(gap
      ? [[
          `stop → ${report.recovered ? 'recovery' : 'end'}`,
          `+0.0s to +${gap.toSeconds.toFixed(1)}s: ${gap.requests} requests, ${gap.successes} ok, ${gap.failures} failed; longest outage ${gap.longestOutageMs.toFixed(0)} ms${gap.azs.length > 0 ? `; served by ${gap.azs.map((a) => `${a.az} ${percent(a.share)}`).join(', ')}` : ''}`,
        ] as [string, string]]
      : []),
    ['settings', `baseline ${report.settings.baselineSeconds}s, settle ${report.settings.settleSeconds}s, timeout ${report.settings.timeoutSeconds}s, max failures ${report.settings.maxFailures}${report.settings.force ? ', --force' : ''}`],
  ];
  const series: SeriesBucket[] = report.series ?? [];
  const notes = [...report.warnings];
  if (report.series === undefined) notes.push('This report was written by an earlier ecs-ha that did not keep the requests per second: the chart shows only the timeline.');
  if (report.interrupted) notes.push('The run was interrupted (Ctrl-C): the report covers only what happened until then.');
  return {
    kind: 'chaos',
    title: `Chaos test ${what} on stack "${report.stack}"`,
    generatedAt,
    verdict: { passed: report.passed, text: report.verdict },
    timeAxisLabel: report.stopRequestedAt ? `seconds after the stop was requested (${report.stopRequestedAt})` : `seconds after probing started (${report.startedAt}); nothing was stopped`,
    series,
    markers: report.timeline.map((e) => ({
      t: e.seconds,
      label: e.event,
      kind: MARKER_KINDS[e.event] ?? 'progress',
      ...(e.taskId || e.detail ? { detail: [taskLabel(e.taskId), e.detail ? `[${e.detail}]` : ''].filter(Boolean).join(' ') } : {}),
    })),
    summaryRows: rows,
    failedRequests: report.failedRequests.map((r) => ({ seconds: r.seconds, outcome: r.outcome, ...(r.error !== undefined ? { error: r.error } : {}) })),
    failedRequestsTotal: s.failures,
    notes,
  };
}

type Json = Record<string, unknown>;
export const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Checks every field `chaosDocument` reads; returns what is wrong, or undefined for a chaos report. */
export function chaosReportProblem(value: unknown): string | undefined {
  if (!isObject(value)) return 'it is not a JSON object';
  if (value.mode !== 'kill-one' && value.mode !== 'kill-az') return 'it has no "mode" of kill-one or kill-az';
  const typed: Array<[string, string]> = [['stack', 'string'], ['url', 'string'], ['startedAt', 'string'], ['verdict', 'string'], ['passed', 'boolean'], ['recovered', 'boolean'], ['interrupted', 'boolean']];
  for (const [key, type] of typed) if (typeof value[key] !== type) return `"${key}" is not a ${type}`;
  if (Number.isNaN(Date.parse(value.startedAt as string))) return '"startedAt" is not a time';
  if (value.stopRequestedAt !== null && typeof value.stopRequestedAt !== 'string') return '"stopRequestedAt" is neither a time nor null';
  if (value.recoverySeconds !== null && typeof value.recoverySeconds !== 'number') return '"recoverySeconds" is neither a number nor null';
  for (const key of ['victims', 'replacements', 'timeline', 'failedRequests', 'warnings', 'lastSeen']) if (!Array.isArray(value[key])) return `"${key}" is not a list`;
  const tasksOk = [...(value.victims as unknown[]), ...(value.replacements as unknown[])].every((t) => isObject(t) && typeof t.id === 'string');
  if (!tasksOk) return 'a task in "victims" or "replacements" has no "id"';
  if (!(value.timeline as unknown[]).every((e) => isObject(e) && typeof e.event === 'string' && typeof e.seconds === 'number')) return 'an event of "timeline" has no "event" or "seconds"';
  if (!(value.failedRequests as unknown[]).every((r) => isObject(r) && typeof r.seconds === 'number' && typeof r.outcome === 'string' && (r.error === undefined || typeof r.error === 'string'))) {
    return 'an entry of "failedRequests" has no "seconds" or "outcome"';
  }
  if (!(value.warnings as unknown[]).every((w) => typeof w === 'string') || !(value.lastSeen as unknown[]).every((w) => typeof w === 'string')) return '"warnings" or "lastSeen" holds something else than text';
  const settings = value.settings;
  if (!isObject(settings) || !['rps', 'baselineSeconds', 'settleSeconds', 'timeoutSeconds', 'maxFailures'].every((k) => typeof settings[k] === 'number')) return '"settings" is incomplete';
  const saw = value.userSaw;
  if (!isObject(saw) || !['requests', 'successes', 'failures', 'errorRate', 'longestOutageMs'].every((k) => typeof saw[k] === 'number')) return '"userSaw" is incomplete';
  if (!counts(saw.failuresByKind) || !Array.isArray(saw.backends) || !Array.isArray(saw.azs) || !Array.isArray(saw.versions)) return '"userSaw" is incomplete';
  if (!saw.backends.every((b) => isObject(b) && typeof b.hostname === 'string' && typeof b.share === 'number')) return 'an entry of "userSaw.backends" is incomplete';
  if (!azShares(saw.azs)) return 'an entry of "userSaw.azs" is incomplete';
  if (!saw.versions.every((v) => typeof v === 'string')) return '"userSaw.versions" holds something else than text';
  if (saw.latencyMs !== undefined && !(isObject(saw.latencyMs) && ['p50', 'p95', 'p99', 'max'].every((k) => typeof (saw.latencyMs as Json)[k] === 'number'))) return '"userSaw.latencyMs" is incomplete';
  const gap = value.duringRecovery;
  if (gap !== null && !(isObject(gap) && ['toSeconds', 'requests', 'successes', 'failures', 'longestOutageMs'].every((k) => typeof gap[k] === 'number') && azShares(gap.azs))) return '"duringRecovery" is incomplete';
  if (value.series !== undefined) {
    if (!Array.isArray(value.series)) return '"series" is not a list';
    if (!value.series.every(isBucket)) return 'a bucket of "series" is malformed';
  }
  // Reports of kill-one, and of versions before the zone drill, have none.
  if (value.zoneDrill !== undefined) {
    const problem = zoneDrillProblem(value.zoneDrill);
    if (problem) return `"zoneDrill" ${problem}`;
  }
  return undefined;
}

const texts = (list: unknown): boolean => Array.isArray(list) && list.every((item) => typeof item === 'string');
const secondsOrNull = (value: unknown): boolean => value === null || typeof value === 'number';

/** Checks every field of a zone drill that `chaosDocument` reads. */
function zoneDrillProblem(drill: unknown): string | undefined {
  if (!isObject(drill)) return 'is not an object';
  if (typeof drill.az !== 'string' || !texts(drill.subnets) || !texts(drill.excludedSubnets)) return 'has no "az", "subnets" or "excludedSubnets"';
  if (typeof drill.holdSeconds !== 'number' || typeof drill.restore !== 'boolean') return 'has no "holdSeconds" or "restore"';
  if (!['excludedSeconds', 'restoredSeconds', 'rebalancedSeconds'].every((key) => secondsOrNull(drill[key]))) return 'has a time that is neither a number nor null';
  if (drill.restoreError !== null && typeof drill.restoreError !== 'string') return '"restoreError" is neither text nor null';
  if (!Array.isArray(drill.startedInFailedZone) || !drill.startedInFailedZone.every((t) => isObject(t) && typeof t.id === 'string')) return '"startedInFailedZone" is not a list of tasks';
  if (!texts(drill.rebalanceLastSeen)) return '"rebalanceLastSeen" is not a list of text';
  const perAz = drill.tasksPerAz;
  const countsOrNull = (value: unknown): boolean => value === null || counts(value);
  if (!isObject(perAz) || !counts(perAz.before) || !countsOrNull(perAz.recovered) || !countsOrNull(perAz.end)) return '"tasksPerAz" is incomplete';
  return undefined;
}

const azShares = (list: unknown): boolean => Array.isArray(list) && list.every((a) => isObject(a) && typeof a.az === 'string' && typeof a.share === 'number');

/** An object whose every value is a number: counts by kind or by version. */
const counts = (record: unknown): boolean => isObject(record) && Object.values(record).every((n) => typeof n === 'number');

export function isBucket(value: unknown): boolean {
  if (!isObject(value)) return false;
  const latency = (v: unknown): boolean => v === null || typeof v === 'number';
  return typeof value.t === 'number' && typeof value.ok === 'number' && typeof value.failed === 'number' && counts(value.failedByOutcome) && counts(value.versions) && latency(value.p50) && latency(value.p99);
}
