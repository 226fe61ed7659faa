/**
 * The HTTP prober behind `verify` and `chaos`: GET requests against the stack's public URL at a
 * steady rate, each one classified (ok, HTTP error, timeout, refused, reset, DNS) and attributed
 * to the task that answered, so that the numbers say what a user of the app saw.
 *
 * node:http/https rather than fetch, so that errors keep their system codes (ECONNREFUSED,
 * ECONNRESET, ENOTFOUND) and are classified exactly.
 */
import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import { type Clock, realClock } from '../clock.js';
import { UsageError } from '../errors.js';
import { type BackendIdentity, type ProbeOutcome, type ProbeRecord, type ProbeSummary, summarize } from './summary.js';

export * from './summary.js';

export interface ProberOptions {
  /** The app's public URL, e.g. http://my-alb-123.us-east-1.elb.amazonaws.com (http or https). */
  baseUrl: string;
  /** Appended to baseUrl; default '/health'. */
  path?: string;
  /** Requests sent per second, on a fixed schedule by start time (they may overlap); default 10. */
  rps?: number;
  /** A request not fully answered within this is abandoned and counted as 'timeout'; default 2000. */
  timeoutMs?: number;
  /**
   * At most this many requests in flight; a scheduled request is skipped (and counted in
   * `skipped.inFlightCap`) while the cap is reached, so a hung server cannot make sockets pile up.
   * Default ceil(rps * timeoutMs / 1000): what a steady rate of requests that all time out needs.
   */
  maxInFlight?: number;
  /** Wall-clock time for the records' `startedAt` (latency is measured with a monotonic timer). */
  clock?: Pick<Clock, 'now'>;
  /** Called with each record as its request completes. It must not throw; if it does, stop() rejects with that error. */
  onResult?: (record: ProbeRecord) => void;
}

/** What a probe run saw, returned by `stop()`. */
export interface ProbeReport {
  url: string;
  rps: number;
  timeoutMs: number;
  maxInFlight: number;
  /** Wall-clock bounds of the run: from startProber to the moment the last request completed after stop(). */
  startedAt: number;
  endedAt: number;
  /** Every request, in the order sent. */
  records: ProbeRecord[];
  summary: ProbeSummary;
  /** The most requests that were ever in flight at once (never more than maxInFlight). */
  peakInFlight: number;
  /** Scheduled requests not sent: because maxInFlight were in flight, or because the event loop fell behind the schedule. */
  skipped: { inFlightCap: number; late: number };
}

export interface Prober {
  readonly url: string;
  /** The numbers so far (completed requests only; a trailing outage runs up to now). */
  snapshot(): ProbeSummary;
  /** Stops scheduling, waits for the requests in flight (each at most its timeout), closes the connections. */
  stop(): Promise<ProbeReport>;
}

/** Largest response body read; the app's answers are under 200 bytes. */
const MAX_BODY_BYTES = 64 * 1024;
const USER_AGENT = 'ecs-ha-prober';

/** Maps a request error to an outcome; `timedOut` is set when the prober's own timer abandoned the request. */
export function classifyError(error: unknown, timedOut = false): Exclude<ProbeOutcome, 'ok' | 'http_error'> {
  if (timedOut) return 'timeout';
  const code = (error as { code?: unknown } | undefined)?.code;
  const message = error instanceof Error ? error.message : '';
  switch (code) {
    case 'ECONNREFUSED':
      return 'refused';
    case 'ECONNRESET':
    case 'EPIPE':
    case 'ECONNABORTED':
      return 'reset';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'dns';
    case 'ETIMEDOUT': // the operating system gave up connecting
      return 'timeout';
  }
  if (/socket hang up|aborted/i.test(message)) return 'reset';
  return 'other';
}

/**
 * Who answered, from the body: the `/health` JSON ({hostname, version, az}) or the `/` greeting
 * "Hello from <hostname> - Version <version>". Undefined when the body is neither.
 */
