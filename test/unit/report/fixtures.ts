/**
 * A chaos run as the prober and the recovery tracker would record it: 10 requests/s, a 5 s
 * baseline, a stop whose draining went wrong for two seconds (refused, reset, a 502, one timeout
 * and one error message carrying markup), a replacement healthy at +16 s, steady at +20 s and
 * 5 s of settle. The stop is not on a whole second, as in a real run.
 */
import { parseChaosOptions } from '../../../src/chaos/options.js';
import type { ReportInput } from '../../../src/chaos/report.js';
import type { TimelineEvent } from '../../../src/chaos/timeline.js';
import { summarize, type ProbeRecord } from '../../../src/probe/summary.js';

export const START = Date.UTC(2026, 10, 26, 22, 15, 0, 412);
export const T0 = START + 5_037;
export const HOSTILE_ERROR = '<script>alert("owned")</script> & <img src=x onerror=alert(1)>';

const VICTIM = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';
const SURVIVOR = '1a2b3c4d5e6f70819203a4b5c6d7e8f9';
const REPLACEMENT = '9f8e7d6c5b4a39281706f5e4d3c2b1a0';

/** What request k (sent at START + k * 100 ms, give or take) got. */
function record(k: number): ProbeRecord {
  const startedAt = START + k * 100 + (k % 7); // the prober's schedule slips by a few ms
  const after = startedAt - T0;
  const latencyMs = 3 + (k % 5) * 0.7 + (k % 23 === 0 ? 41.5 : 0);
  const answer = (hostname: string, az: string): ProbeRecord => ({ startedAt, latencyMs, outcome: 'ok', status: 200, backend: { hostname, az, version: '1.0' } });
  if (after >= 300 && after < 2_300) {
    const failures: Array<Omit<ProbeRecord, 'startedAt'>> = [
      { latencyMs: 1.2, outcome: 'refused', error: 'ECONNREFUSED: connect ECONNREFUSED 10.0.1.10:8080' },
      { latencyMs: 0.9, outcome: 'reset', error: 'ECONNRESET: socket hang up' },
      { latencyMs: 5.1, outcome: 'http_error', status: 502, error: 'HTTP 502' },
      { latencyMs: 2000, outcome: 'timeout', error: 'no complete response within 2000 ms' },
      { latencyMs: 1.4, outcome: 'other', error: HOSTILE_ERROR },
    ];
    // Every other request in the window fails: the surviving task still answers the rest.
    if (k % 2 === 0) return { startedAt, ...(failures[(k / 2) % failures.length] as Omit<ProbeRecord, 'startedAt'>) };
    return answer('ip-10-0-2-20', 'us-east-1b');
  }
  if (after < 0) return k % 2 ? answer('ip-10-0-1-10', 'us-east-1a') : answer('ip-10-0-2-20', 'us-east-1b');
  if (after < 16_000) return answer('ip-10-0-2-20', 'us-east-1b');
  return k % 2 ? answer('ip-10-0-1-30', 'us-east-1a') : answer('ip-10-0-2-20', 'us-east-1b');
}

export const TIMELINE: TimelineEvent[] = [
  { event: 'stop requested', seconds: 0, taskId: VICTIM },
  { event: 'victim deactivating', seconds: 1, taskId: VICTIM },
  { event: 'target draining', seconds: 1, taskId: VICTIM },
  { event: 'replacement started', seconds: 2, taskId: REPLACEMENT, detail: 'PROVISIONING' },
  { event: 'replacement running', seconds: 9, taskId: REPLACEMENT },
  { event: 'replacement registered in Cloud Map', seconds: 9, taskId: REPLACEMENT },
  { event: 'target deregistered', seconds: 11.4, taskId: VICTIM },
  { event: 'replacement healthy', seconds: 16, taskId: REPLACEMENT },
  { event: 'victim stopped', seconds: 19.8, taskId: VICTIM },
  { event: 'steady', seconds: 20 },
];

/** 30 s of requests: 5 s before the stop, 25 s after it. */
export function realisticRecords(): ProbeRecord[] {
  return Array.from({ length: 300 }, (_, k) => record(k));
}

export function realisticChaosInput(records = realisticRecords()): ReportInput {
  const end = START + 30_000 + 50;
  return {
    stack: 'demo',
    url: 'http://demo-alb-1.us-east-1.elb.amazonaws.com',
    options: parseChaosOptions({ killOne: true, rps: '10', baseline: '5', settle: '5', timeout: '600', maxFailures: '0' }),
    startedAt: START,
    t0: T0,
    victims: [{ id: VICTIM, az: 'us-east-1a', ip: '10.0.1.10' }],
    replacements: [{ id: REPLACEMENT, az: 'us-east-1a', ip: '10.0.1.30' }],
    timeline: TIMELINE,
    recoveredAt: T0 + 20_000,
    lastSeen: [],
    interrupted: false,
    warnings: [`task ${SURVIVOR} answered alone during the stop`],
    probe: { url: 'http://demo-alb-1.us-east-1.elb.amazonaws.com/health', rps: 10, timeoutMs: 2000, maxInFlight: 20, startedAt: START, endedAt: end, records, summary: summarize(records, { start: START, end }), peakInFlight: 2, skipped: { inFlightCap: 0, late: 0 } },
  };
}

/** The same run, `ms` later: every time in it moved, so that its report is consistent. */
export function shiftedBy(input: ReportInput, ms: number): ReportInput {
  const records = input.probe.records.map((r) => ({ ...r, startedAt: r.startedAt + ms }));
  const { start, end } = { start: input.probe.startedAt + ms, end: input.probe.endedAt + ms };
  return {
    ...input,
    startedAt: input.startedAt + ms,
    ...(input.t0 !== undefined ? { t0: input.t0 + ms } : {}),
    ...(input.recoveredAt !== undefined ? { recoveredAt: input.recoveredAt + ms } : {}),
    probe: { ...input.probe, startedAt: start, endedAt: end, records, summary: summarize(records, { start, end }) },
  };
}
