import { describe, expect, it } from 'vitest';
import type { ProbeRecord } from '../../../src/probe/summary.js';
import { buildSeries, coarsenSeries, seriesTotals, seriesVersions } from '../../../src/report/series.js';

const ORIGIN = Date.UTC(2026, 10, 26, 22, 15, 0, 500);

const ok = (afterMs: number, latencyMs: number, version?: string): ProbeRecord => ({
  startedAt: ORIGIN + afterMs,
  latencyMs,
  outcome: 'ok',
  status: 200,
  ...(version !== undefined ? { backend: { hostname: `host-${version}`, version } } : {}),
});
const failed = (afterMs: number, outcome: ProbeRecord['outcome'], version?: string): ProbeRecord => ({
  startedAt: ORIGIN + afterMs,
  latencyMs: outcome === 'timeout' ? 2000 : 1,
  outcome,
  error: outcome,
  ...(version !== undefined ? { status: 503, backend: { hostname: `host-${version}`, version } } : {}),
});

describe('buildSeries', () => {
  it('buckets by the second each request was sent, from the origin; before it is negative; a silent second has no bucket', () => {
    const records = [
      ok(-1500, 10, '1.0'), // second -2
      failed(-1, 'refused'), // second -1: one millisecond before the origin
      ok(0, 5, '1.0'), // second 0 starts at the origin itself
      ok(300, 20, '2.0'),
      failed(600, 'timeout'),
      ok(999, 7, '2.0'),
      failed(999.5, 'http_error', '2.0'), // an error page that names its version
      failed(1000, 'reset'), // second 1
      failed(1200, 'reset'),
      ok(3100, 4), // second 3; second 2 had no request; no version reported
    ];
    expect(buildSeries(records, ORIGIN)).toEqual([
      { t: -2, ok: 1, failed: 0, failedByOutcome: {}, p50: 10, p99: 10, versions: { '1.0': 1 } },
      { t: -1, ok: 0, failed: 1, failedByOutcome: { refused: 1 }, p50: null, p99: null, versions: {} },
      // latencies 5, 7, 20: nearest rank p50 = the 2nd (ceil(1.5)), p99 = the 3rd (ceil(2.97))
      { t: 0, ok: 3, failed: 2, failedByOutcome: { timeout: 1, http_error: 1 }, p50: 7, p99: 20, versions: { '1.0': 1, '2.0': 3 } },
      { t: 1, ok: 0, failed: 2, failedByOutcome: { reset: 2 }, p50: null, p99: null, versions: {} },
      { t: 3, ok: 1, failed: 0, failedByOutcome: {}, p50: 4, p99: 4, versions: {} },
    ]);
  });

  it('percentiles are over the successful requests of that second only, nearest rank', () => {
    // 100 successes sent in second 4 with latencies 100..1 ms (sent in reverse order), and a slow failure.
    const records = Array.from({ length: 100 }, (_, i) => ok(4000 + i * 9, 100 - i));
    records.push(failed(4950, 'timeout'));
    const [bucket] = buildSeries(records, ORIGIN);
    expect(bucket).toMatchObject({ t: 4, ok: 100, failed: 1, p50: 50, p99: 99 });
  });

  it('totals, versions in order of first answer, and an empty run', () => {
    const series = buildSeries([ok(0, 1, '2.0'), ok(1000, 1, '1.0'), failed(1100, 'dns'), ok(2000, 1, '2.0')], ORIGIN);
    expect(seriesTotals(series)).toEqual({ requests: 4, ok: 3, failed: 1 });
    expect(seriesVersions(series)).toEqual(['2.0', '1.0']);
    expect(buildSeries([], ORIGIN)).toEqual([]);
    expect(seriesTotals([])).toEqual({ requests: 0, ok: 0, failed: 0 });
  });

  it('a version named like an object property stays a plain count', () => {
    const [bucket] = buildSeries([ok(0, 1, '__proto__'), ok(10, 1, '__proto__'), ok(20, 1, 'constructor')], ORIGIN);
    expect(Object.getPrototypeOf(bucket!.versions)).toBe(Object.prototype);
    expect(Object.entries(bucket!.versions)).toEqual([['__proto__', 2], ['constructor', 1]]);
    expect(JSON.parse(JSON.stringify(bucket!.versions))).toEqual(bucket!.versions);
  });
});

describe('coarsenSeries', () => {
  it('adds up counts and versions per bin and keeps the worst second of each bin', () => {
    const series = buildSeries(
      [ok(-100, 3, 'a'), ok(0, 9, 'a'), failed(1000, 'refused'), ok(1100, 2, 'b'), ok(2000, 30, 'b'), ok(5000, 1, 'b')],
      ORIGIN,
    );
    expect(coarsenSeries(series, 3)).toEqual([
      { t: -3, ok: 1, failed: 0, failedByOutcome: {}, p50: 3, p99: 3, versions: { a: 1 } },
      { t: 0, ok: 3, failed: 1, failedByOutcome: { refused: 1 }, p50: 30, p99: 30, versions: { a: 1, b: 2 } },
      { t: 3, ok: 1, failed: 0, failedByOutcome: {}, p50: 1, p99: 1, versions: { b: 1 } },
    ]);
    expect(seriesTotals(coarsenSeries(series, 3))).toEqual(seriesTotals(series));
    expect(coarsenSeries(series, 1)).toEqual(series);
  });

  it('does not change the series it merges', () => {
    const series = buildSeries([ok(0, 1, 'a'), ok(1000, 2, 'a'), failed(1500, 'reset')], ORIGIN);
    const copy = structuredClone(series);
    coarsenSeries(series, 10);
    expect(series).toEqual(copy);
  });
});
