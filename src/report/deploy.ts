/**
 * A deploy or rollback report as a report page shows it, and how to tell its JSON from anything else.
 */
import type { PhaseSummary, RolloutReport } from '../deploy/report.js';
import type { RolloutEventName } from '../deploy/timeline.js';
import type { MarkerKind, MeasuredRunDocument } from './document.js';
import { isBucket, isObject } from './chaos.js';

const MARKER_KINDS: Partial<Record<RolloutEventName, MarkerKind>> = {
  'update requested': 'action',
  'deployment completed': 'done',
  'rollback completed': 'done',
  'task healthy': 'done',
  'deployment failed': 'problem',
  'rollback started': 'problem',
  'task stopping': 'info',
  'task stopped': 'info',
  'first answer': 'info',
  'last answer': 'info',
  ECS: 'info',
};

const percent = (share: number): string => `${(share * 100).toFixed(1)}%`;
const ms = (value: number): string => `${value.toFixed(1)} ms`;

function phaseLine(phase: PhaseSummary): string {
  const latency = phase.latencyMs ? `; p50 ${ms(phase.latencyMs.p50)}, p95 ${ms(phase.latencyMs.p95)}, p99 ${ms(phase.latencyMs.p99)}` : '';
  const versions = phase.versions.length > 0 ? `; ${phase.versions.map((v) => `${v.version} ${percent(v.share)}`).join(', ')}` : '';
  return `${phase.fromSeconds.toFixed(1)}s to ${phase.toSeconds.toFixed(1)}s: ${phase.requests} sent, ${phase.failures} failed, longest outage ${phase.longestOutageMs.toFixed(0)} ms${latency}${versions}`;
}

export function rolloutDocument(report: RolloutReport, generatedAt: string = new Date().toISOString()): MeasuredRunDocument {
  const s = report.userSaw;
  const kinds = Object.entries(s.failuresByKind).filter(([, n]) => n > 0);
  const rows: Array<[string, string]> = [
    ['stack', report.stack],
    ['change', `${report.from.revision} (version ${report.from.appVersion}) → ${report.to.revision} (version ${report.to.appVersion}), ${report.strategy}`],
    ['URL probed', `${report.url} at ${report.settings.rps} requests/s`],
    ['update requested', report.updateRequestedAt ?? 'the service was not updated'],
    ['outcome', `${report.outcome}${report.rolloutSeconds !== null ? ` in ${report.rolloutSeconds.toFixed(1)}s` : ''}`],
    ...(report.rollback ? [['rollback', `${report.rollback.reason}${report.rollback.failedTasks.length > 0 ? ` (${report.rollback.failedTasks.length} task(s) failed)` : ''}`] as [string, string]] : []),
    ['before', phaseLine(report.phases.before)],
    ...(report.phases.during ? [['during', phaseLine(report.phases.during)] as [string, string]] : []),
    ...(report.phases.after ? [['after', phaseLine(report.phases.after)] as [string, string]] : []),
    ['requests', `${s.requests} sent, ${s.successes} ok, ${s.failures} failed (error rate ${percent(s.errorRate)})`],
    ...(kinds.length > 0 ? [['failures', kinds.map(([kind, n]) => `${kind} ${n}`).join(', ')] as [string, string]] : []),
    ['longest outage', `${s.longestOutageMs.toFixed(0)} ms`],
    ['settings', `baseline ${report.settings.baselineSeconds}s, settle ${report.settings.settleSeconds}s, timeout ${report.settings.timeoutSeconds}s, max failures ${report.settings.maxFailures}`],
  ];
  const notes = [...report.lastSeen.map((line) => `Last seen: ${line}`)];
  if (report.interrupted) notes.push('The run was interrupted (Ctrl-C): the report covers only what happened until then; the deployment goes on in ECS.');
  return {
    kind: report.command,
    title: `${report.command === 'deploy' ? 'Deployment' : 'Rollback'} of stack "${report.stack}": ${report.from.revision} → ${report.to.revision}`,
    generatedAt,
    verdict: { passed: report.passed, text: report.verdict },
    timeAxisLabel: report.updateRequestedAt ? `seconds after the service was updated (${report.updateRequestedAt})` : `seconds after probing started (${report.startedAt}); the service was not updated`,
    series: report.series,
    markers: report.timeline.map((e) => ({
      t: e.seconds,
      label: e.event,
      kind: MARKER_KINDS[e.event] ?? 'progress',
      ...(e.taskId || e.detail ? { detail: [e.taskId ? `task ${e.taskId}` : '', e.taskDefinition ?? '', e.detail ?? ''].filter(Boolean).join(' ') } : {}),
    })),
    summaryRows: rows,
    failedRequests: report.failedRequests.map((r) => ({ seconds: r.seconds, outcome: r.outcome, ...(r.error !== undefined ? { error: r.error } : {}) })),
    failedRequestsTotal: s.failures,
    notes,
  };
}

/** Checks every field `rolloutDocument` reads; returns what is wrong, or undefined for a deploy or rollback report. */
export function rolloutReportProblem(value: unknown): string | undefined {
  if (!isObject(value)) return 'it is not a JSON object';
  if (value.command !== 'deploy' && value.command !== 'rollback') return 'it has no "command" of deploy or rollback';
  for (const [key, type] of [['stack', 'string'], ['url', 'string'], ['startedAt', 'string'], ['verdict', 'string'], ['outcome', 'string'], ['strategy', 'string'], ['passed', 'boolean'], ['interrupted', 'boolean']] as const) {
    if (typeof value[key] !== type) return `"${key}" is not a ${type}`;
  }
  if (Number.isNaN(Date.parse(value.startedAt as string))) return '"startedAt" is not a time';
  if (value.updateRequestedAt !== null && typeof value.updateRequestedAt !== 'string') return '"updateRequestedAt" is neither a time nor null';
  for (const key of ['from', 'to']) {
    const ref = value[key];
    if (!isObject(ref) || typeof ref.revision !== 'string' || typeof ref.appVersion !== 'string') return `"${key}" has no revision or appVersion`;
  }
  for (const key of ['timeline', 'failedRequests', 'lastSeen', 'series']) if (!Array.isArray(value[key])) return `"${key}" is not a list`;
  if (!(value.timeline as unknown[]).every((e) => isObject(e) && typeof e.event === 'string' && typeof e.seconds === 'number')) return 'an event of "timeline" has no "event" or "seconds"';
  if (!(value.series as unknown[]).every(isBucket)) return 'a bucket of "series" is malformed';
  const phases = value.phases;
  if (!isObject(phases) || !isPhase(phases.before) || (phases.during !== null && !isPhase(phases.during)) || (phases.after !== null && !isPhase(phases.after))) return '"phases" is incomplete';
  const saw = value.userSaw;
  if (!isObject(saw) || !['requests', 'successes', 'failures', 'errorRate', 'longestOutageMs'].every((k) => typeof saw[k] === 'number') || !isObject(saw.failuresByKind)) return '"userSaw" is incomplete';
  const settings = value.settings;
  if (!isObject(settings) || !['rps', 'baselineSeconds', 'settleSeconds', 'timeoutSeconds', 'maxFailures'].every((k) => typeof settings[k] === 'number')) return '"settings" is incomplete';
  return undefined;
}

function isPhase(value: unknown): boolean {
  return isObject(value) && ['fromSeconds', 'toSeconds', 'requests', 'failures', 'longestOutageMs'].every((k) => typeof value[k] === 'number') && Array.isArray(value.versions);
}
