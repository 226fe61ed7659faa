/**
 * The page written beside every measured run's JSON report: one self-contained HTML file (inline
 * CSS and SVG, no script, nothing fetched), so it opens from disk, from a CI artifact or an email
 * without a network. Its Content-Security-Policy forbids loading or running anything, so even
 * text that escaped escaping could not run.
 */
import { MARKER_COLORS, renderChart } from './chart.js';
import type { MeasuredRunDocument } from './document.js';
import { escapeHtml as esc } from './escape.js';
import { seriesTotals } from './series.js';

export type { MeasuredRunDocument, RunMarker, MarkerKind, FailedRequestRow } from './document.js';
export { escapeHtml } from './escape.js';

const STYLE = `
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', sans-serif; color: #212121; margin: 24px auto; max-width: 1000px; padding: 0 16px; }
h1 { font-size: 20px; margin: 0 0 8px; }
h2 { font-size: 16px; margin: 28px 0 8px; }
.verdict { font-weight: 600; padding: 8px 12px; border-radius: 4px; margin: 8px 0; }
.verdict.pass { background: #e8f5e9; color: #1b5e20; border-left: 4px solid #2e7d32; }
.verdict.fail { background: #ffebee; color: #b71c1c; border-left: 4px solid #c62828; }
.meta, .axis-label, .empty { color: #616161; }
.notes { background: #fff8e1; border-left: 4px solid #f9a825; padding: 6px 12px 6px 28px; }
.chart-box { overflow-x: auto; }
svg.chart { max-width: 100%; height: auto; display: block; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: 4px 8px; border-bottom: 1px solid #eee; }
th { font-weight: 600; }
table.summary th { width: 28%; white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.error { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; word-break: break-word; }
.kind { display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 6px; }
footer { margin-top: 32px; color: #9e9e9e; font-size: 12px; }
`;

const signed = (seconds: number): string => `${seconds < 0 ? '−' : '+'}${Math.abs(seconds).toFixed(1)}s`;

function timelineTable(doc: MeasuredRunDocument): string {
  if (doc.markers.length === 0) return '<p class="empty">No timeline event was recorded.</p>';
  const rows = doc.markers.map(
    (m, index) =>
      `<tr class="event" data-index="${index + 1}"><td class="num">${index + 1}</td><td class="num">${signed(m.t)}</td><td><span class="kind" style="background:${MARKER_COLORS[m.kind] ?? MARKER_COLORS.info}"></span>${esc(m.label)}</td><td>${esc(m.detail ?? '')}</td></tr>`,
  );
  return `<table class="timeline"><thead><tr><th>#</th><th>time</th><th>event</th><th>detail</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function summaryTable(doc: MeasuredRunDocument): string {
  const rows = doc.summaryRows.map(([label, value]) => `<tr><th scope="row">${esc(label)}</th><td>${esc(value)}</td></tr>`);
  return `<table class="summary"><tbody>${rows.join('')}</tbody></table>`;
}

function failedTable(doc: MeasuredRunDocument): string {
  if (doc.failedRequestsTotal === 0 && doc.failedRequests.length === 0) return '<p class="empty">No request failed.</p>';
  const shown = doc.failedRequests.length < doc.failedRequestsTotal ? `<p class="meta">The first ${doc.failedRequests.length} of ${doc.failedRequestsTotal} failed requests.</p>` : '';
  const rows = doc.failedRequests.map(
    (r) => `<tr class="failed-request"><td class="num">${signed(r.seconds)}</td><td>${esc(r.outcome)}</td><td class="error">${esc(r.error ?? '')}</td></tr>`,
  );
  return `${shown}<table class="failed-requests"><thead><tr><th>sent</th><th>outcome</th><th>error</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

/** The whole page, as a string; the caller writes it. */
export function renderHtmlReport(doc: MeasuredRunDocument): string {
  const totals = seriesTotals(doc.series);
  const notes = doc.notes.length > 0 ? `<ul class="notes">${doc.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="generator" content="ecs-ha">
<title>${esc(doc.title)}</title>
<style>${STYLE}</style>
</head>
<body data-kind="${esc(doc.kind)}">
<header>
<h1>${esc(doc.title)}</h1>
<p class="verdict ${doc.verdict.passed ? 'pass' : 'fail'}" data-passed="${doc.verdict.passed}">${doc.verdict.passed ? 'PASS' : 'FAIL'}: ${esc(doc.verdict.text)}</p>
<p class="meta">${esc(doc.kind)} report · ${totals.requests} requests, ${totals.ok} ok, ${totals.failed} failed · page generated ${esc(doc.generatedAt)}</p>
</header>
${notes}
<section class="over-time">
<h2>Over time</h2>
<p class="axis-label">Time axis: ${esc(doc.timeAxisLabel)}. Each bar counts the requests sent during the time it spans; the numbered lines are the timeline's events below (hover over anything for details).</p>
<div class="chart-box">
${renderChart(doc)}
</div>
<h2>Timeline</h2>
${timelineTable(doc)}
</section>
<section>
<h2>Summary</h2>
${summaryTable(doc)}
</section>
<section>
<h2>Failed requests</h2>
${failedTable(doc)}
</section>
<footer>Written by ecs-ha. This page is self-contained: it loads nothing and runs no script.</footer>
</body>
</html>
`;
}
