/**
 * The report's chart as one inline SVG, drawn here rather than in the browser: the page needs no
 * script, font or stylesheet from anywhere. Panels share one time axis: requests per second
 * (ok and failed, stacked), latency p50/p99, and which version answered (when that varies);
 * the timeline's events are numbered vertical lines across all of them.
 *
 * Elements carry classes and data- attributes (`g.bar[data-t][data-ok][data-failed]`,
 * `circle.point.p50[data-t][data-ms]`, `g.version-bar > rect.version[data-version][data-count]`,
 * `g.marker[data-t][data-label][data-kind]`) so that what is drawn can be checked.
 */
import type { MarkerKind, MeasuredRunDocument, RunMarker } from './document.js';
import { escapeHtml as esc } from './escape.js';
import { coarsenSeries, seriesVersions, type SeriesBucket } from './series.js';

export const CHART_COLORS = {
  ok: '#2e7d32',
  failed: '#c62828',
  p50: '#1565c0',
  p99: '#ef6c00',
  grid: '#e0e0e0',
  axis: '#616161',
} as const;

export const MARKER_COLORS: Record<MarkerKind, string> = {
  action: '#6a1b9a',
  progress: '#757575',
  done: '#1b5e20',
  problem: '#b71c1c',
  info: '#00838f',
};

/** Apart from the ok, failed, p50 and p99 colours, so that no version reads as one of them. */
const VERSION_COLORS = ['#5e35b1', '#f9a825', '#00897b', '#d81b60', '#6d4c41', '#3949ab', '#9e9d24', '#546e7a'];

const WIDTH = 960;
const LEFT = 64;
const RIGHT = 24;
const PLOT_WIDTH = WIDTH - LEFT - RIGHT;
const PANEL_GAP = 36; // room for a panel's title above it
const LANE_ROW = 16; // one row of marker numbers
const AXIS_HEIGHT = 34;
/** Beyond this many seconds, seconds are merged into wider bars. */
const MAX_BARS = 1200;

/** Rounds a coordinate to 0.1 px: enough for any screen, and it keeps the page small. */
const px = (value: number): string => String(Math.round(value * 10) / 10);

interface Panel {
  top: number;
  height: number;
}

interface TimeScale {
  from: number;
  to: number;
  x(t: number): number;
}

function timeScale(series: readonly SeriesBucket[], markers: readonly RunMarker[], binSeconds: number): TimeScale {
  const times = [...series.map((b) => b.t), ...series.map((b) => b.t + binSeconds), ...markers.map((m) => m.t)];
  let from = times.length > 0 ? Math.min(...times) : 0;
  let to = times.length > 0 ? Math.max(...times) : 1;
  if (to - from < 1) {
    from = Math.floor(from);
    to = from + 1;
  }
  return { from, to, x: (t) => LEFT + ((t - from) / (to - from)) * PLOT_WIDTH };
}

/** 1, 2, 2.5 or 5 times a power of ten: the smallest such step giving at most `count` steps up to `max`. */
function niceStep(max: number, count: number, wholeNumbers: boolean): number {
  const rough = max / count;
  const power = 10 ** Math.floor(Math.log10(rough));
  // Counts of requests are whole: no step of 2.5, none below 1.
  const factors = wholeNumbers ? [1, 2, 5, 10] : [1, 2, 2.5, 5, 10];
  const step = factors.map((f) => f * power).find((candidate) => candidate >= rough) ?? 10 * power;
  return wholeNumbers ? Math.max(1, step) : step;
}

/** Tick values from 0 to a round maximum at or above `max`. */
function valueTicks(max: number, wholeNumbers = false): number[] {
  if (!(max > 0)) return [0, 1];
  const step = niceStep(max, 4, wholeNumbers);
  const ticks: number[] = [];
  for (let v = 0; v < max + step - 1e-9; v += step) ticks.push(Math.round(v * 1000) / 1000);
  return ticks;
}

const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 21600, 43200, 86400];

function timeTicks(scale: TimeScale): number[] {
  const span = scale.to - scale.from;
  const step = TIME_STEPS.find((s) => span / s <= 12) ?? Math.ceil(span / 12);
  const ticks: number[] = [];
  for (let t = Math.ceil(scale.from / step) * step; t <= scale.to; t += step) ticks.push(t);
  return ticks;
}

const signedSeconds = (t: number): string => (t === 0 ? '0' : `${t > 0 ? '+' : '−'}${Math.abs(t)}s`);

