import { describe, expect, it } from 'vitest';
import { longestOutage, nearestRank, type ProbeOutcome, type ProbeRecord, summarize } from '../../../src/probe/summary.js';

/** A record sent at `at` ms that took `latency` ms. */
function rec(at: number, outcome: ProbeOutcome = 'ok', latency = 10, backend?: ProbeRecord['backend']): ProbeRecord {
  return { startedAt: at, latencyMs: latency, outcome, ...(outcome === 'ok' ? { status: 200 } : {}), ...(backend ? { backend } : {}) };
}

/** Requests every 100 ms from 0 to (n-1)*100, failing where `fail(t)` says so. */
function steady(n: number, fail: (t: number) => ProbeOutcome | undefined = () => undefined): ProbeRecord[] {
  return Array.from({ length: n }, (_, i) => rec(i * 100, fail(i * 100) ?? 'ok'));
}

describe('nearestRank', () => {
  it('takes the value at rank ceil(p/100 * n), never interpolating', () => {
    const ten = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(nearestRank(ten, 50)).toBe(5); // rank 5
    expect(nearestRank(ten, 95)).toBe(10); // rank ceil(9.5) = 10
    expect(nearestRank(ten, 10)).toBe(1);
    expect(nearestRank(ten, 11)).toBe(2); // rank ceil(1.1) = 2
    expect(nearestRank([7], 99)).toBe(7);
    expect(nearestRank([1, 2, 3, 4], 50)).toBe(2); // not 2.5
    expect(nearestRank([1, 2, 3, 4], 0)).toBe(1);
    expect(() => nearestRank([], 50)).toThrow(RangeError);
  });
});

