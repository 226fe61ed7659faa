/** Reads back what a report page drew, from its markup (its elements carry data- attributes for this). */

export interface DrawnBar {
  t: number;
  ok: number;
  failed: number;
}

export function drawnBars(html: string): DrawnBar[] {
  return [...html.matchAll(/<g class="bar" data-t="(-?\d+)" data-ok="(\d+)" data-failed="(\d+)"/g)].map((m) => ({ t: Number(m[1]), ok: Number(m[2]), failed: Number(m[3]) }));
}

export function drawnPoints(html: string, key: 'p50' | 'p99'): Array<{ t: number; ms: number }> {
  return [...html.matchAll(new RegExp(`<circle class="point ${key}" data-t="(-?\\d+)" data-ms="([\\d.]+)"`, 'g'))].map((m) => ({ t: Number(m[1]), ms: Number(m[2]) }));
}

/** Each marker and where its numbered badge is. */
export function drawnMarkers(html: string): Array<{ index: number; t: number; label: string; kind: string; badge: { x: number; y: number } }> {
  const marker = /<g class="marker" data-index="(\d+)" data-t="(-?[\d.]+)" data-label="([^"]*)" data-kind="([^"]*)"><title>[^<]*<\/title><line [^>]*\/><circle cx="([\d.]+)" cy="([\d.]+)"/g;
  return [...html.matchAll(marker)].map((m) => ({
    index: Number(m[1]),
    t: Number(m[2]),
    label: m[3] as string,
    kind: m[4] as string,
    badge: { x: Number(m[5]), y: Number(m[6]) },
  }));
}

export function drawnVersionBars(html: string): Array<{ t: number; total: number; counts: Record<string, number> }> {
  return [...html.matchAll(/<g class="version-bar" data-t="(-?\d+)" data-total="(\d+)">([\s\S]*?)<\/g>/g)].map((m) => ({
    t: Number(m[1]),
    total: Number(m[2]),
    counts: Object.fromEntries([...(m[3] as string).matchAll(/<rect class="version" data-version="([^"]*)" data-count="(\d+)"/g)].map((r) => [r[1] as string, Number(r[2])])),
  }));
}

export const count = (html: string, fragment: string): number => html.split(fragment).length - 1;

/** The name of every element in the page: what any injected markup would add to. */
export function tagNames(html: string): Set<string> {
  return new Set([...html.matchAll(/<([a-zA-Z][a-zA-Z0-9-]*)/g)].map((m) => (m[1] as string).toLowerCase()));
}

/** Every element the renderer itself writes. */
export const RENDERER_TAGS = new Set([
  'html', 'head', 'meta', 'title', 'style', 'body', 'header', 'h1', 'h2', 'p', 'ul', 'li', 'section', 'div', 'footer',
  'table', 'thead', 'tbody', 'tr', 'th', 'td', 'span',
  'svg', 'g', 'rect', 'line', 'text', 'circle', 'polyline',
]);
