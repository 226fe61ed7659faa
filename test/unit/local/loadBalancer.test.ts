/**
 * The local ALB against real HTTP servers on 127.0.0.1 (no mocks): health checks, round robin,
 * fail-open, draining, 502/503/504, and the DescribeTargetHealth XML read back by the real SDK.
 * Time runs at 0.02: a 10 s interval is 200 ms, a 5 s timeout 100 ms, the first check ~20 ms.
 */
import { DescribeTargetHealthCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import http from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseMatcher } from '../../../src/local/plane/healthCheck.js';
import { describeTargetHealthXml, LocalLoadBalancer, LocalTargetGroup, type TargetGroupHooks } from '../../../src/local/plane/loadBalancer.js';
import { planeClock, type TargetGroupSettings, type TargetHealthView, type TargetState } from '../../../src/local/plane/types.js';
import { freePort, type Listening, listen, sleep } from '../../fixtures/probe/servers.js';

const clock = planeClock(0.02);
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length > 0) await Promise.resolve(cleanups.pop()?.()).catch(() => undefined);
});

function settings(overrides: Partial<TargetGroupSettings> = {}): TargetGroupSettings {
  return {
    arn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/demo-tg/0123456789abcdef',
    name: 'demo-tg',
    healthCheckPath: '/health',
    healthCheckIntervalSeconds: 10,
    healthCheckTimeoutSeconds: 5,
    healthyThresholdCount: 2,
    unhealthyThresholdCount: 2,
    matcher: '200',
    deregistrationDelaySeconds: 15,
    ...overrides,
  };
}

interface Change {
  at: number;
  view: TargetHealthView;
  previous: TargetState | undefined;
}

function targetGroup(overrides: Partial<TargetGroupSettings> = {}): { group: LocalTargetGroup; changes: Change[] } {
  const changes: Change[] = [];
  const hooks: TargetGroupHooks = { onChange: (view, previous) => changes.push({ at: Date.now(), view, previous }) };
  const group = new LocalTargetGroup(settings(overrides), clock, hooks);
  cleanups.push(() => group.close());
  return { group, changes };
}

async function loadBalancer(group?: LocalTargetGroup, idleTimeoutSeconds?: number): Promise<{ lb: LocalLoadBalancer; port: number }> {
  const lb = new LocalLoadBalancer({ clock, ...(idleTimeoutSeconds === undefined ? {} : { idleTimeoutSeconds }) });
  const port = await lb.listen();
  lb.forwardTo(group);
  cleanups.push(() => lb.close());
  return { lb, port };
}

/** An app process stand-in: /health answers `healthStatus` after `healthDelayMs`; /slow/MS, /hang, /echo; else its name and the headers it got. */
interface Backend extends Listening {
  name: string;
  healthStatus: number;
  healthDelayMs: number;
  healthChecks: Array<{ at: number; status: number; headers: http.IncomingHttpHeaders }>;
}

async function backend(name: string, healthStatus = 200): Promise<Backend> {
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    if (url === '/health') {
      const status = state.healthStatus;
      state.healthChecks.push({ at: Date.now(), status, headers: req.headers });
      setTimeout(() => res.writeHead(status).end('{}'), state.healthDelayMs);
    } else if (url.startsWith('/slow/')) {
      setTimeout(() => res.end(name), Number(url.slice('/slow/'.length)));
    } else if (url === '/hang') {
      // never answers
    } else if (url === '/stream') {
      res.write('first;');
      setTimeout(() => res.end('second'), 300);
    } else if (url === '/echo') {
      req.pipe(res);
    } else {
      res.setHeader('content-type', 'application/json');
      res.setHeader('x-backend', name);
      res.end(JSON.stringify({ name, headers: req.headers }));
    }
  });
  const listening = await listen(server);
  const state: Backend = Object.assign(listening, { name, healthStatus, healthDelayMs: 0, healthChecks: [] });
  cleanups.push(() => state.closeHard());
  return state;
}