function yAxis(panel: Panel, ticks: number[], format: (v: number) => string): string {
  const top = ticks[ticks.length - 1] as number;
  return ticks
    .map((v) => {
      const y = px(panel.top + panel.height - (v / top) * panel.height);
      return `<line class="grid" x1="${LEFT}" x2="${LEFT + PLOT_WIDTH}" y1="${y}" y2="${y}" stroke="${CHART_COLORS.grid}"/><text x="${LEFT - 6}" y="${y}" dy="0.32em" text-anchor="end" fill="${CHART_COLORS.axis}">${esc(format(v))}</text>`;
    })
    .join('');
}

/** Text over the marker lines stays readable: a white outline is painted under its letters. */
const HALO = 'paint-order="stroke" stroke="#fff" stroke-width="3" stroke-linejoin="round"';

const legendSwatch = (x: number, y: number, color: string, text: string): string =>
  `<rect x="${px(x)}" y="${px(y - 9)}" width="10" height="10" fill="${color}"/><text x="${px(x + 14)}" y="${px(y)}" ${HALO}>${esc(text)}</text>`;

/** A panel's title and colour legend, on one line above it; drawn after the markers, over their lines. */
function panelHeading(panel: Panel, title: string, legend: Array<[color: string, text: string]>): string {
  const y = panel.top - 10;
  let x = LEFT + 8 + title.length * 6.4 + 16; // after the title, whose width is estimated
  const swatches = legend.map(([color, text]) => {
    const swatch = legendSwatch(x, y, color, text);
    x += 14 + text.length * 6.4 + 16;
    return swatch;
  });
  return `<g class="panel-heading"><text class="panel-title" x="${LEFT}" y="${px(y)}" font-weight="600" ${HALO}>${esc(title)}</text>${swatches.join('')}</g>`;
}

function requestBars(panel: Panel, scale: TimeScale, series: readonly SeriesBucket[], binSeconds: number): string {
  const ticks = valueTicks(Math.max(1, ...series.map((b) => b.ok + b.failed)), true);
  const top = ticks[ticks.length - 1] as number;
  const height = (count: number): number => (count / top) * panel.height;
  const bottom = panel.top + panel.height;
  const bars = series.map((b) => {
    const left = scale.x(b.t);
    const slot = scale.x(b.t + binSeconds) - left;
    const width = Math.max(1, slot > 4 ? slot - 1 : slot);
    const okHeight = height(b.ok);
    const failedHeight = height(b.failed);
    const outcomes = Object.entries(b.failedByOutcome);
    const kinds = outcomes.length > 0 ? ` (${outcomes.map(([outcome, n]) => `${outcome} ${n}`).join(', ')})` : '';
    const title = `${signedSeconds(b.t)} to ${signedSeconds(b.t + binSeconds)}: ${b.ok} ok, ${b.failed} failed${kinds}`;
    return [
      `<g class="bar" data-t="${b.t}" data-ok="${b.ok}" data-failed="${b.failed}"${outcomes.length > 0 ? ` data-failed-by="${esc(outcomes.map(([outcome, n]) => `${outcome}:${n}`).join(','))}"` : ''}>`,
      `<title>${esc(title)}</title>`,
      b.ok > 0 ? `<rect class="ok" x="${px(left)}" y="${px(bottom - okHeight)}" width="${px(width)}" height="${px(okHeight)}" fill="${CHART_COLORS.ok}"/>` : '',
      b.failed > 0 ? `<rect class="failed" x="${px(left)}" y="${px(bottom - okHeight - failedHeight)}" width="${px(width)}" height="${px(failedHeight)}" fill="${CHART_COLORS.failed}"/>` : '',
      '</g>',
    ].join('');
  });
  return [
    yAxis(panel, ticks, String),
    `<g class="series requests" shape-rendering="crispEdges">${bars.join('')}</g>`,
    series.length === 0 ? `<text x="${LEFT + PLOT_WIDTH / 2}" y="${px(panel.top + panel.height / 2)}" text-anchor="middle" fill="${CHART_COLORS.axis}">no request was recorded</text>` : '',
  ].join('');
}

