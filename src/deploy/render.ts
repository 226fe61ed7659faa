/**
 * The rollout report for people: the header, the timeline, which versions answered when, what a
 * user saw before, during and after the rollout, and PASS or FAIL with why.
 */
import { coarsenSeries } from '../report/series.js';
import type { VersionShare } from '../probe/prober.js';
import type { PhaseSummary, RevisionRef, RolloutReport } from './report.js';

/** ECS's messages name target groups by ARN; a person reads the name: `(target-group ha-tg)`. */
export function shortenArns(text: string): string {
  return text.replace(/arn:aws[\w-]*:elasticloadbalancing:[^\s)]*:targetgroup\/([^/\s)]+)\/[0-9a-f]+/g, '$1');
}

const formatSeconds = (seconds: number): string => `${seconds.toFixed(1)}s`;
const percent = (share: number): string => `${(share * 100).toFixed(1)}%`;
const ms = (value: number): string => `${value.toFixed(1)} ms`;
const signed = (seconds: number): string => `${seconds < 0 ? '-' : '+'}${formatSeconds(Math.abs(seconds))}`;
const versionList = (versions: VersionShare[]): string => versions.map((v) => `${v.version} ${percent(v.share)}`).join(', ') || '–';

function revisionLine(ref: RevisionRef): string {
  return `${ref.revision} (version ${ref.appVersion}, image ${ref.image})`;
}

function timelineLines(report: RolloutReport): string[] {
  if (report.timeline.length === 0) return ['  (the service was not updated)'];
  const width = Math.max(...report.timeline.map((e) => e.event.length));
  return report.timeline.map((e) => {
    const task = e.taskId ? `task ${e.taskId}${e.taskDefinition ? ` ${e.taskDefinition}` : ''}` : '';
    const rest = e.event === 'ECS' ? (e.detail ?? '') : [task, e.detail ? (task ? `[${e.detail}]` : e.detail) : ''].filter(Boolean).join(' ');
    return `  ${signed(e.seconds).padStart(8)}  ${e.event.padEnd(width)}  ${shortenArns(rest)}`.trimEnd();
  });
}

/** Which versions answered, in at most about 20 rows: one row per `bin` seconds. */
function versionRows(report: RolloutReport): string[] {
  if (report.series.length === 0) return ['  (no request was sent)'];
  const first = report.series[0]!.t;
  const last = report.series[report.series.length - 1]!.t;
  const bin = Math.max(1, Math.ceil((last - first + 1) / 20));
  const rows = coarsenSeries(report.series, bin);
  return [
    `Versions answering (${bin === 1 ? 'each second' : `every ${bin} s`}, seconds after the update):`,
    ...rows.map((row) => {
      const named = Object.values(row.versions).reduce((sum, n) => sum + n, 0);
      const shares = Object.entries(row.versions).map(([version, n]) => `${version} ${Math.round((n / named) * 100)}%`).join(' · ') || 'no version named';
      const counts = `${row.ok} ok${row.failed ? `, ${row.failed} failed` : ''}`;
      return `  ${`${row.t < 0 ? '' : '+'}${row.t}s`.padStart(6)}  ${shares.padEnd(22)}  (${counts})`;
    }),
  ];
}

function phaseLine(label: string, p: PhaseSummary | null): string {
  if (!p) return `  ${label.padEnd(7)}  –`;
  const window = `${signed(p.fromSeconds)} to ${signed(p.toSeconds)}`;
  const latency = p.latencyMs ? `p50 ${ms(p.latencyMs.p50)}, p95 ${ms(p.latencyMs.p95)}, p99 ${ms(p.latencyMs.p99)}` : 'no success';
  return `  ${label.padEnd(7)}  ${window.padEnd(18)}  ${String(p.requests).padStart(5)} sent, ${String(p.failures).padStart(3)} failed, longest outage ${p.longestOutageMs.toFixed(0)} ms; ${latency}; ${versionList(p.versions)}`;
}

export function renderRolloutLines(report: RolloutReport): string[] {
  const title = report.command === 'rollback' ? 'Rollback (rolling)' : 'Rolling deployment';
  const lines = [`${title} on stack "${report.stack}" (${report.url})`, `  from:        ${revisionLine(report.from)}`, `  to:          ${revisionLine(report.to)}`];
  const deployment = report.deploymentId ?? 'none seen';
  const how = report.rolloutSeconds !== null ? ` in ${formatSeconds(report.rolloutSeconds)}` : '';
  lines.push(`  deployment:  ${deployment}: ${report.outcome}${how}`);
  if (report.rollback) {
    const { reason, rollbackReason, deploymentId, failedTasks } = report.rollback;
    lines.push(`  rollback:    ${reason}; ${deploymentId}${rollbackReason ? `: ${rollbackReason}` : ''}`);
    for (const task of failedTasks) lines.push(`               task ${task.id}: ${shortenArns(task.reason ?? 'stopped before it was healthy')}`);
  }
  lines.push('', 'Timeline (seconds after the update):', ...timelineLines(report));
  lines.push('', ...versionRows(report));
  const s = report.userSaw;
  lines.push('', `What a user saw (${report.url}, ${report.settings.rps} requests/s):`);
  lines.push(phaseLine('before', report.phases.before), phaseLine('during', report.phases.during), phaseLine('after', report.phases.after));
  lines.push(`  all      ${s.requests} sent, ${s.successes} ok, ${s.failures} failed (error rate ${percent(s.errorRate)}), longest outage ${s.longestOutageMs.toFixed(0)} ms`);
  const kinds = Object.entries(s.failuresByKind).filter(([, n]) => n > 0);
  lines.push(`  failures: ${kinds.length > 0 ? kinds.map(([kind, n]) => `${kind} ${n}`).join(', ') : 'none'}`);
  lines.push('', `${report.passed ? 'PASS' : 'FAIL'}: ${report.verdict}`);
  return lines;
}