interface Answer {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
  reusedSocket: boolean;
}

function get(port: number, path = '/', options: { agent?: http.Agent; method?: string; body?: string; headers?: http.OutgoingHttpHeaders } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', agent: options.agent ?? false, headers: options.headers ?? {} }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body, headers: response.headers, reusedSocket: request.reusedSocket }));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(options.body);
  });
}

function keepAliveAgent(): http.Agent {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  cleanups.push(() => agent.destroy());
  return agent;
}

async function waitFor(what: string, condition: () => boolean, timeoutMs = 3000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
  return Date.now();
}

const stateOf = (group: LocalTargetGroup, target: Listening): TargetState | undefined =>
  group.health().find((view) => view.port === target.port)?.state;

const targetOf = (server: Listening) => ({ id: '127.0.0.1', port: server.port });

async function healthyGroup(backends: Backend[], overrides: Partial<TargetGroupSettings> = {}) {
  const made = targetGroup(overrides);
  for (const server of backends) made.group.register(targetOf(server));
  await waitFor('healthy targets', () => backends.every((server) => stateOf(made.group, server) === 'healthy'));
  return made;
}

const nameOf = (answer: Answer): string => (JSON.parse(answer.body) as { name: string }).name;

describe('LocalTargetGroup health checks', () => {
  it('goes initial → healthy after exactly the healthy threshold, checking like the ALB checker, and close() stops the checks', async () => {
    const app = await backend('a');
    const { group, changes } = targetGroup({ healthyThresholdCount: 3 });
    const registeredAt = Date.now();
    group.register({ ...targetOf(app), availabilityZone: 'us-east-1a' });
    group.register({ ...targetOf(app), availabilityZone: 'us-east-1a' }); // a no-op

    expect(group.health()).toEqual([
      { id: '127.0.0.1', port: app.port, availabilityZone: 'us-east-1a', state: 'initial', reason: 'Elb.RegistrationInProgress', description: 'Target registration is in progress' },
    ]);
    await waitFor('the first check', () => app.healthChecks.length === 1);
    expect(app.healthChecks[0]!.at - registeredAt).toBeLessThan(clock.scaled(1000) + 100);
    expect(group.health()[0]).toMatchObject({ state: 'initial', reason: 'Elb.InitialHealthChecking', description: 'Initial health checks in progress' });

    const healthyAt = await waitFor('healthy', () => stateOf(group, app) === 'healthy');
    expect(app.healthChecks).toHaveLength(3);
    expect(healthyAt - registeredAt).toBeGreaterThanOrEqual(2 * 200);
    expect(group.health()).toEqual([{ id: '127.0.0.1', port: app.port, availabilityZone: 'us-east-1a', state: 'healthy' }]);
    expect(changes.map(({ view, previous }) => [previous, view.state, view.reason])).toEqual([
      [undefined, 'initial', 'Elb.RegistrationInProgress'],
      ['initial', 'initial', 'Elb.InitialHealthChecking'],
      ['initial', 'healthy', undefined],
    ]);
    // One interval (200 ms) between checks, each on its own connection, sent as the ALB's checker sends it.
    // Measured where the server sees them, so a loaded machine can shorten a gap a little: 187 ms was seen.
    const gaps = app.healthChecks.slice(1).map((check, index) => check.at - app.healthChecks[index]!.at);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(150);
    for (const gap of gaps) expect(gap).toBeLessThan(450);
    expect(app.connections).toBe(app.healthChecks.length);
    expect(app.healthChecks[0]!.headers).toMatchObject({ 'user-agent': 'ELB-HealthChecker/2.0', connection: 'close' });

    group.close();
    const checksAtClose = app.healthChecks.length;
    await sleep(500);
    expect(app.healthChecks.length).toBe(checksAtClose);
  });

  it('marks a target answering 500 unhealthy after exactly the unhealthy threshold, and healthy again once it recovers', async () => {
    const app = await backend('a', 500);
    const { group, changes } = targetGroup({ unhealthyThresholdCount: 3 });
    group.register(targetOf(app));
    await waitFor('unhealthy', () => stateOf(group, app) === 'unhealthy');
    expect(app.healthChecks).toHaveLength(3);
    expect(group.health('127.0.0.1')).toEqual([
      { id: '127.0.0.1', port: app.port, state: 'unhealthy', reason: 'Target.ResponseCodeMismatch', description: 'Health checks failed with these codes: [500]' },
    ]);
    expect(group.health('127.0.0.9')).toEqual([]);

    app.healthStatus = 200;
    await waitFor('healthy', () => stateOf(group, app) === 'healthy');
    app.healthStatus = 503;
    await waitFor('unhealthy again', () => stateOf(group, app) === 'unhealthy');
    const failedInARow = app.healthChecks.slice(-3);
    expect(failedInARow.map((check) => check.status)).toEqual([503, 503, 503]);
    expect(group.health()[0]!.description).toBe('Health checks failed with these codes: [503]');
    expect(changes.map(({ view }) => view.state)).toEqual(['initial', 'initial', 'unhealthy', 'healthy', 'unhealthy']);
  });

  it('reports a closed port and a connection reset as FailedHealthChecks, a slow answer as Timeout', async () => {
    const closedPort = await freePort();
    const resetting = await listen(createNetServer((socket) => socket.destroy()));
    cleanups.push(() => resetting.closeHard());
    const slow = await backend('slow');
    slow.healthDelayMs = 300; // past the 100 ms (5 s scaled) timeout
    const { group } = targetGroup();
    group.register({ id: '127.0.0.1', port: closedPort });
    group.register(targetOf(resetting));
    group.register(targetOf(slow));
    await waitFor('all unhealthy', () => group.health().every((view) => view.state === 'unhealthy'));
    expect(group.health().map(({ port, reason, description }) => ({ port, reason, description }))).toEqual([
      { port: closedPort, reason: 'Target.FailedHealthChecks', description: 'Health checks failed' },
      { port: resetting.port, reason: 'Target.FailedHealthChecks', description: 'Health checks failed' },
      { port: slow.port, reason: 'Target.Timeout', description: 'Request timed out' },
    ]);

    // New settings apply from the next check: a 20 s timeout (400 ms) lets the slow answer through.
    group.updateSettings(settings({ healthCheckTimeoutSeconds: 20, healthCheckIntervalSeconds: 30 }));
    await waitFor('the slow target healthy', () => stateOf(group, slow) === 'healthy', 4000);
  });

  it('matches status codes as the matcher says: lists and ranges', async () => {
    const matches = parseMatcher('200,302-304');
    expect([199, 200, 201, 301, 302, 303, 304, 305].filter(matches)).toEqual([200, 302, 303, 304]);
    expect([200, 204, 299, 300].filter(parseMatcher('200-299'))).toEqual([200, 204, 299]);
    expect([200, 302, 301].filter(parseMatcher('200,302'))).toEqual([200, 302]);
    expect(() => parseMatcher('ok')).toThrow(/invalid health check matcher "ok"/);
    expect(() => parseMatcher('299-200')).toThrow(/reversed/);

    const redirecting = await backend('redirect', 302);
    const noContent = await backend('empty', 204);
    const missing = await backend('missing', 404);
    const { group } = targetGroup({ matcher: '200,302' });
    group.register(targetOf(redirecting));
    const ranged = targetGroup({ matcher: '200-299' }).group;
    ranged.register(targetOf(noContent));
    ranged.register(targetOf(missing));
    await waitFor('checks done', () => stateOf(group, redirecting) === 'healthy' && stateOf(ranged, noContent) === 'healthy' && stateOf(ranged, missing) === 'unhealthy');
    expect(ranged.health()[1]!.description).toBe('Health checks failed with these codes: [404]');
    ranged.updateSettings(settings({ matcher: '200-499' }));
    await waitFor('404 accepted', () => stateOf(ranged, missing) === 'healthy');
  });

  it('accepts loopback IPv4 targets only', () => {
    const { group } = targetGroup();
    expect(() => group.register({ id: '10.0.1.23', port: 8080 })).toThrow(/not a loopback IPv4 address/);
    expect(() => group.register({ id: 'localhost', port: 8080 })).toThrow(/not a loopback IPv4 address/);
    expect(group.health()).toEqual([]);
  });
});