function latencyLines(panel: Panel, scale: TimeScale, series: readonly SeriesBucket[], binSeconds: number): string {
  const measured = series.filter((b) => b.p50 !== null && b.p99 !== null);
  const ticks = valueTicks(Math.max(0, ...measured.map((b) => b.p99 as number)));
  const top = ticks[ticks.length - 1] as number;
  const y = (ms: number): number => panel.top + panel.height - (ms / top) * panel.height;
  const x = (b: SeriesBucket): number => scale.x(b.t + binSeconds / 2);
  const slot = scale.x(binSeconds) - scale.x(0);
  const radius = px(Math.max(0.8, Math.min(2.5, slot / 3)));
  const line = (key: 'p50' | 'p99'): string => {
    // A second without a successful request breaks the line rather than bridging the gap.
    const runs: SeriesBucket[][] = [];
    for (const b of measured) {
      const run = runs[runs.length - 1];
      const previous = run?.[run.length - 1];
      if (run && previous && b.t - previous.t <= binSeconds) run.push(b);
      else runs.push([b]);
    }
    const color = CHART_COLORS[key];
    const paths = runs
      .filter((run) => run.length > 1)
      .map((run) => `<polyline class="line ${key}" fill="none" stroke="${color}" stroke-width="1.5" points="${run.map((b) => `${px(x(b))},${px(y(b[key] as number))}`).join(' ')}"/>`);
    const points = measured.map((b) => `<circle class="point ${key}" data-t="${b.t}" data-ms="${b[key]}" cx="${px(x(b))}" cy="${px(y(b[key] as number))}" r="${radius}" fill="${color}"/>`);
    return `<g class="series ${key}">${paths.join('')}${points.join('')}</g>`;
  };
  return [
    yAxis(panel, ticks, (v) => String(v)),
    line('p99'),
    line('p50'),
    measured.length === 0 ? `<text x="${LEFT + PLOT_WIDTH / 2}" y="${px(panel.top + panel.height / 2)}" text-anchor="middle" fill="${CHART_COLORS.axis}">no request succeeded</text>` : '',
  ].join('');
}

const versionColor = (versions: readonly string[], version: string): string => VERSION_COLORS[versions.indexOf(version) % VERSION_COLORS.length] as string;

function versionShares(panel: Panel, scale: TimeScale, series: readonly SeriesBucket[], binSeconds: number, versions: readonly string[]): string {
  const color = (version: string): string => versionColor(versions, version);
  const bottom = panel.top + panel.height;
  const bars = series.map((b) => {
    const entries = versions.filter((v) => (b.versions[v] ?? 0) > 0).map((v) => [v, b.versions[v] as number] as const);
    const total = entries.reduce((sum, [, n]) => sum + n, 0);
    if (total === 0) return '';
    const left = scale.x(b.t);
    const slot = scale.x(b.t + binSeconds) - left;
    const width = Math.max(1, slot > 4 ? slot - 1 : slot);
    let stacked = 0;
    const rects = entries.map(([version, count]) => {
      const height = (count / total) * panel.height;
      stacked += height;
      return `<rect class="version" data-version="${esc(version)}" data-count="${count}" x="${px(left)}" y="${px(bottom - stacked)}" width="${px(width)}" height="${px(height)}" fill="${color(version)}"/>`;
    });
    const title = `${signedSeconds(b.t)}: ${entries.map(([v, n]) => `${v} ${n}`).join(', ')}`;
    return `<g class="version-bar" data-t="${b.t}" data-total="${total}"><title>${esc(title)}</title>${rects.join('')}</g>`;
  });
  return [
    yAxis(panel, [0, 0.5, 1], (v) => `${v * 100}%`),
    `<g class="series versions" shape-rendering="crispEdges">${bars.join('')}</g>`,
  ].join('');
}

/** Marker numbers go in rows above the panels: each in the first row where it overlaps no other number. */
function markerRows(markers: readonly RunMarker[], scale: TimeScale): number[] {
  const placed: number[][] = [];
  return markers.map((marker) => {
    const x = scale.x(marker.t);
    let row = placed.findIndex((xs) => xs.every((other) => Math.abs(x - other) >= LANE_ROW));
    if (row === -1) row = placed.push([]) - 1;
    placed[row]?.push(x);
    return row;
  });
}

const markerTime = (t: number): string => `${t < 0 ? '−' : '+'}${Math.abs(t).toFixed(1)}s`;

