/**
 * The checks `verify` makes through the stack's public URL, as a user would: `/` answers the app's
 * greeting, `/health` says healthy, and the answers come from two or more tasks in two or more AZs.
 */
import { interruptibleClock, type Clock } from '../clock.js';
import { probeBurst, summarize, type ProbeRecord } from '../probe/prober.js';
import { desiredCount, emulatorReason, fail, skip, verdict, type CheckContext, type CheckOutcome } from './checks.js';

/** A probe record of one path, with what the app said. */
export interface AnswerRecord extends ProbeRecord {
  path: string;
}

/** What the URL showed: whether it could be reached in time, then one sample of each path. */
export interface UrlObservation {
  baseUrl: string;
  reachable: boolean;
  /** How long it took before a connection was accepted (a new load balancer's DNS name may not resolve yet). */
  waitedMs: number;
  attempts: number;
  /** The last reachability attempt: the reason when it was not reachable. */
  last: AnswerRecord;
  root: AnswerRecord[];
  health: AnswerRecord[];
}

export interface UrlOptions {
  requests: number;
  /** The bound on waiting for the DNS name to resolve and the load balancer to accept connections. */
  waitTimeoutMs: number;
  clock: Clock;
  signal?: AbortSignal;
  /** Per request; default 5 s (an ALB across the internet, a cold task). */
  requestTimeoutMs?: number;
  onWait?: (elapsedSeconds: number, outcome: string) => void;
}

const GREETING = /^Hello from \S+ - Version \S.*$/;
const RETRY_INTERVAL_MS = 5_000;
const CONCURRENCY = 4;

/** Sends `requests` GETs to one path, a few at a time, over keep-alive connections, keeping the bodies. */
export async function sample(baseUrl: string, path: string, requests: number, timeoutMs: number, clock: Pick<Clock, 'now'>): Promise<AnswerRecord[]> {
  const { records } = await probeBurst(baseUrl, { requests, path, timeoutMs, clock, concurrency: CONCURRENCY, keepBody: true });
  return records.map((record) => ({ ...record, path }));
}

/**
 * Tries `/health` until the name resolves and a connection is accepted, within `waitTimeoutMs`:
 * a new load balancer's DNS name can take a minute or two to resolve. Other outcomes (a timeout,
 * an HTTP error) are answers from the load balancer and are not waited out.
 */
export async function observeUrl(baseUrl: string, options: UrlOptions): Promise<UrlObservation> {
  const requestTimeoutMs = options.requestTimeoutMs ?? 5_000;
  const clock = interruptibleClock(options.clock, options.signal);
  const started = clock.now();
  let attempts = 0;
  let last: AnswerRecord;
  for (;;) {
    attempts++;
    [last] = (await sample(baseUrl, '/health', 1, requestTimeoutMs, clock)) as [AnswerRecord];
    const elapsed = clock.now() - started;
    if (last.outcome !== 'dns' && last.outcome !== 'refused') break;
    if (elapsed >= options.waitTimeoutMs) return { baseUrl, reachable: false, waitedMs: elapsed, attempts, last, root: [], health: [] };
    options.onWait?.(Math.round(elapsed / 1000), last.outcome === 'dns' ? 'DNS name does not resolve yet' : 'connection refused');
    await clock.sleep(Math.min(RETRY_INTERVAL_MS, options.waitTimeoutMs - elapsed));
  }
  const waitedMs = clock.now() - started;
  const root = await sample(baseUrl, '/', options.requests, requestTimeoutMs, clock);
  const health = await sample(baseUrl, '/health', options.requests, requestTimeoutMs, clock);
  return { baseUrl, reachable: true, waitedMs, attempts, last, root, health };
}

export interface UrlCheckContext extends CheckContext {
  url: () => Promise<UrlObservation>;
}

function healthStatus(body: string | undefined): unknown {
  try {
    return (JSON.parse(body ?? '') as { status?: unknown }).status;
  } catch {
    return undefined;
  }
}

const isGreeting = (r: AnswerRecord): boolean => r.status === 200 && GREETING.test((r.body ?? '').trim());
const isHealthy = (r: AnswerRecord): boolean => r.status === 200 && healthStatus(r.body) === 'healthy';