describe('LocalLoadBalancer', () => {
  it('round-robins over healthy targets on a keep-alive client connection, adding the X-Forwarded headers', async () => {
    const [a, b] = [await backend('a'), await backend('b')];
    const { group } = await healthyGroup([a, b]);
    const { port } = await loadBalancer(group);
    const agent = keepAliveAgent();

    const answers: Answer[] = [];
    for (let i = 0; i < 20; i++) answers.push(await get(port, '/', { agent }));
    expect(answers.every((answer) => answer.status === 200)).toBe(true);
    const names = answers.map(nameOf);
    expect(names.filter((name) => name === 'a')).toHaveLength(10);
    expect(names.every((name, index) => index === 0 || name !== names[index - 1])).toBe(true);
    expect(answers.slice(1).every((answer) => answer.reusedSocket)).toBe(true);
    expect(answers[0]!.headers['x-backend']).toBe(names[0]);

    const forwarded = JSON.parse((await get(port, '/', { headers: { 'x-forwarded-for': '203.0.113.9' } })).body) as { headers: http.IncomingHttpHeaders };
    expect(forwarded.headers).toMatchObject({ 'x-forwarded-for': '203.0.113.9, 127.0.0.1', 'x-forwarded-proto': 'http', 'x-forwarded-port': String(port), host: `127.0.0.1:${port}` });
    expect(forwarded.headers['x-amzn-trace-id']).toMatch(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/);

    const echoed = await get(port, '/echo', { method: 'POST', body: 'hello body', agent });
    expect(echoed).toMatchObject({ status: 200, body: 'hello body' });
    expect(group.inFlight('127.0.0.1', a.port) + group.inFlight('127.0.0.1', b.port)).toBe(0);
  });

  it('streams a response as the target sends it', async () => {
    const app = await backend('a');
    const { group } = await healthyGroup([app]);
    const { port } = await loadBalancer(group);
    const startedAt = Date.now();
    const firstChunkAfter = await new Promise<number>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path: '/stream', agent: false }, (response) => {
        response.once('data', () => resolve(Date.now() - startedAt));
        response.resume();
      }).on('error', reject);
    });
    expect(firstChunkAfter).toBeLessThan(250); // the target holds the rest for 300 ms
  });

  it('sends nothing to an unhealthy target while another is healthy, and fails open when all are unhealthy', async () => {
    const [a, b] = [await backend('a'), await backend('b', 500)];
    const { group } = targetGroup();
    group.register(targetOf(a));
    group.register(targetOf(b));
    await waitFor('a healthy, b unhealthy', () => stateOf(group, a) === 'healthy' && stateOf(group, b) === 'unhealthy');
    const { port } = await loadBalancer(group);
    const agent = keepAliveAgent();
    const whileOneHealthy: string[] = [];
    for (let i = 0; i < 10; i++) whileOneHealthy.push(nameOf(await get(port, '/', { agent })));
    expect(whileOneHealthy).toEqual(Array(10).fill('a'));

    a.healthStatus = 500;
    await waitFor('a unhealthy', () => stateOf(group, a) === 'unhealthy');
    const failingOpen: string[] = [];
    for (let i = 0; i < 10; i++) failingOpen.push(nameOf(await get(port, '/', { agent })));
    expect(failingOpen.filter((name) => name === 'b')).toHaveLength(5);
  });

  it('answers 503 as the ALB does with no listener, no targets, or targets only initial or draining', async () => {
    const { lb, port } = await loadBalancer(undefined);
    const noListener = await get(port);
    expect(noListener.status).toBe(503);
    expect(noListener.body).toContain('<center><h1>503 Service Temporarily Unavailable</h1></center>');
    expect(noListener.headers).toMatchObject({ server: 'awselb/2.0', 'content-type': 'text/html' });

    const { group } = targetGroup({ healthyThresholdCount: 10 });
    lb.forwardTo(group);
    expect((await get(port)).status).toBe(503);
    const app = await backend('a');
    group.register(targetOf(app));
    await waitFor('checks under way', () => app.healthChecks.length > 0);
    expect((await get(port)).status).toBe(503);
    expect(stateOf(group, app)).toBe('initial');

    const draining = (await healthyGroup([app], { deregistrationDelaySeconds: 10 })).group;
    lb.forwardTo(draining);
    const hung = get(port, '/hang').catch(() => undefined);
    await waitFor('in flight', () => draining.inFlight('127.0.0.1', app.port) === 1);
    const drained = draining.deregister('127.0.0.1', app.port);
    expect(stateOf(draining, app)).toBe('draining');
    expect((await get(port)).status).toBe(503);
    await drained;
    await lb.close();
    await hung;
  });

  it('drains: a long request finishes on the deregistered target, new ones go to the other, and deregister resolves when it is done', async () => {
    const [a, b] = [await backend('a'), await backend('b')];
    const { group, changes } = await healthyGroup([a, b], { deregistrationDelaySeconds: 60 }); // 1.2 s
    const { port } = await loadBalancer(group);
    const long = get(port, '/slow/500');
    await waitFor('in flight', () => group.inFlight('127.0.0.1', a.port) + group.inFlight('127.0.0.1', b.port) === 1);
    const busy = group.inFlight('127.0.0.1', a.port) === 1 ? a : b;
    const other = busy === a ? b : a;

    const deregisterStartedAt = Date.now();
    let deregisteredAt = 0;
    const deregistered = group.deregister('127.0.0.1', busy.port).then(() => (deregisteredAt = Date.now()));
    expect(group.health()[busy === a ? 0 : 1]).toEqual({ id: '127.0.0.1', port: busy.port, state: 'draining', reason: 'Target.DeregistrationInProgress', description: 'Target deregistration is in progress' });
    const meanwhile: string[] = [];
    for (let i = 0; i < 6; i++) meanwhile.push(nameOf(await get(port)));
    expect(meanwhile).toEqual(Array(6).fill(other.name));
    expect(deregisteredAt).toBe(0);

    const longAnswer = await long;
    expect(longAnswer).toMatchObject({ status: 200, body: busy.name });
    await deregistered;
    expect(deregisteredAt - deregisterStartedAt).toBeLessThan(1000); // the in-flight request ended it, not the 1.2 s delay
    expect(group.health().map((view) => view.port)).toEqual([other.port]);
    expect(changes.at(-1)).toMatchObject({ previous: 'draining', view: { port: busy.port, state: 'unused', reason: 'Target.NotRegistered' } });
    // Health checks stopped with the drain.
    const checks = busy.healthChecks.length;
    await sleep(300);
    expect(busy.healthChecks.length).toBe(checks);
  });

  it('completes a deregistration at once with nothing in flight, and after the delay when a request hangs (which then gets 504)', async () => {
    const [a, b] = [await backend('a'), await backend('b')];
    const { group } = await healthyGroup([a, b], { deregistrationDelaySeconds: 10 }); // 200 ms
    let startedAt = Date.now();
    await group.deregister('127.0.0.1', a.port);
    expect(Date.now() - startedAt).toBeLessThan(50);
    expect(group.health().map((view) => view.port)).toEqual([b.port]);
    await group.deregister('127.0.0.1', 1); // unknown: resolves at once

    const { port } = await loadBalancer(group, 30); // idle timeout 600 ms
    const requestStartedAt = Date.now();
    const hung = get(port, '/hang');
    await waitFor('in flight', () => group.inFlight('127.0.0.1', b.port) === 1);
    startedAt = Date.now();
    let hungSettled = false;
    void hung.finally(() => (hungSettled = true));
    await group.deregister('127.0.0.1', b.port);
    const drainMs = Date.now() - startedAt;
    expect(drainMs).toBeGreaterThanOrEqual(190);
    expect(drainMs).toBeLessThan(500);
    expect(hungSettled).toBe(false);
    expect(group.health()).toEqual([]);

    const answer = await hung;
    expect(answer.status).toBe(504);
    expect(answer.body).toContain('<title>504 Gateway Time-out</title>');
    expect(Date.now() - requestStartedAt).toBeGreaterThanOrEqual(590);
  });

  it('answers 502 while a killed target is still healthy, and serves again once health checks mark it unhealthy', async () => {
    const [a, b] = [await backend('a'), await backend('b')];
    const { group, changes } = await healthyGroup([a, b]);
    const { port } = await loadBalancer(group);
    const agent = keepAliveAgent();
    const seen: Array<{ at: number; status: number; body: string }> = [];
    let killedAt = Number.POSITIVE_INFINITY;
    let unhealthyAt = Number.POSITIVE_INFINITY;
    while (Date.now() < unhealthyAt + 300) {
      const at = Date.now();
      const answer = await get(port, '/', { agent });
      seen.push({ at, status: answer.status, body: answer.body });
      if (seen.length === 10) {
        killedAt = Date.now();
        await a.closeHard();
      }
      if (stateOf(group, a) === 'unhealthy' && unhealthyAt === Number.POSITIVE_INFINITY) unhealthyAt = Date.now();
      await sleep(10);
    }
    const before = seen.filter((record) => record.at < killedAt);
    const failed = seen.filter((record) => record.status !== 200);
    expect(before.every((record) => record.status === 200)).toBe(true);
    expect(failed.length).toBeGreaterThanOrEqual(3);
    expect(failed.every((record) => record.status === 502 && record.body.includes('<h1>502 Bad Gateway</h1>'))).toBe(true);
    const markedUnhealthyAt = changes.find((change) => change.view.port === a.port && change.view.state === 'unhealthy')!.at;
    expect(failed.every((record) => record.at <= markedUnhealthyAt)).toBe(true);
    const after = seen.filter((record) => record.at > markedUnhealthyAt);
    expect(after.length).toBeGreaterThanOrEqual(5);
    expect(after.every((record) => record.status === 200 && record.body.includes('"name":"b"'))).toBe(true);
    expect(group.health()[0]).toMatchObject({ state: 'unhealthy', reason: 'Target.FailedHealthChecks' });
  });

  it('answers 502 for a target that sends garbage or hangs up without an answer', async () => {
    const garbage = await listen(createNetServer((socket) => socket.once('data', () => socket.end('NOT HTTP AT ALL\r\n\r\n'))));
    const hangingUp = await listen(createNetServer((socket) => socket.once('data', () => socket.destroy())));
    cleanups.push(() => garbage.closeHard(), () => hangingUp.closeHard());
    const { group } = targetGroup();
    group.register(targetOf(garbage));
    group.register(targetOf(hangingUp));
    await waitFor('both unhealthy', () => group.health().every((view) => view.state === 'unhealthy'));
    expect(group.health().map((view) => view.reason)).toEqual(['Target.FailedHealthChecks', 'Target.FailedHealthChecks']);
    const { port } = await loadBalancer(group); // fails open onto both
    const agent = keepAliveAgent();
    const answers = [await get(port, '/', { agent }), await get(port, '/', { agent })];
    expect(answers.map((answer) => answer.status)).toEqual([502, 502]);
    expect(answers[1]!.reusedSocket).toBe(true); // an error answer keeps the client's connection
    expect(garbage.connections + hangingUp.connections).toBeGreaterThan(2);
  });

  it('close() ends open client connections', async () => {
    const app = await backend('a');
    const { group } = await healthyGroup([app]);
    const { lb, port } = await loadBalancer(group);
    const hung = get(port, '/hang');
    await waitFor('in flight', () => group.inFlight('127.0.0.1', app.port) === 1);
    await lb.close();
    await expect(hung).rejects.toThrow(/socket hang up|ECONNRESET/);
    await waitFor('in-flight count released', () => group.inFlight('127.0.0.1', app.port) === 0, 1000);
    await expect(get(port)).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe('describeTargetHealthXml', () => {
  it('is read by the real SDK client as DescribeTargetHealth output', async () => {
    const views: TargetHealthView[] = [
      { id: '127.0.0.2', port: 8080, availabilityZone: 'us-east-1a', state: 'healthy' },
      { id: '127.0.0.3', port: 8080, availabilityZone: 'us-east-1b', state: 'initial', reason: 'Elb.InitialHealthChecking', description: 'Initial health checks in progress' },
      { id: '127.0.0.4', port: 8081, state: 'unhealthy', reason: 'Target.ResponseCodeMismatch', description: 'Health checks failed with these codes: [500] <&> "quoted"' },
      { id: '127.0.0.5', port: 8080, state: 'draining', reason: 'Target.DeregistrationInProgress', description: 'Target deregistration is in progress' },
    ];
    const requestId = '5c8b1f0e-2d4a-4e7b-9a61-0f3c2b7d8e91';
    let body = describeTargetHealthXml(views, requestId);
    const requests: string[] = [];
    const server = http.createServer((req, res) => {
      let received = '';
      req.on('data', (chunk: Buffer) => (received += chunk.toString()));
      req.on('end', () => {
        requests.push(received);
        // The SDK takes $metadata.requestId from this header, which AWS sends beside the body's RequestId.
        res.writeHead(200, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId }).end(body);
      });
    });
    const listening = await listen(server);
    cleanups.push(() => listening.closeHard());
    const client = new ElasticLoadBalancingV2Client({ endpoint: `http://127.0.0.1:${listening.port}`, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    cleanups.push(() => client.destroy());

    const output = await client.send(new DescribeTargetHealthCommand({ TargetGroupArn: settings().arn }));
    expect(requests[0]).toContain('Action=DescribeTargetHealth');
    expect(output.$metadata.requestId).toBe(requestId);
    expect(body).toContain(`<ResponseMetadata>\n    <RequestId>${requestId}</RequestId>\n  </ResponseMetadata>`);
    expect(body).toContain('<Description>Health checks failed with these codes: [500] &lt;&amp;&gt; &quot;quoted&quot;</Description>');
    expect(output.TargetHealthDescriptions).toEqual([
      { Target: { Id: '127.0.0.2', Port: 8080, AvailabilityZone: 'us-east-1a' }, HealthCheckPort: '8080', TargetHealth: { State: 'healthy' } },
      {
        Target: { Id: '127.0.0.3', Port: 8080, AvailabilityZone: 'us-east-1b' },
        HealthCheckPort: '8080',
        TargetHealth: { State: 'initial', Reason: 'Elb.InitialHealthChecking', Description: 'Initial health checks in progress' },
      },
      {
        Target: { Id: '127.0.0.4', Port: 8081 },
        HealthCheckPort: '8081',
        TargetHealth: { State: 'unhealthy', Reason: 'Target.ResponseCodeMismatch', Description: 'Health checks failed with these codes: [500] <&> "quoted"' },
      },
      {
        Target: { Id: '127.0.0.5', Port: 8080 },
        HealthCheckPort: '8080',
        TargetHealth: { State: 'draining', Reason: 'Target.DeregistrationInProgress', Description: 'Target deregistration is in progress' },
      },
    ]);
    expect(body).toContain('<DescribeTargetHealthResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/">');

    body = describeTargetHealthXml([], 'req-2');
    expect((await client.send(new DescribeTargetHealthCommand({ TargetGroupArn: settings().arn }))).TargetHealthDescriptions).toEqual([]);
  });
});
