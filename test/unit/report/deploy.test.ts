import { describe, expect, it } from 'vitest';
import { parseMeasureOptions } from '../../../src/deploy/options.js';
import { assembleRolloutReport } from '../../../src/deploy/report.js';
import { summarize, type ProbeRecord } from '../../../src/probe/prober.js';
import { rolloutDocument } from '../../../src/report/deploy.js';
import { renderHtmlReport } from '../../../src/report/html.js';
import { recognizeReport } from '../../../src/report/kinds.js';
import { drawnBars, drawnMarkers, drawnVersionBars } from './page.js';

const START = Date.parse('2026-11-30T12:00:00Z');
const T0 = START + 5_000;

/** 20 s at 10 requests/s: version 1.0 until +4 s, then both, then 2 only from +8 s. */
function records(): ProbeRecord[] {
  return Array.from({ length: 200 }, (_, k) => {
    const startedAt = START + k * 100;
    const after = startedAt - T0;
    const version = after < 4_000 ? '1.0' : after < 8_000 ? (k % 2 ? '2' : '1.0') : '2';
    return { startedAt, latencyMs: 4 + (k % 3), outcome: 'ok' as const, status: 200, backend: { hostname: `ip-${version}`, version } };
  });
}

function report() {
  const all = records();
  const endedAt = START + 20_000;
  return assembleRolloutReport({
    command: 'deploy',
    stack: 'demo',
    url: 'http://x',
    options: parseMeasureOptions({ rps: '10', baseline: '5', settle: '5', timeout: '60', maxFailures: '0' }),
    from: { taskDefinition: 'td:1', revision: 'demo:1', appVersion: '1.0', image: 'repo/demo:a' },
    to: { taskDefinition: 'td:2', revision: 'demo:2', appVersion: '2', image: 'repo/demo:b' },
    startedAt: START,
    t0: T0,
    deploymentId: 'ecs-svc/2',
    state: 'completed',
    finishedAt: T0 + 10_000,
    failedTasks: [],
    lastSeen: [],
    interrupted: false,
    timeline: [
      { event: 'update requested', seconds: 0, detail: 'demo:1 → demo:2' },
      { event: 'task healthy', seconds: 3.5, taskId: 'a'.repeat(32), taskDefinition: 'demo:2' },
      { event: 'deployment completed', seconds: 10, detail: 'ecs-svc/2' },
    ],
    probe: { url: 'http://x/health', rps: 10, timeoutMs: 2000, maxInFlight: 20, startedAt: START, endedAt, records: all, summary: summarize(all, { start: START, end: endedAt }), peakInFlight: 1, skipped: { inFlightCap: 0, late: 0 } },
  });
}

describe('the page of a deploy report', () => {
  it('draws the requests, the share of each version moving from old to new, and a marker per timeline event', () => {
    const deploy = report();
    const html = renderHtmlReport(rolloutDocument(deploy, '2026-11-30T12:01:00Z'));

    const bars = drawnBars(html);
    expect(bars.reduce((sum, bar) => sum + bar.ok, 0)).toBe(200);
    const versions = drawnVersionBars(html);
    expect(versions.find((bar) => bar.t === -1)?.counts).toEqual({ '1.0': 10 });
    expect(versions.find((bar) => bar.t === 5)?.counts).toEqual({ '1.0': 5, '2': 5 });
    expect(versions.find((bar) => bar.t === 12)?.counts).toEqual({ '2': 10 });
    // The timeline's three events plus first/last answer of each version.
    expect(drawnMarkers(html).map((m) => m.label)).toEqual(deploy.timeline.map((e) => e.event));
    expect(html).toContain('Deployment of stack &quot;demo&quot;: demo:1 → demo:2');
  });

  it('is recognised by `ecs-ha report` from its JSON alone', () => {
    const stored = JSON.parse(JSON.stringify(report()));
    const recognized = recognizeReport(stored);
    expect(recognized).toMatchObject({ kind: 'deploy', stack: 'demo', passed: true });
    expect(recognizeReport({ ...stored, phases: null })).toMatchObject({ problems: expect.arrayContaining([expect.stringContaining('not a deploy report: "phases" is incomplete')]) });
  });
});
