/**
 * What a user of the app saw, computed from probe records. Pure functions only: no I/O, no clock.
 */

/** How one probe request ended. Only 'ok' (a 2xx response) is a success. */
export type ProbeOutcome = 'ok' | 'http_error' | 'timeout' | 'refused' | 'reset' | 'dns' | 'other';

/** Every outcome except 'ok'. */
export type FailureOutcome = Exclude<ProbeOutcome, 'ok'>;

export const FAILURE_OUTCOMES: readonly FailureOutcome[] = ['http_error', 'timeout', 'refused', 'reset', 'dns', 'other'];

/** The task that answered, as the app reports itself (`/health` JSON or the `/` greeting). */
export interface BackendIdentity {
  hostname: string;
  /** Only `/health` reports it, and only where the ECS task metadata endpoint gives it. */
  az?: string;
  version?: string;
}

/** One probe request. */
export interface ProbeRecord {
  /** When the request was sent, ms since the epoch (from the prober's clock). */
  startedAt: number;
  /** From sending the request to the end of the response body or the error, in ms (monotonic timer, fractional). */
  latencyMs: number;
  outcome: ProbeOutcome;
  /** The HTTP status, whenever a response arrived (also for 'http_error'). */
  status?: number;
  /** Who answered, when the body identified the app's task. */
  backend?: BackendIdentity;
  /** What went wrong, for anything but 'ok': the error code and message, or "HTTP 503". */
  error?: string;
  /** The response body (its first 4 KiB), only when the caller asked to keep it. */
  body?: string;
}

