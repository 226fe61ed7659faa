/**
 * The page of a chaos report assembled the way `chaos` assembles it (assembleReport over probe
 * records and timeline events), read back from its markup: what it draws must be what the report says.
 */
import { describe, expect, it } from 'vitest';
import { assembleReport, type ChaosReport } from '../../../src/chaos/report.js';
import type { ProbeRecord } from '../../../src/probe/summary.js';
import { chaosDocument, type StoredChaosReport } from '../../../src/report/chaos.js';
import { renderHtmlReport, type MeasuredRunDocument } from '../../../src/report/html.js';
import { buildSeries } from '../../../src/report/series.js';
import { HOSTILE_ERROR, realisticChaosInput, realisticRecords, T0, TIMELINE } from './fixtures.js';
import { count, drawnBars, drawnMarkers, drawnPoints, drawnVersionBars, RENDERER_TAGS, tagNames } from './page.js';

const GENERATED_AT = '2026-11-26T22:20:00.000Z';
const secondOf = (r: ProbeRecord): number => Math.floor((r.startedAt - T0) / 1000);

function chaosPage(): { report: ChaosReport; records: ProbeRecord[]; html: string } {
  const records = realisticRecords();
  const report = assembleReport(realisticChaosInput(records));
  // Through JSON, as `ecs-ha report FILE` reads it back.
  const html = renderHtmlReport(chaosDocument(JSON.parse(JSON.stringify(report)) as ChaosReport, GENERATED_AT));
  return { report, records, html };
}