describe('summarize', () => {
  it('gives percentiles by nearest rank over successful requests only', () => {
    // 100 successes with latencies 1..100, shuffled, plus failures with huge latencies.
    const latencies = Array.from({ length: 100 }, (_, i) => ((i * 37) % 100) + 1);
    const records = [...latencies.map((l, i) => rec(i * 100, 'ok', l)), rec(50, 'timeout', 5000), rec(150, 'refused', 9000)];
    const s = summarize(records);
    expect(s.latencyMs).toEqual({ p50: 50, p95: 95, p99: 99, max: 100 });
    expect(s.requests).toBe(102);
    expect(s.successes).toBe(100);
    expect(s.failures).toBe(2);
    expect(s.errorRate).toBeCloseTo(2 / 102);
    expect(s.failuresByKind).toEqual({ http_error: 0, timeout: 1, refused: 1, reset: 0, dns: 0, other: 0 });
    expect(s.firstFailureAt).toBe(50);
    expect(s.lastFailureAt).toBe(150);
  });

  it('has no outage, no failure times and no latency when there is nothing to report', () => {
    const allOk = summarize(steady(20));
    expect(allOk.longestOutageMs).toBe(0);
    expect(allOk.firstFailureAt).toBeUndefined();
    expect(allOk.lastFailureAt).toBeUndefined();
    expect(allOk.errorRate).toBe(0);

    const empty = summarize([]);
    expect(empty).toMatchObject({ requests: 0, successes: 0, failures: 0, errorRate: 0, longestOutageMs: 0, backends: [], azs: [] });
    expect(empty.latencyMs).toBeUndefined();
  });

  it('measures an outage in the middle from the success before it to the success after it', () => {
    // Every 100 ms, 10 ms each; the requests sent at 1000..1900 fail. Successes complete at
    // ..., 910 and 2010, 2110, ... so the outage is 2010 - 910 = 1100 ms.
    const s = summarize(steady(40, (t) => (t >= 1000 && t < 2000 ? 'refused' : undefined)));
    expect(s.longestOutageMs).toBe(1100);
    expect(s.failures).toBe(10);
    expect(s.firstFailureAt).toBe(1000);
    expect(s.lastFailureAt).toBe(1900);
  });

  it('takes the longest of several outages; a single failure is an outage of about two intervals', () => {
    const s = summarize(steady(40, (t) => (t === 500 ? 'reset' : t >= 2000 && t < 2300 ? 'timeout' : undefined)));
    // single failure at 500: successes complete at 410 and 610 -> 200; the run 2000..2200: 1910 -> 2310 = 400.
    expect(s.longestOutageMs).toBe(400);
  });

  it('does not count a quiet gap without failures, however long (slow successes are latency)', () => {
    const records = [rec(0), rec(100), rec(200, 'ok', 3000), rec(3300), rec(3400)];
    // successes complete at 10, 110, 3200, 3310, 3410: a 3090 ms gap, but nothing failed in it.
    expect(summarize(records).longestOutageMs).toBe(0);
  });

  it('attributes a failure to the gap in which it was sent, even when it ended much later (a timeout)', () => {
    // Successes until 1000; requests sent at 1100..1400 hang until their 2000 ms timeout;
    // successes again from 1500. The timeouts END at 3100..3400, among later successes.
    const records = steady(40, (t) => (t >= 1100 && t < 1500 ? 'timeout' : undefined)).map((r) =>
      r.outcome === 'timeout' ? { ...r, latencyMs: 2000 } : r,
    );
    // last success before: sent 1000, done 1010; first after: sent 1500, done 1510.
    expect(summarize(records).longestOutageMs).toBe(500);
  });

  it('counts failures before the first success from the start of the run', () => {
    const records = steady(20, (t) => (t < 500 ? 'refused' : undefined));
    // run starts at 0 (first request sent); first success completes at 510.
    expect(summarize(records).longestOutageMs).toBe(510);
    // with an explicit window starting earlier, the outage starts there
    expect(summarize(records, { start: -200, end: 2000 }).longestOutageMs).toBe(710);
  });

  it('counts a run that ends failing up to the end of the run', () => {
    const records = steady(20, (t) => (t >= 1500 ? 'timeout' : undefined)).map((r) => (r.outcome === 'timeout' ? { ...r, latencyMs: 2000 } : r));
    // last success completes at 1410; without a window the run ends when the last request completes: 1900 + 2000.
    expect(summarize(records).longestOutageMs).toBe(3900 - 1410);
    expect(summarize(records, { start: 0, end: 2500 }).longestOutageMs).toBe(2500 - 1410);
    // a failure sent exactly at the window's end still makes the run end failing
    expect(summarize([rec(0), rec(100, 'refused', 1)], { start: 0, end: 100 }).longestOutageMs).toBe(90);
  });

  it('makes the whole run one outage when nothing succeeds', () => {
    const records = [rec(0, 'refused', 1), rec(100, 'refused', 1), rec(200, 'reset', 5)];
    expect(summarize(records).longestOutageMs).toBe(205);
    expect(summarize(records, { start: 0, end: 1000 }).longestOutageMs).toBe(1000);
    expect(summarize(records).latencyMs).toBeUndefined();
  });

  it('ignores records sent outside the window', () => {
    const records = steady(30, (t) => (t < 1000 ? 'refused' : undefined));
    const s = summarize(records, { start: 1000, end: 2950 });
    expect(s.requests).toBe(20);
    expect(s.failures).toBe(0);
    expect(s.longestOutageMs).toBe(0);
    expect(longestOutage(records, { start: 1000, end: 2950 })).toBe(0); // failures sent before the window do not count
  });

  it('gives each backend and AZ its share of successful traffic; shares sum to 1', () => {
    const a = { hostname: 'ip-10-0-1-5', az: 'us-east-1a', version: '1.0' };
    const b = { hostname: 'ip-10-0-2-7', az: 'us-east-1b', version: '1.0' };
    const c = { hostname: 'ip-10-0-1-9', az: 'us-east-1a', version: '1.1' };
    const records = [
      ...Array.from({ length: 5 }, (_, i) => rec(i, 'ok', 1, a)),
      ...Array.from({ length: 3 }, (_, i) => rec(10 + i, 'ok', 1, b)),
      ...Array.from({ length: 2 }, (_, i) => rec(20 + i, 'ok', 1, c)),
      rec(30, 'ok', 1), // a success whose body named no backend
      rec(31, 'ok', 1, { hostname: 'local', version: '1.0' }), // no AZ (outside ECS)
      rec(40, 'http_error', 1, a), // failures never count towards shares
    ];
    const s = summarize(records);
    expect(s.backends.map((x) => [x.hostname, x.successes])).toEqual([
      ['ip-10-0-1-5', 5],
      ['ip-10-0-1-9', 2],
      ['ip-10-0-2-7', 3],
      ['local', 1],
    ]);
    expect(s.backends.find((x) => x.hostname === 'ip-10-0-1-5')).toMatchObject({ az: 'us-east-1a', version: '1.0', share: 5 / 11 });
    expect(s.backends.reduce((t, x) => t + x.share, 0)).toBeCloseTo(1, 12);
    expect(s.azs).toEqual([
      { az: 'us-east-1a', successes: 7, share: 0.7 },
      { az: 'us-east-1b', successes: 3, share: 0.3 },
    ]);
    expect(s.azs.reduce((t, x) => t + x.share, 0)).toBeCloseTo(1, 12);
    expect(s.successesWithoutBackend).toBe(1);
    expect(s.successesWithoutAz).toBe(2);
    expect(s.versions).toEqual(['1.0', '1.1']);
  });
});