export interface LatencyPercentiles {
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface BackendShare {
  hostname: string;
  /** The AZ and version this backend reported last. */
  az?: string;
  version?: string;
  successes: number;
  /** successes / all successes that identified a backend (the shares sum to 1). */
  share: number;
}

export interface AzShare {
  az: string;
  successes: number;
  /** successes / all successes that reported an AZ (the shares sum to 1). */
  share: number;
}

/** The numbers a user cares about, over a set of probe records. */
export interface ProbeSummary {
  requests: number;
  successes: number;
  failures: number;
  /** Count per failure kind; every kind is present, 0 when it did not occur. */
  failuresByKind: Record<FailureOutcome, number>;
  /** failures / requests; 0 when there were no requests. */
  errorRate: number;
  /** See `longestOutage` for the exact definition. 0 when no failure occurred. */
  longestOutageMs: number;
  /** startedAt of the earliest and latest failed request. */
  firstFailureAt?: number;
  lastFailureAt?: number;
  /** Over successful requests only, nearest-rank method; absent when nothing succeeded. */
  latencyMs?: LatencyPercentiles;
  /** Distinct backends (hostnames) among successful responses, by hostname. */
  backends: BackendShare[];
  /** Distinct AZs among successful responses, by name. */
  azs: AzShare[];
  /** Distinct app versions among successful responses, sorted. */
  versions: string[];
  /** Successes whose body did not identify a backend / did not report an AZ (not in the shares). */
  successesWithoutBackend: number;
  successesWithoutAz: number;
}

/** The bounds of a run, ms since the epoch. */
export interface SummaryWindow {
  start: number;
  end: number;
}

/**
 * Nearest-rank percentile: the smallest value such that at least p% of the values are <= it,
 * i.e. sorted[ceil(p/100 * n) - 1]. Always one of the values, never interpolated.
 * `sorted` must be ascending and non-empty.
 */
export function nearestRank(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new RangeError('nearestRank of an empty list');
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

const completion = (r: ProbeRecord): number => r.startedAt + r.latencyMs;

/**
 * The longest stretch of the run during which users got no successful response, in ms.
 *
 * Definition. The completion times of successful requests (startedAt + latencyMs), together with
 * the run's start and end, cut the run into gaps. A gap is an outage when at least one failed
 * request was SENT inside it (start of gap <= failure.startedAt < end of gap; the trailing gap
 * also takes failures sent at or after the run's end); its length is the
 * whole gap, from the success before it (or the run's start) to the success after it (or the
 * run's end). The result is the longest such gap, or 0 when there is none.
 *
 * Why these choices:
 * - Gaps without a failure are not outages: at a steady rate there is always a quiet gap of about
 *   1/rps between successes, and a slow but successful answer is latency, not an outage.
 * - A failure belongs to the gap in which it was sent, not in which it ended: a request that hangs
 *   until its timeout ends long after the server stopped answering, possibly after it recovered.
 * - Leading and trailing gaps count: failures before the first success make an outage from the
 *   run's start; a run that ends failing has an outage from its last success to the run's end.
 * - The resolution is the probe interval: an outage is over-stated by up to about two intervals
 *   plus a response time (the last success may come up to one interval before the server went
 *   away, the first one up to one interval plus a response time after it returned).
 */
export function longestOutage(records: readonly ProbeRecord[], window: SummaryWindow): number {
  const successEnds = records
    .filter((r) => r.outcome === 'ok')
    .map(completion)
    .sort((a, b) => a - b);
  const failureStarts = records
    .filter((r) => r.outcome !== 'ok')
    .map((r) => r.startedAt)
    .sort((a, b) => a - b);
  if (failureStarts.length === 0) return 0;

  const bounds = [window.start, ...successEnds.filter((t) => t > window.start && t < window.end), window.end];
  let longest = 0;
  let f = 0; // index of the first failure not sent before the current gap
  for (let i = 0; i + 1 < bounds.length; i++) {
    const from = bounds[i] as number;
    const to = bounds[i + 1] as number;
    const last = i + 2 === bounds.length; // the trailing gap also takes failures sent at or after the run's end
    while (f < failureStarts.length && (failureStarts[f] as number) < from) f++;
    const sent = failureStarts[f];
    if (sent !== undefined && (sent < to || last)) longest = Math.max(longest, to - from);
  }
  return longest;
}

/**
 * Summarizes probe records. With a window, only the records sent inside it count
 * (window.start <= startedAt <= window.end) and the window bounds the leading and trailing
 * outages; without one the run spans from the first request sent to the last one completed.
 */
export function summarize(all: readonly ProbeRecord[], window?: SummaryWindow): ProbeSummary {
  const records = window ? all.filter((r) => r.startedAt >= window.start && r.startedAt <= window.end) : [...all];
  const span: SummaryWindow = window ?? {
    start: records.reduce((t, r) => Math.min(t, r.startedAt), Infinity),
    end: records.reduce((t, r) => Math.max(t, completion(r)), -Infinity),
  };

  const ok = records.filter((r) => r.outcome === 'ok');
  const failed = records.filter((r) => r.outcome !== 'ok');
  const failuresByKind = Object.fromEntries(FAILURE_OUTCOMES.map((k) => [k, 0])) as Record<FailureOutcome, number>;
  for (const r of failed) failuresByKind[r.outcome as FailureOutcome] += 1;

  const latencies = ok.map((r) => r.latencyMs).sort((a, b) => a - b);
  const latencyMs =
    latencies.length > 0
      ? { p50: nearestRank(latencies, 50), p95: nearestRank(latencies, 95), p99: nearestRank(latencies, 99), max: latencies[latencies.length - 1] as number }
      : undefined;

  const byHost = new Map<string, { successes: number; az?: string; version?: string }>();
  const byAz = new Map<string, number>();
  const versions = new Set<string>();
  let withoutBackend = 0;
  let withoutAz = 0;
  for (const r of [...ok].sort((a, b) => a.startedAt - b.startedAt)) {
    const b = r.backend;
    if (!b) withoutBackend++;
    else {
      const entry = byHost.get(b.hostname) ?? { successes: 0 };
      entry.successes++;
      if (b.az !== undefined) entry.az = b.az;
      if (b.version !== undefined) {
        entry.version = b.version;
        versions.add(b.version);
      }
      byHost.set(b.hostname, entry);
    }
    if (b?.az === undefined) withoutAz++;
    else byAz.set(b.az, (byAz.get(b.az) ?? 0) + 1);
  }
  const identified = ok.length - withoutBackend;
  const withAz = ok.length - withoutAz;
  const byName = <T>(a: [string, T], b: [string, T]): number => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

  const firstFailureAt = failed.length > 0 ? failed.reduce((t, r) => Math.min(t, r.startedAt), Infinity) : undefined;
  const lastFailureAt = failed.length > 0 ? failed.reduce((t, r) => Math.max(t, r.startedAt), -Infinity) : undefined;

  return {
    requests: records.length,
    successes: ok.length,
    failures: failed.length,
    failuresByKind,
    errorRate: records.length > 0 ? failed.length / records.length : 0,
    // Rounded to 0.01 ms: epoch milliseconds plus fractional latencies carry float noise.
    longestOutageMs: records.length > 0 ? Math.round(longestOutage(records, span) * 100) / 100 : 0,
    ...(firstFailureAt !== undefined ? { firstFailureAt } : {}),
    ...(lastFailureAt !== undefined ? { lastFailureAt } : {}),
    ...(latencyMs ? { latencyMs } : {}),
    backends: [...byHost.entries()].sort(byName).map(([hostname, e]) => ({
      hostname,
      ...(e.az !== undefined ? { az: e.az } : {}),
      ...(e.version !== undefined ? { version: e.version } : {}),
      successes: e.successes,
      share: e.successes / identified,
    })),
    azs: [...byAz.entries()].sort(byName).map(([az, successes]) => ({ az, successes, share: successes / withAz })),
    versions: [...versions].sort(),
    successesWithoutBackend: withoutBackend,
    successesWithoutAz: withoutAz,
  };
}

/** One app version's part of the successful responses. */
export interface VersionShare {
  version: string;
  successes: number;
  /** successes / all successes that named a version (the shares sum to 1). */
  share: number;
}

/**
 * Which app versions answered the successful requests, and how often, in the order each first
 * answered. A success whose body named no version is left out (as in the backend shares).
 */
export function versionShares(records: readonly ProbeRecord[]): VersionShare[] {
  const counts = new Map<string, number>();
  for (const r of [...records].sort((a, b) => a.startedAt - b.startedAt)) {
    const version = r.outcome === 'ok' ? r.backend?.version : undefined;
    if (version !== undefined) counts.set(version, (counts.get(version) ?? 0) + 1);
  }
  const named = [...counts.values()].reduce((sum, n) => sum + n, 0);
  return [...counts.entries()].map(([version, successes]) => ({ version, successes, share: successes / named }));
}
