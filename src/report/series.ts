/**
 * A measured run over time: the probe records cut into one-second buckets. The JSON reports keep
 * this series (not the individual records), so a report's page can be drawn again from its JSON
 * alone. Pure functions only.
 */
import { nearestRank, type FailureOutcome, type ProbeRecord } from '../probe/summary.js';

/** What the requests sent during one second of a run got. */
export interface SeriesBucket {
  /** Start of the second, in whole seconds after the run's time origin (negative: before it). */
  t: number;
  /** Requests sent in this second that succeeded / failed. */
  ok: number;
  failed: number;
  /** The failed requests by kind; only the kinds that occurred. */
  failedByOutcome: Partial<Record<FailureOutcome, number>>;
  /** Nearest-rank latency percentiles of this second's successful requests, ms; null when none succeeded. */
  p50: number | null;
  p99: number | null;
  /**
   * Responses (successful or not) by the app version that answered them. A response whose body
   * named no version is not counted, so the counts may sum to less than ok + failed.
   */
  versions: Record<string, number>;
}

const MS_PER_SECOND = 1000;

/**
 * Buckets `records` by the second in which each request was SENT, counted from `originMs` (ms
 * since the epoch): a request sent at originMs + 1999 is in bucket t = 1. Seconds in which no
 * request was sent have no bucket (the prober skipped them: a gap on the chart). Sorted by t.
 */
export function buildSeries(records: readonly ProbeRecord[], originMs: number): SeriesBucket[] {
  const bySecond = new Map<number, ProbeRecord[]>();
  for (const record of records) {
    const t = Math.floor((record.startedAt - originMs) / MS_PER_SECOND);
    const bucket = bySecond.get(t);
    if (bucket) bucket.push(record);
    else bySecond.set(t, [record]);
  }
  return [...bySecond.entries()].sort(([a], [b]) => a - b).map(([t, inSecond]) => bucketOf(t, inSecond));
}

function bucketOf(t: number, records: readonly ProbeRecord[]): SeriesBucket {
  const failedByOutcome = new Map<FailureOutcome, number>();
  // A Map, then Object.fromEntries: a version named "__proto__" stays a plain key.
  const versions = new Map<string, number>();
  const latencies: number[] = [];
  for (const record of records) {
    if (record.outcome === 'ok') latencies.push(record.latencyMs);
    else failedByOutcome.set(record.outcome, (failedByOutcome.get(record.outcome) ?? 0) + 1);
    const version = record.backend?.version;
    if (version !== undefined) versions.set(version, (versions.get(version) ?? 0) + 1);
  }
  latencies.sort((a, b) => a - b);
  return {
    t,
    ok: latencies.length,
    failed: records.length - latencies.length,
    failedByOutcome: Object.fromEntries(failedByOutcome),
    p50: latencies.length > 0 ? nearestRank(latencies, 50) : null,
    p99: latencies.length > 0 ? nearestRank(latencies, 99) : null,
    versions: Object.fromEntries(versions),
  };
}

/** Requests, successes and failures over a whole series. */
export function seriesTotals(series: readonly SeriesBucket[]): { requests: number; ok: number; failed: number } {
  const ok = series.reduce((sum, b) => sum + b.ok, 0);
  const failed = series.reduce((sum, b) => sum + b.failed, 0);
  return { requests: ok + failed, ok, failed };
}

/** Every version that answered anywhere in the series, in the order they first answered. */
export function seriesVersions(series: readonly SeriesBucket[]): string[] {
  const seen = new Set<string>();
  for (const bucket of series) for (const version of Object.keys(bucket.versions)) seen.add(version);
  return [...seen];
}

/**
 * Merges the series into buckets `binSeconds` wide (t a multiple of binSeconds), so that a very
 * long run still draws a readable number of bars. Counts add up; latency percentiles of merged
 * seconds cannot be recomputed from the buckets, so a bin shows its worst second's p50 and p99.
 */
export function coarsenSeries(series: readonly SeriesBucket[], binSeconds: number): SeriesBucket[] {
  if (binSeconds <= 1) return [...series];
  const bins = new Map<number, SeriesBucket>();
  for (const bucket of series) {
    const t = Math.floor(bucket.t / binSeconds) * binSeconds;
    const bin = bins.get(t);
    if (!bin) {
      bins.set(t, { ...bucket, t, failedByOutcome: { ...bucket.failedByOutcome }, versions: { ...bucket.versions } });
      continue;
    }
    bin.ok += bucket.ok;
    bin.failed += bucket.failed;
    for (const [outcome, count] of Object.entries(bucket.failedByOutcome) as Array<[FailureOutcome, number]>) {
      bin.failedByOutcome[outcome] = (bin.failedByOutcome[outcome] ?? 0) + count;
    }
    const merged = new Map(Object.entries(bin.versions));
    for (const [version, count] of Object.entries(bucket.versions)) merged.set(version, (merged.get(version) ?? 0) + count);
    bin.versions = Object.fromEntries(merged);
    bin.p50 = worst(bin.p50, bucket.p50);
    bin.p99 = worst(bin.p99, bucket.p99);
  }
  return [...bins.values()].sort((a, b) => a.t - b.t);
}

const worst = (a: number | null, b: number | null): number | null => (a === null ? b : b === null ? a : Math.max(a, b));