export function parseBackend(body: string): BackendIdentity | undefined {
  const text = body.trim();
  if (text.startsWith('{')) {
    try {
      const json = JSON.parse(text) as Record<string, unknown>;
      if (typeof json.hostname !== 'string' || json.hostname === '') return undefined;
      return {
        hostname: json.hostname,
        ...(typeof json.az === 'string' && json.az !== '' ? { az: json.az } : {}),
        ...(typeof json.version === 'string' ? { version: json.version } : {}),
      };
    } catch {
      return undefined;
    }
  }
  const greeting = /^Hello from (\S+) - Version (.+)$/.exec(text);
  return greeting ? { hostname: greeting[1] as string, version: (greeting[2] as string).trim() } : undefined;
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
}

/** A resolved URL and the keep-alive agent its requests share. */
interface Target {
  url: URL;
  agent: http.Agent;
  request: typeof http.request;
}

function target(baseUrl: string, path: string): Target {
  let url: URL;
  try {
    url = new URL(baseUrl.replace(/\/+$/, '') + (path.startsWith('/') ? path : `/${path}`));
  } catch {
    throw new UsageError(`probe URL "${baseUrl}" is not a valid URL`, 'give an absolute http:// or https:// URL');
  }
  if (url.protocol === 'https:') return { url, agent: new https.Agent({ keepAlive: true }), request: https.request };
  if (url.protocol === 'http:') return { url, agent: new http.Agent({ keepAlive: true }), request: http.request };
  throw new UsageError(`probe URL "${baseUrl}" uses ${url.protocol}; only http and https are allowed`);
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new UsageError(`probe ${name} must be a positive number, got ${value}`);
  return value;
}

/** Sends one GET and resolves (never rejects) with its record. */
function sendOne(t: Target, timeoutMs: number, clock: Pick<Clock, 'now'>, keepBody = false): Promise<ProbeRecord> {
  return new Promise((resolve) => {
    const startedAt = clock.now();
    const t0 = performance.now();
    let done = false;
    // The whole request (connect, response, body) must fit in timeoutMs; then it is abandoned.
    const timer = setTimeout(() => {
      finish({ outcome: 'timeout', error: `no complete response within ${timeoutMs} ms` });
      req.destroy();
    }, timeoutMs);
    const finish = (record: Omit<ProbeRecord, 'startedAt' | 'latencyMs'>): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ startedAt, latencyMs: Math.round((performance.now() - t0) * 100) / 100, ...record });
    };
    const req = t.request(t.url, { method: 'GET', agent: t.agent, headers: { 'user-agent': USER_AGENT, accept: '*/*' } }, (res) => {
      const status = res.statusCode ?? 0;
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        if (size < MAX_BODY_BYTES) chunks.push(chunk);
        size += chunk.length;
      });
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8').slice(0, MAX_BODY_BYTES);
        const backend = parseBackend(body);
        const ok = status >= 200 && status < 300;
        finish({
          outcome: ok ? 'ok' : 'http_error',
          status,
          ...(backend ? { backend } : {}),
          ...(ok ? {} : { error: `HTTP ${status}` }),
          ...(keepBody ? { body } : {}),
        });
      });
      res.on('error', (error) => finish({ outcome: classifyError(error), status, error: describeError(error) }));
      res.on('close', () => {
        if (!res.complete) finish({ outcome: 'reset', status, error: 'connection closed before the response was complete' });
      });
    });
    req.on('error', (error) => finish({ outcome: classifyError(error), error: describeError(error) }));
    req.end();
  });
}

/**
 * Starts probing `${baseUrl}${path}` at `rps` requests per second until `stop()` is called.
 * Request k is due at start + k/rps whatever happened to the earlier ones; when the event loop
 * falls behind by more than one interval the missed slots are skipped rather than sent in a burst.
 */