/** "18/20 greeting Version 1.0, other: 2× refused": how many answered as expected, and how the others ended. */
function tally(records: AnswerRecord[], good: (r: AnswerRecord) => boolean, what: string): string {
  const bad = new Map<string, number>();
  for (const r of records.filter((r) => !good(r))) {
    const label = r.outcome === 'ok' ? `HTTP ${r.status} ${JSON.stringify((r.body ?? '').trim().slice(0, 40))}` : r.outcome === 'http_error' ? `HTTP ${r.status}` : r.outcome;
    bad.set(label, (bad.get(label) ?? 0) + 1);
  }
  const others = [...bad.entries()].map(([label, n]) => `${n}× ${label}`).join(', ');
  return `${records.filter(good).length}/${records.length} ${what}${others ? `, other: ${others}` : ''}`;
}

function unreachable(o: UrlObservation): string {
  return `${o.baseUrl} not reachable after ${Math.round(o.waitedMs / 1000)} s and ${o.attempts} attempts: ${o.last.outcome}${o.last.error ? ` (${o.last.error})` : ''}`;
}

/** The checks a user's view can fail that an emulator or a single-task service cannot show. */
async function precondition(ctx: UrlCheckContext, needsTwoTasks: boolean): Promise<CheckOutcome | undefined> {
  if (ctx.emulatorEndpoint) return skip(emulatorReason(ctx.emulatorEndpoint));
  if (!needsTwoTasks) return undefined;
  const desired = await desiredCount(ctx);
  return desired !== undefined && desired < 2 ? skip(`desired count is ${desired}: one task cannot answer as two`) : undefined;
}

/** Every `/` answers 200 with the greeting and every `/health` answers 200 {status: healthy}. */
export async function urlAnswers(ctx: UrlCheckContext): Promise<CheckOutcome> {
  const skipped = await precondition(ctx, false);
  if (skipped) return skipped;
  const o = await ctx.url();
  if (!o.reachable) return fail(unreachable(o));
  const versions = summarize(o.root.filter(isGreeting)).versions;
  const evidence = [
    `/ ${tally(o.root, isGreeting, versions.length ? `greeting Version ${versions.join(', ')}` : 'greeting')}`,
    `/health ${tally(o.health, isHealthy, 'healthy')}`,
    ...(o.attempts > 1 ? [`reachable after ${Math.round(o.waitedMs / 1000)} s`] : []),
  ].join('; ');
  const latency = summarize([...o.root, ...o.health]).latencyMs;
  return verdict(o.root.every(isGreeting) && o.health.every(isHealthy), evidence, { url: o.baseUrl, waitedMs: o.waitedMs, latencyMs: latency });
}

/** The answers came from at least two distinct tasks (hostnames). */
export async function urlAcrossTasks(ctx: UrlCheckContext): Promise<CheckOutcome> {
  const skipped = await precondition(ctx, true);
  if (skipped) return skipped;
  const o = await ctx.url();
  if (!o.reachable) return fail(unreachable(o));
  const summary = summarize([...o.root, ...o.health]);
  const hosts = summary.backends.map((b) => `${b.hostname} (${b.successes})`).join(', ');
  if (summary.backends.length === 0) return fail(`no answer identified a task among ${summary.requests} requests (${summary.successes} successful)`);
  return verdict(
    summary.backends.length >= 2,
    `${summary.backends.length === 1 ? '1 task' : `${summary.backends.length} tasks`} answered ${summary.successes}/${summary.requests} requests: ${hosts}`,
    { backends: summary.backends },
  );
}

/** The `/health` answers came from at least two AZs, when the app reports its AZ. */
export async function urlAcrossAzs(ctx: UrlCheckContext): Promise<CheckOutcome> {
  const skipped = await precondition(ctx, true);
  if (skipped) return skipped;
  const o = await ctx.url();
  if (!o.reachable) return fail(unreachable(o));
  const summary = summarize(o.health);
  if (summary.successes === 0) return fail(`no successful /health answer among ${summary.requests} requests`);
  if (summary.azs.length === 0) return skip(`the app reported no AZ in ${summary.successes} /health answers (no ECS task metadata), so the AZ spread was not seen through the URL`);
  const zones = summary.azs.map((a) => `${a.az} (${a.successes})`).join(', ');
  return verdict(summary.azs.length >= 2, `${summary.azs.length === 1 ? '1 AZ' : `${summary.azs.length} AZs`} answered ${summary.successes - summary.successesWithoutAz}/${summary.requests} /health requests: ${zones}`, {
    azs: summary.azs,
  });
}
