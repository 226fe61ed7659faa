/**
 * The local Application Load Balancer (design §7): a target group of `ip` targets that health-checks,
 * drains and round-robins like an ALB's, a listener that reverse-proxies to it and answers 502/503/504
 * as the ALB does, and the DescribeTargetHealth XML that the local AWS endpoint serves from it.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { Socket } from 'node:net';
import { assertLoopbackTarget, type CheckResult, checkTarget, parseMatcher, REASONS } from './healthCheck.js';

export { describeTargetHealthXml } from './healthCheck.js';
import { type PlaneClock, planeClock, type TargetGroupSettings, type TargetHealthView, type TargetState } from './types.js';

export interface TargetGroupHooks {
  /** Every change of a target's state or reason; `previous` is undefined on registration. A finished deregistration reports `unused`. */
  onChange?(target: TargetHealthView, previous: TargetState | undefined): void;
}

/** A target chosen for one request; it counts as in flight until `done()` (safe to call twice). */
export interface PickedTarget {
  readonly id: string;
  readonly port: number;
  done(): void;
}

interface Why {
  reason: string;
  description: string;
}

interface Target {
  id: string;
  port: number;
  availabilityZone?: string;
  state: TargetState;
  why?: Why;
  successes: number;
  failures: number;
  inFlight: number;
  nextCheck?: NodeJS.Timeout;
  /** The check under way; replaced or cleared when checks stop, so a late result is ignored. */
  check?: AbortController;
  drain?: { timer: NodeJS.Timeout; complete(): void; promise: Promise<void> };
}

const targetKey = (id: string, port: number): string => `${id}:${port}`;

export class LocalTargetGroup {
  private settings!: TargetGroupSettings;
  private matches!: (status: number) => boolean;
  /** Insertion order is registration order, which health() and round robin follow. */
  private readonly targets = new Map<string, Target>();
  private pickCount = 0;

  constructor(
    settings: TargetGroupSettings,
    private readonly clock: PlaneClock,
    private readonly hooks: TargetGroupHooks = {},
  ) {
    this.updateSettings(settings);
  }

  get arn(): string {
    return this.settings.arn;
  }

  /** Takes effect from the next health check on (a check already under way keeps its timeout). */
  updateSettings(settings: TargetGroupSettings): void {
    this.matches = parseMatcher(settings.matcher);
    this.settings = { ...settings };
  }

  register(target: { id: string; port: number; availabilityZone?: string }): void {
    assertLoopbackTarget(target.id);
    const existing = this.targets.get(targetKey(target.id, target.port));
    if (existing !== undefined && existing.state !== 'draining') return;
    let registered: Target;
    if (existing === undefined) {
      registered = { id: target.id, port: target.port, state: 'initial', successes: 0, failures: 0, inFlight: 0 };
      if (target.availabilityZone !== undefined) registered.availabilityZone = target.availabilityZone;
      this.targets.set(targetKey(target.id, target.port), registered);
    } else {
      // Registered again while draining: it serves again once healthy, and whoever awaited the drain is released.
      registered = existing;
      this.endDrain(registered, { remove: false });
      registered.successes = 0;
      registered.failures = 0;
    }
    this.transition(registered, 'initial', REASONS.registering, existing === undefined);
    // An ALB starts checking a new target within seconds, not after a whole interval.
    this.scheduleCheck(registered, Math.min(this.clock.scaled(1000), this.intervalMs()));
  }

  /** Resolves when the target's requests in flight reach 0 or the deregistration delay has passed, whichever comes first. */
  deregister(id: string, port: number): Promise<void> {
    const target = this.targets.get(targetKey(id, port));
    if (target === undefined) return Promise.resolve();
    if (target.drain !== undefined) return target.drain.promise;
    this.stopChecks(target);
    this.transition(target, 'draining', REASONS.draining);
    let complete!: () => void;
    const promise = new Promise<void>((resolve) => (complete = resolve));
    const delayMs = this.clock.scaled(this.settings.deregistrationDelaySeconds * 1000);
    const timer = setTimeout(() => this.endDrain(target, { remove: true }), delayMs);
    target.drain = { timer, complete, promise };
    if (target.inFlight === 0) this.endDrain(target, { remove: true });
    return promise;
  }

