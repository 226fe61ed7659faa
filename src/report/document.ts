/**
 * What a report page shows, whatever run produced it: `chaos` maps its report to this shape
 * (src/report/chaos.ts), and so does `deploy`. The page (src/report/html.ts) knows only this.
 */
import type { SeriesBucket } from './series.js';

/**
 * How a marker is coloured: `action` what the tool did (the stop, the deployment it started),
 * `progress` a step on the way, `done` the end of what was measured (steady again, deployment
 * complete), `problem` something going wrong (a rollback, a replacement stopping), `info` anything else.
 */
export type MarkerKind = 'action' | 'progress' | 'done' | 'problem' | 'info';

/** An event of the run's timeline, drawn as a numbered vertical line on the time axis. */
export interface RunMarker {
  /** Seconds after the run's time origin, as the series' `t`. */
  t: number;
  /** What happened, short: "victim stopped". */
  label: string;
  kind: MarkerKind;
  /** Which task, version or state it concerns, shown in the timeline table. */
  detail?: string;
}

export interface FailedRequestRow {
  /** Seconds after the run's time origin when it was sent. */
  seconds: number;
  outcome: string;
  error?: string;
}

export interface MeasuredRunDocument {
  /** Which command measured the run (a rollback is a deploy of the previous revision, listed as such). */
  kind: 'chaos' | 'deploy' | 'rollback';
  /** The page's heading, one line. */
  title: string;
  /** When the page was rendered, ISO 8601. */
  generatedAt: string;
  verdict: { passed: boolean; text: string };
  /** What t = 0 is, said under the chart: "seconds after the stop was requested (2026-…Z)". */
  timeAxisLabel: string;
  series: SeriesBucket[];
  markers: RunMarker[];
  summaryRows: Array<[label: string, value: string]>;
  /** The failed requests listed (a report may keep only the first ones)… */
  failedRequests: FailedRequestRow[];
  /** …and how many failed in all. */
  failedRequestsTotal: number;
  /** Warnings and caveats, one sentence each, shown above the chart. */
  notes: string[];
}