export function startProber(options: ProberOptions): Prober {
  const rps = positive('rps', options.rps ?? 10);
  const timeoutMs = positive('timeoutMs', options.timeoutMs ?? 2_000);
  const maxInFlight = Math.floor(positive('maxInFlight', options.maxInFlight ?? Math.max(1, Math.ceil((rps * timeoutMs) / 1000))));
  const clock = options.clock ?? realClock;
  const t = target(options.baseUrl, options.path ?? '/health');
  const intervalMs = 1000 / rps;

  const records: ProbeRecord[] = [];
  const inFlight = new Set<Promise<void>>();
  const skipped = { inFlightCap: 0, late: 0 };
  let peakInFlight = 0;
  let callbackError: unknown;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const startedAt = clock.now();
  const origin = performance.now();
  let slot = 0;

  const send = (): void => {
    if (inFlight.size >= maxInFlight) {
      skipped.inFlightCap++;
      return;
    }
    const pending: Promise<void> = sendOne(t, timeoutMs, clock).then((record) => {
      inFlight.delete(pending);
      records.push(record);
      try {
        options.onResult?.(record);
      } catch (error) {
        callbackError ??= error;
      }
    });
    inFlight.add(pending);
    peakInFlight = Math.max(peakInFlight, inFlight.size);
  };

  const tick = (): void => {
    if (stopped) return;
    const due = Math.floor((performance.now() - origin) / intervalMs);
    if (due > slot) {
      skipped.late += due - slot;
      slot = due;
    }
    send();
    slot++;
    timer = setTimeout(tick, Math.max(0, origin + slot * intervalMs - performance.now()));
  };
  tick();

  let stopping: Promise<ProbeReport> | undefined;
  return {
    url: t.url.href,
    snapshot: () => summarize(records, { start: startedAt, end: clock.now() }),
    stop() {
      stopping ??= (async () => {
        stopped = true;
        clearTimeout(timer);
        while (inFlight.size > 0) await Promise.all(inFlight);
        t.agent.destroy();
        if (callbackError !== undefined) throw callbackError;
        const endedAt = clock.now();
        const sorted = [...records].sort((a, b) => a.startedAt - b.startedAt);
        return {
          url: t.url.href,
          rps,
          timeoutMs,
          maxInFlight,
          startedAt,
          endedAt,
          records: sorted,
          summary: summarize(sorted, { start: startedAt, end: endedAt }),
          peakInFlight,
          skipped: { ...skipped },
        };
      })();
      return stopping;
    },
  };
}

export interface BurstOptions {
  /** How many requests to send in all. */
  requests: number;
  /** Default '/'. */
  path?: string;
  /** Default 2000. */
  timeoutMs?: number;
  /** Requests in flight at once; default min(requests, 4). */
  concurrency?: number;
  clock?: Pick<Clock, 'now'>;
  /** Keep each response's body in its record (verify checks what the app said). */
  keepBody?: boolean;
}

/**
 * Sends `requests` GETs as fast as `concurrency` allows (keep-alive connections; a load
 * balancer still spreads requests, not connections) and summarizes them. For checks such as
 * "/ answers 200 from at least two distinct tasks".
 */
export async function probeBurst(baseUrl: string, options: BurstOptions): Promise<{ records: ProbeRecord[]; summary: ProbeSummary }> {
  const total = Math.floor(positive('requests', options.requests));
  const timeoutMs = positive('timeoutMs', options.timeoutMs ?? 2_000);
  const concurrency = Math.min(total, Math.floor(positive('concurrency', options.concurrency ?? 4)));
  const clock = options.clock ?? realClock;
  const t = target(baseUrl, options.path ?? '/');
  const records: ProbeRecord[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < total) {
      next++;
      records.push(await sendOne(t, timeoutMs, clock, options.keepBody));
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    t.agent.destroy();
  }
  records.sort((a, b) => a.startedAt - b.startedAt);
  return { records, summary: summarize(records) };
}