/** Each marker: its number in the lane above the panels, and a dashed line through them all. */
function markerLines(markers: readonly RunMarker[], scale: TimeScale, rows: number[], laneBottom: number, chartBottom: number): string {
  const items = markers.map((marker, index) => {
    const x = px(scale.x(marker.t));
    const color = MARKER_COLORS[marker.kind] ?? MARKER_COLORS.info;
    const badgeY = (rows[index] as number) * LANE_ROW + LANE_ROW / 2 + 2;
    const title = `${index + 1}. ${markerTime(marker.t)} ${marker.label}${marker.detail ? ` — ${marker.detail}` : ''}`;
    return [
      `<g class="marker" data-index="${index + 1}" data-t="${marker.t}" data-label="${esc(marker.label)}" data-kind="${esc(marker.kind)}">`,
      `<title>${esc(title)}</title>`,
      // From the lane's bottom for every marker, so that lines at one time overlap dash on dash.
      `<line x1="${x}" x2="${x}" y1="${px(laneBottom)}" y2="${px(chartBottom)}" stroke="${color}" stroke-width="1" stroke-dasharray="4 3"/>`,
      `<circle cx="${x}" cy="${px(badgeY)}" r="7" fill="${color}"/>`,
      `<text x="${x}" y="${px(badgeY)}" dy="0.35em" text-anchor="middle" fill="#fff" font-size="9">${index + 1}</text>`,
      '</g>',
    ].join('');
  });
  return `<g class="markers">${items.join('')}</g>`;
}

function timeAxis(scale: TimeScale, top: number, bottom: number): string {
  return timeTicks(scale)
    .map((t) => {
      const x = px(scale.x(t));
      return `<line class="grid" x1="${x}" x2="${x}" y1="${px(top)}" y2="${px(bottom)}" stroke="${CHART_COLORS.grid}"/><text x="${x}" y="${px(bottom + 16)}" text-anchor="middle" fill="${CHART_COLORS.axis}">${signedSeconds(t)}</text>`;
    })
    .join('');
}

/** Whether the version panel is worth drawing: a deploy or rollback, or any run where more than one version answered. */
export function showsVersions(doc: Pick<MeasuredRunDocument, 'kind' | 'series'>): boolean {
  const versions = seriesVersions(doc.series);
  return versions.length > 1 || (doc.kind !== 'chaos' && versions.length > 0);
}

/** The chart of a measured run as an SVG element, sized by its viewBox (it scales to the page's width). */
export function renderChart(doc: MeasuredRunDocument): string {
  const span = doc.series.length > 0 ? (doc.series[doc.series.length - 1] as SeriesBucket).t - (doc.series[0] as SeriesBucket).t + 1 : 0;
  const binSeconds = Math.max(1, Math.ceil(span / MAX_BARS));
  const series = coarsenSeries(doc.series, binSeconds);
  const scale = timeScale(series, doc.markers, binSeconds);
  const rows = markerRows(doc.markers, scale);
  const laneHeight = doc.markers.length > 0 ? (Math.max(...rows) + 1) * LANE_ROW + 4 : 0;

  const requests: Panel = { top: laneHeight + PANEL_GAP, height: 180 };
  const latency: Panel = { top: requests.top + requests.height + PANEL_GAP, height: 120 };
  const versions = showsVersions(doc) ? seriesVersions(doc.series) : []; // in the order they first answered: old, then new
  const shares: Panel | undefined = versions.length > 0 ? { top: latency.top + latency.height + PANEL_GAP, height: 70 } : undefined;
  const plotBottom = (shares ?? latency).top + (shares ?? latency).height;
  const height = plotBottom + AXIS_HEIGHT;

  const label = `Requests per second, latency${shares ? ', versions' : ''} and ${doc.markers.length} timeline events over ${Math.round(scale.to - scale.from)} seconds`;
  return [
    `<svg class="chart" viewBox="0 0 ${WIDTH} ${px(height)}" width="${WIDTH}" height="${px(height)}" role="img" aria-label="${esc(label)}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" font-size="11" data-bin-seconds="${binSeconds}">`,
    `<rect x="0" y="0" width="${WIDTH}" height="${px(height)}" fill="#fff"/>`,
    timeAxis(scale, requests.top, plotBottom),
    requestBars(requests, scale, series, binSeconds),
    latencyLines(latency, scale, series, binSeconds),
    shares ? versionShares(shares, scale, series, binSeconds, versions) : '',
    `<line x1="${LEFT}" x2="${LEFT + PLOT_WIDTH}" y1="${px(plotBottom)}" y2="${px(plotBottom)}" stroke="${CHART_COLORS.axis}"/>`,
    markerLines(doc.markers, scale, rows, laneHeight, plotBottom),
    panelHeading(requests, `requests ${binSeconds === 1 ? 'per second' : `per ${binSeconds} s`}`, [[CHART_COLORS.ok, 'ok'], [CHART_COLORS.failed, 'failed']]),
    panelHeading(latency, 'latency of successful requests (ms)', [[CHART_COLORS.p50, 'p50'], [CHART_COLORS.p99, 'p99']]),
    shares ? panelHeading(shares, 'version that answered (share of the responses that named one)', versions.map((v) => [versionColor(versions, v), v])) : '',
    '</svg>',
  ].join('\n');
}
