/**
 * Opens a chaos report's page in a real headless browser, takes a screenshot and looks at its
 * pixels: the bars (ok and failed) and the latency line are drawn, in their colours. No browser is
 * installed for this: the test uses one found on PATH and is skipped, saying so, when there is none.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { assembleReport } from '../../../src/chaos/report.js';
import { CHART_COLORS } from '../../../src/report/chart.js';
import { chaosDocument } from '../../../src/report/chaos.js';
import { renderHtmlReport } from '../../../src/report/html.js';
import { realisticChaosInput } from './fixtures.js';
import { decodePng, pixelsNear } from './png.js';

const BROWSERS = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable', 'firefox'];

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

const browser = BROWSERS.map((name) => ({ name, path: onPath(name) })).find((b) => b.path !== undefined);

/** The command line that makes this browser write a screenshot of `url` to `png`, headless, with a throwaway profile. */
function screenshotArgs(name: string, url: string, png: string, profile: string): string[] {
  if (name === 'firefox') return ['--headless', '--no-remote', '--profile', profile, '--window-size', '1100,1400', '--screenshot', png, url];
  // --no-sandbox: the test may run as root (CI does), where Chromium refuses its sandbox.
  return ['--headless', '--disable-gpu', '--no-sandbox', '--hide-scrollbars', '--no-first-run', `--user-data-dir=${profile}`, '--window-size=1100,1400', `--screenshot=${png}`, url];
}

describe('the page in a headless browser', () => {
  const title = browser
    ? `${browser.name} draws the chart: ok and failed bars and the latency line are on the screenshot`
    : `skipped: no headless browser on PATH (looked for ${BROWSERS.join(', ')}); nothing was installed for this test`;
  (browser ? it : it.skip)(title, () => {
    const dir = mkdtempSync(join(tmpdir(), 'ecs-ha-browser-'));
    const page = join(dir, 'report.html');
    const png = join(dir, 'screenshot.png');
    writeFileSync(page, renderHtmlReport(chaosDocument(assembleReport(realisticChaosInput()))));

    const run = spawnSync(browser!.path!, screenshotArgs(browser!.name, pathToFileURL(page).href, png, join(dir, 'profile')), { timeout: 90_000, encoding: 'utf8' });
    expect(existsSync(png), `${browser!.name} wrote no screenshot (exit ${run.status}, signal ${run.signal}): ${run.stderr}`).toBe(true);

    const image = decodePng(readFileSync(png));
    // The ok bars cover most of a 870×180 px panel; the three seconds with failures, a few thousand pixels.
    expect(pixelsNear(image, CHART_COLORS.ok)).toBeGreaterThan(50_000);
    expect(pixelsNear(image, CHART_COLORS.failed)).toBeGreaterThan(1_000);
    expect(pixelsNear(image, CHART_COLORS.p50)).toBeGreaterThan(100);
  });
});