  health(id?: string): TargetHealthView[] {
    return [...this.targets.values()].filter((target) => id === undefined || target.id === id).map(viewOf);
  }

  inFlight(id: string, port: number): number {
    return this.targets.get(targetKey(id, port))?.inFlight ?? 0;
  }

  /** Round robin over healthy targets; with none healthy, over the unhealthy ones (an ALB fails open). */
  pick(): PickedTarget | undefined {
    const all = [...this.targets.values()];
    const healthy = all.filter((target) => target.state === 'healthy');
    const pool = healthy.length > 0 ? healthy : all.filter((target) => target.state === 'unhealthy');
    if (pool.length === 0) return undefined;
    const target = pool[this.pickCount++ % pool.length] as Target;
    target.inFlight++;
    let finished = false;
    return {
      id: target.id,
      port: target.port,
      done: () => {
        if (finished) return;
        finished = true;
        target.inFlight--;
        if (target.inFlight === 0) this.endDrain(target, { remove: true });
      },
    };
  }

  /** Stops every health check and releases anyone awaiting a deregistration. */
  close(): void {
    for (const target of this.targets.values()) {
      this.stopChecks(target);
      this.endDrain(target, { remove: false });
    }
  }

  private intervalMs(): number {
    return this.clock.scaled(this.settings.healthCheckIntervalSeconds * 1000);
  }

  private scheduleCheck(target: Target, delayMs: number): void {
    target.nextCheck = setTimeout(() => void this.runCheck(target), delayMs);
  }

  private stopChecks(target: Target): void {
    clearTimeout(target.nextCheck);
    target.nextCheck = undefined;
    target.check?.abort();
    target.check = undefined;
  }

  private async runCheck(target: Target): Promise<void> {
    const startedAt = this.clock.now();
    if (target.why === REASONS.registering) this.transition(target, 'initial', REASONS.initialChecking);
    const check = new AbortController();
    target.check = check;
    const result = await checkTarget({
      host: target.id,
      port: target.port,
      path: this.settings.healthCheckPath,
      timeoutMs: this.clock.scaled(this.settings.healthCheckTimeoutSeconds * 1000),
      matches: this.matches,
      signal: check.signal,
    });
    if (target.check !== check) return;
    target.check = undefined;
    this.record(target, result);
    // The interval runs from check start to check start, as the ALB's does, never overlapping.
    this.scheduleCheck(target, Math.max(0, this.intervalMs() - (this.clock.now() - startedAt)));
  }

  private record(target: Target, failure: CheckResult): void {
    if (failure === undefined) {
      target.failures = 0;
      target.successes++;
      if (target.state !== 'healthy' && target.successes >= this.settings.healthyThresholdCount) this.transition(target, 'healthy', undefined);
      return;
    }
    target.successes = 0;
    target.failures++;
    // An unhealthy target reports its latest failure; others keep their state until the threshold.
    if (target.state === 'unhealthy' || target.failures >= this.settings.unhealthyThresholdCount) {
      this.transition(target, 'unhealthy', failure);
    }
  }

  private endDrain(target: Target, { remove }: { remove: boolean }): void {
    const drain = target.drain;
    if (drain === undefined) return;
    target.drain = undefined;
    clearTimeout(drain.timer);
    if (remove) {
      this.targets.delete(targetKey(target.id, target.port));
      this.transition(target, 'unused', REASONS.notRegistered);
    }
    drain.complete();
  }

  private transition(target: Target, state: TargetState, why: Why | undefined, isNew = false): void {
    const previous = target.state;
    const unchanged = !isNew && previous === state && target.why?.reason === why?.reason && target.why?.description === why?.description;
    target.state = state;
    target.why = why;
    if (!unchanged) this.hooks.onChange?.(viewOf(target), isNew ? undefined : previous);
  }
}

function viewOf(target: Target): TargetHealthView {
  const view: TargetHealthView = { id: target.id, port: target.port, state: target.state };
  if (target.availabilityZone !== undefined) view.availabilityZone = target.availabilityZone;
  if (target.why !== undefined) {
    view.reason = target.why.reason;
    view.description = target.why.description;
  }
  return view;
}