describe('the page of a chaos report', () => {
  it('draws one bar per second with requests, whose counts add up to the report totals', () => {
    const { report, records, html } = chaosPage();
    const bars = drawnBars(html);
    const secondsWithRequests = new Set(records.map(secondOf));
    expect(bars).toHaveLength(secondsWithRequests.size);
    expect(bars.map((b) => b.t)).toEqual([...secondsWithRequests].sort((a, b) => a - b));
    expect(bars.reduce((sum, b) => sum + b.ok, 0)).toBe(report.userSaw.successes);
    expect(bars.reduce((sum, b) => sum + b.failed, 0)).toBe(report.userSaw.failures);
    expect(report.userSaw.failures).toBeGreaterThan(0);
    // Each failed request is in the bar of the second it was sent.
    for (const bar of bars) expect(bar.failed, `second ${bar.t}`).toBe(records.filter((r) => secondOf(r) === bar.t && r.outcome !== 'ok').length);
    // Only bars with failures have a red segment, and each has one.
    expect(count(html, '<rect class="failed"')).toBe(bars.filter((b) => b.failed > 0).length);
    expect(html).toContain(`${report.userSaw.requests} requests, ${report.userSaw.successes} ok, ${report.userSaw.failures} failed`);
  });

  it('draws p50 and p99 for every second in which a request succeeded', () => {
    const { records, html } = chaosPage();
    const secondsWithSuccess = [...new Set(records.filter((r) => r.outcome === 'ok').map(secondOf))].sort((a, b) => a - b);
    for (const key of ['p50', 'p99'] as const) expect(drawnPoints(html, key).map((p) => p.t)).toEqual(secondsWithSuccess);
    // Fewer than 100 successes in a second: the nearest-rank p99 is its slowest one.
    const second0 = records.filter((r) => secondOf(r) === 0 && r.outcome === 'ok').map((r) => r.latencyMs);
    expect(drawnPoints(html, 'p99').find((p) => p.t === 0)?.ms).toBe(Math.max(...second0));
  });

  it('marks every timeline event on the time axis, numbered, with its label, and lists them', () => {
    const { html } = chaosPage();
    const markers = drawnMarkers(html);
    expect(markers.map((m) => [m.index, m.t, m.label])).toEqual(TIMELINE.map((e, i) => [i + 1, e.seconds, e.event]));
    expect(markers.find((m) => m.label === 'stop requested')?.kind).toBe('action');
    expect(markers.find((m) => m.label === 'steady')?.kind).toBe('done');
    expect(count(html, '<tr class="event"')).toBe(TIMELINE.length);
    // Badges of events close in time are stacked, never drawn over each other (each is 14 px wide).
    for (const [i, a] of markers.entries()) {
      for (const b of markers.slice(i + 1)) expect(Math.abs(a.badge.x - b.badge.x) >= 14 || Math.abs(a.badge.y - b.badge.y) >= 14, `badges ${a.index} and ${b.index}`).toBe(true);
    }
    expect(html).toContain('task 9f8e7d6c5b4a39281706f5e4d3c2b1a0 (us-east-1a) [PROVISIONING]');
  });

  it('lists the failed requests, the summary and the verdict', () => {
    const { report, html } = chaosPage();
    expect(count(html, '<tr class="failed-request">')).toBe(report.failedRequests.length);
    expect(report.failedRequests).toHaveLength(report.userSaw.failures);
    expect(html).toContain('<td>refused</td><td class="error">ECONNREFUSED: connect ECONNREFUSED 10.0.1.10:8080</td>');
    expect(html).toContain('<p class="verdict fail" data-passed="false">FAIL: ');
    expect(html).toContain(`<th scope="row">requests</th><td>${report.userSaw.requests} sent, ${report.userSaw.successes} ok, ${report.userSaw.failures} failed`);
    expect(html).toContain('<th scope="row">URL probed</th><td>http://demo-alb-1.us-east-1.elb.amazonaws.com at 10 requests/s</td>');
    expect(html).toContain('seconds after the stop was requested (2026-11-26T22:15:05.449Z)');
    expect(html).toContain('<li>task 1a2b3c4d5e6f70819203a4b5c6d7e8f9 answered alone during the stop</li>');
  });

  it('escapes text from the network: no markup of its own gets into the page', () => {
    const { report, html } = chaosPage();
    expect(report.failedRequests.map((r) => r.error)).toContain(HOSTILE_ERROR);
    expect(html).not.toContain(HOSTILE_ERROR);
    expect(html).toContain('&lt;script&gt;alert(&quot;owned&quot;)&lt;/script&gt; &amp; &lt;img src=x onerror=alert(1)&gt;');
    expect([...tagNames(html)].filter((tag) => !RENDERER_TAGS.has(tag))).toEqual([]);
  });

  it('is self-contained: it loads nothing and runs nothing', () => {
    const { html } = chaosPage();
    // The markup's own tags (escaped text has no "<"): no attribute that loads or runs anything.
    const tags = (html.match(/<[^>]*>/g) ?? []).join('\n');
    expect(tags).not.toMatch(/\s(src|href|xlink:href|action|srcset|formaction|background)\s*=/i);
    expect(tags).not.toMatch(/\son[a-z]+\s*=/i);
    expect(html).not.toMatch(/url\(|@import|<link|<script|<iframe|<object|<embed/i);
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`);
    // The app's URL is shown as text, never as a link or a resource.
    expect(html.match(/https?:\/\/[^\s<"]*/g)).toEqual(['http://demo-alb-1.us-east-1.elb.amazonaws.com']);
  });

  it('draws no version panel when one version answered throughout', () => {
    const { report, html } = chaosPage();
    expect(report.userSaw.versions).toEqual(['1.0']);
    expect(drawnVersionBars(html)).toEqual([]);
    expect(html).not.toContain('class="series versions"');
  });

  it('a report of an earlier ecs-ha, without series, still has its timeline, tables and a note', () => {
    const { report } = chaosPage();
    const { series: _series, ...older } = report;
    const html = renderHtmlReport(chaosDocument(older as StoredChaosReport, GENERATED_AT));
    expect(drawnBars(html)).toEqual([]);
    expect(drawnMarkers(html)).toHaveLength(TIMELINE.length);
    expect(html).toContain('did not keep the requests per second');
    expect(html).toContain('no request was recorded');
  });
});

/** A rolling deploy from 1.0 to 2.0 over 20 s: each second one request more goes to 2.0. */
function deployDocument(): { records: ProbeRecord[]; doc: MeasuredRunDocument } {
  const origin = Date.UTC(2026, 10, 26, 23, 0, 0);
  const records: ProbeRecord[] = [];
  for (let second = 0; second < 20; second++) {
    for (let i = 0; i < 10; i++) {
      const version = i < second / 2 ? '2.0<b>' : '1.0';
      records.push({ startedAt: origin + second * 1000 + i * 100, latencyMs: 4, outcome: 'ok', status: 200, backend: { hostname: `host-${version}`, version } });
    }
  }
  const doc: MeasuredRunDocument = {
    kind: 'deploy',
    title: 'Deploy 1.0 → 2.0 on stack "demo"',
    generatedAt: GENERATED_AT,
    verdict: { passed: true, text: 'rolled out in 20.0s; 0 of 200 requests failed' },
    timeAxisLabel: 'seconds after the deployment started',
    series: buildSeries(records, origin),
    markers: [
      { t: 0, label: 'deployment started', kind: 'action' },
      { t: 19.5, label: 'deployment completed', kind: 'done', detail: 'version 2.0<b>' },
    ],
    summaryRows: [['requests', '200 sent, 200 ok, 0 failed']],
    failedRequests: [],
    failedRequestsTotal: 0,
    notes: [],
  };
  return { records, doc };
}

describe('the page of a deploy', () => {
  it('draws the share of each version per second, with counts that add up to who answered', () => {
    const { records, doc } = deployDocument();
    const html = renderHtmlReport(doc);
    const versionBars = drawnVersionBars(html);
    expect(versionBars).toHaveLength(20);
    for (const version of ['1.0', '2.0<b>']) {
      const drawn = versionBars.reduce((sum, bar) => sum + (bar.counts[version.replace('<', '&lt;').replace('>', '&gt;')] ?? 0), 0);
      expect(drawn, version).toBe(records.filter((r) => r.backend?.version === version).length);
    }
    expect(versionBars.every((bar) => bar.total === 10)).toBe(true);
    expect(html).toContain('<p class="verdict pass" data-passed="true">PASS: rolled out in 20.0s');
    expect(html).toContain('<p class="empty">No request failed.</p>');
    expect(html).toContain('<body data-kind="deploy">');
    expect([...tagNames(html)].filter((tag) => !RENDERER_TAGS.has(tag))).toEqual([]);
  });
});

describe('long and empty runs', () => {
  it('a run of over an hour is drawn in wider bars whose counts still add up', () => {
    const origin = Date.UTC(2026, 10, 27);
    const records: ProbeRecord[] = Array.from({ length: 4000 }, (_, s) => ({ startedAt: origin + s * 1000, latencyMs: 3, outcome: s % 100 === 0 ? 'timeout' : 'ok' }));
    const doc: MeasuredRunDocument = { ...deployDocument().doc, kind: 'chaos', series: buildSeries(records, origin), markers: [] };
    const html = renderHtmlReport(doc);
    const bars = drawnBars(html);
    expect(html).toContain('data-bin-seconds="4"');
    expect(bars).toHaveLength(1000);
    expect(bars.reduce((sum, b) => sum + b.ok + b.failed, 0)).toBe(4000);
    expect(bars.reduce((sum, b) => sum + b.failed, 0)).toBe(40);
    expect(html).toContain('requests per 4 s');
  });

  it('a run interrupted before anything was sent or stopped', () => {
    const doc: MeasuredRunDocument = { ...deployDocument().doc, series: [], markers: [], verdict: { passed: false, text: 'interrupted before the test finished' } };
    const html = renderHtmlReport(doc);
    expect(drawnBars(html)).toEqual([]);
    expect(html).toContain('no request was recorded');
    expect(html).toContain('No timeline event was recorded.');
  });
});