export interface LoadBalancerOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: any free port. */
  port?: number;
  /** Scales the idle timeout; default real time. */
  clock?: PlaneClock;
  /** The load balancer's idle timeout attribute; default 60. */
  idleTimeoutSeconds?: number;
}

const ALB_STATUS_TEXT = { 502: 'Bad Gateway', 503: 'Service Temporarily Unavailable', 504: 'Gateway Time-out' } as const;

/** Per connection, not end to end (RFC 9110 §7.6.1): never copied across the proxy. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade']);

class IdleTimeout extends Error {}

export class LocalLoadBalancer {
  private readonly server: http.Server;
  private readonly sockets = new Set<Socket>();
  private group: LocalTargetGroup | undefined;
  private readonly idleMs: number;

  constructor(private readonly options: LoadBalancerOptions = {}) {
    this.idleMs = (options.clock ?? planeClock(1)).scaled((options.idleTimeoutSeconds ?? 60) * 1000);
    this.server = http.createServer((request, response) => this.proxy(request, response));
    // Unscaled on purpose: a scaled keep-alive would close idle client connections faster than a
    // prober reuses them, and the race would show up as resets that AWS would not cause.
    this.server.keepAliveTimeout = 60_000;
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve(this.port);
      });
    });
  }

  get port(): number {
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('the load balancer is not listening');
    return address.port;
  }

  /** The listener's default action; undefined (no listener yet) answers 503. */
  forwardTo(group: LocalTargetGroup | undefined): void {
    this.group = group;
  }

  close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    return closed;
  }

  private proxy(request: http.IncomingMessage, response: http.ServerResponse): void {
    const target = this.group?.pick();
    if (target === undefined) return answerAsAlb(response, 503);
    // A fresh connection per request: nothing pooled can carry a request to the wrong target.
    const upstream = http.request({
      host: target.id,
      port: target.port,
      method: request.method,
      path: request.url,
      headers: forwardedHeaders(request),
      agent: false,
    });
    let clientGone = false;
    response.on('close', () => {
      clientGone = true;
      target.done();
      if (!response.writableFinished) upstream.destroy();
    });
    upstream.setTimeout(this.idleMs, () => upstream.destroy(new IdleTimeout()));
    upstream.on('error', (error) => {
      if (clientGone) return;
      // Once the status line is out, the ALB can only cut the connection, and so do we.
      if (response.headersSent) response.destroy();
      else answerAsAlb(response, error instanceof IdleTimeout ? 504 : 502);
    });
    upstream.on('response', (incoming) => {
      response.writeHead(incoming.statusCode ?? 502, incoming.statusMessage, endToEnd(incoming.headers));
      incoming.pipe(response);
      incoming.on('error', () => response.destroy());
      incoming.on('close', () => {
        if (!incoming.complete) response.destroy();
      });
    });
    request.on('error', () => upstream.destroy());
    request.pipe(upstream);
  }
}

function endToEnd(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const named = String(headers.connection ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase());
  const kept: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name) && !named.includes(name)) kept[name] = value;
  }
  return kept;
}

function forwardedHeaders(request: http.IncomingMessage): http.OutgoingHttpHeaders {
  const headers = endToEnd(request.headers);
  const client = request.socket.remoteAddress ?? '';
  const priorChain = request.headers['x-forwarded-for'];
  headers['x-forwarded-for'] = priorChain === undefined ? client : `${String(priorChain)}, ${client}`;
  headers['x-forwarded-proto'] = 'http';
  headers['x-forwarded-port'] = String(request.socket.localPort ?? '');
  headers['x-amzn-trace-id'] ??= `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(12).toString('hex')}`;
  return headers;
}

function answerAsAlb(response: http.ServerResponse, status: keyof typeof ALB_STATUS_TEXT): void {
  const title = `${status} ${ALB_STATUS_TEXT[status]}`;
  const body = `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n</body>\r\n</html>\r\n`;
  response.writeHead(status, ALB_STATUS_TEXT[status], {
    server: 'awselb/2.0',
    'content-type': 'text/html',
    'content-length': Buffer.byteLength(body),
  });
  response.end(body);
}
