/**
 * `chaos` end to end in-process: AWS is a scripted "world" (aws-sdk-client-mock) whose tasks,
 * targets and Cloud Map instances change at scripted seconds after the stop; the clock is fake,
 * so the timeline's seconds are exact. One test probes a real HTTP server on 127.0.0.1.
 */
import { DescribeServicesCommand, DescribeTasksCommand, ECSClient, ListTasksCommand, StopTaskCommand } from '@aws-sdk/client-ecs';
import { DescribeTargetHealthCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { ListInstancesCommand, ServiceDiscoveryClient } from '@aws-sdk/client-servicediscovery';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AwsClients } from '../../../src/aws/clients.js';
import { realClock, type Clock } from '../../../src/clock.js';
import { parseChaosOptions, type ChaosOptionInput } from '../../../src/chaos/options.js';
import { concludeChaos } from '../../../src/chaos/report.js';
import { runChaos, type ProberFactory } from '../../../src/chaos/run.js';
import type { Session } from '../../../src/session.js';
import { ExitCode } from '../../../src/errors.js';
import { summarize, type ProbeRecord } from '../../../src/probe/prober.js';
import { StateStore } from '../../../src/state/store.js';
import { createReporter } from '../../../src/ui/reporter.js';
import { listen } from '../../fixtures/probe/servers.js';
import { ACCOUNT, awsError, fakeClock, REGION, scriptedRunner } from '../../helpers/context.js';

const ecs = mockClient(ECSClient);
const elbv2 = mockClient(ElasticLoadBalancingV2Client);
const cloudMap = mockClient(ServiceDiscoveryClient);
const sts = mockClient(STSClient);

const id = (n: number): string => `${n}`.repeat(32).slice(0, 32);
const arn = (n: number): string => `arn:aws:ecs:us-east-1:${ACCOUNT}:task/demo/${id(n)}`;
const [A, B, C, D, E] = [1, 2, 3, 4, 5];

interface WorldTask {
  n: number;
  lastStatus: string;
  desiredStatus: string;
  az: string;
  ip: string;
}

/** The stack as AWS would show it; `script` entries apply once `at` script-seconds have passed since the first StopTask. */
class World {
  tasks: WorldTask[] = [];
  targets = new Map<string, string>();
  instances = new Map<string, string>();
  stops: Array<{ task: string; reason: string; lockHeld: boolean }> = [];
  t0: number | undefined;
  /** DescribeTargetHealth is throttled from this script second on, this many times. */
  throttle = { from: Infinity, times: 0 };
  constructor(
    readonly clock: Clock,
    public desiredCount: number,
    readonly script: Array<{ at: number; change: (w: World) => void }>,
    readonly msPerSecond = 1000,
  ) {}
  task(n: number, az: string, ip: string, lastStatus = 'RUNNING'): this {
    this.tasks.push({ n, az, ip, lastStatus, desiredStatus: 'RUNNING' });
    if (lastStatus === 'RUNNING') {
      this.targets.set(ip, 'healthy');
      this.instances.set(id(n), ip);
    }
    return this;
  }
  get(n: number): WorldTask {
    return this.tasks.find((t) => t.n === n)!;
  }
  advance(): void {
    if (this.t0 === undefined) return;
    const elapsed = (this.clock.now() - this.t0) / this.msPerSecond;
    while (this.script.length > 0 && this.script[0]!.at <= elapsed) this.script.shift()!.change(this);
  }
  describe(t: WorldTask) {
    const details = [{ name: 'privateIPv4Address', value: t.ip }];
    return { taskArn: arn(t.n), lastStatus: t.lastStatus, desiredStatus: t.desiredStatus, availabilityZone: t.az, attachments: [{ type: 'ElasticNetworkInterface', details }] };
  }
}

let world: World;
let stateDir: string;
let out: string[];
let err: string[];

function mockWorld(): void {
  ecs.on(DescribeServicesCommand).callsFake(() => {
    world.advance();
    const wanted = world.tasks.filter((t) => t.desiredStatus === 'RUNNING');
    const runningCount = wanted.filter((t) => t.lastStatus === 'RUNNING').length;
    const deployments = [{ status: 'PRIMARY', rolloutState: 'COMPLETED' }];
    return { services: [{ serviceName: 'demo', serviceArn: 'arn:aws:ecs:us-east-1:123456789012:service/demo/demo', tags: [{ key: 'ecs-ha:stack', value: 'demo' }], status: 'ACTIVE', desiredCount: world.desiredCount, runningCount, pendingCount: wanted.length - runningCount, deployments }] };
  });
  ecs.on(ListTasksCommand).callsFake((input: { desiredStatus?: string }) => {
    world.advance();
    return { taskArns: world.tasks.filter((t) => t.desiredStatus === input.desiredStatus).map((t) => arn(t.n)) };
  });
  ecs.on(DescribeTasksCommand).callsFake((input: { tasks: string[] }) => {
    world.advance();
    return { tasks: world.tasks.filter((t) => input.tasks.includes(arn(t.n))).map((t) => world.describe(t)) };
  });
  ecs.on(StopTaskCommand).callsFake((input: { task: string; reason: string }) => {
    world.t0 ??= world.clock.now();
    world.stops.push({ task: input.task, reason: input.reason, lockHeld: existsSync(join(stateDir, 'demo.lock')) });
    world.tasks.find((t) => arn(t.n) === input.task)!.desiredStatus = 'STOPPED';
    return {};
  });
  elbv2.on(DescribeTargetHealthCommand).callsFake(() => {
    world.advance();
    const elapsed = world.t0 === undefined ? -1 : (world.clock.now() - world.t0) / world.msPerSecond;
    if (elapsed >= world.throttle.from && world.throttle.times-- > 0) throw awsError('ThrottlingException', 'Rate exceeded');
    return { TargetHealthDescriptions: [...world.targets].map(([ip, State]) => ({ Target: { Id: ip, Port: 8080 }, TargetHealth: { State, ...(State === 'unhealthy' ? { Reason: 'Target.ResponseCodeMismatch' } : {}) } })) };
  });
  cloudMap.on(ListInstancesCommand).callsFake(() => {
    world.advance();
    return { Instances: [...world.instances].map(([Id, ip]) => ({ Id, Attributes: { AWS_INSTANCE_IPV4: ip } })) };
  });
}

function session(clock: Clock, signal = new AbortController().signal, json = false): Session {
  const sink = (lines: string[]) => ({ write: (text: string) => lines.push(text) > 0 }) as unknown as NodeJS.WritableStream;
  return {
    stack: 'demo',
    stateDir,
    local: false,
    json,
    aws: new AwsClients({ region: REGION, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 }),
    reporter: createReporter({ json, interactive: false, stdout: sink(out), stderr: sink(err) }),
    clock,
    runner: scriptedRunner(),
    signal,
  };
}

const options = (overrides: Partial<ChaosOptionInput> = {}) =>
  parseChaosOptions({ killOne: true, rps: '10', baseline: '0', settle: '15', timeout: '600', maxFailures: '0', ...overrides });

/** A prober that returns canned records: one request per second from the start, `outcome(secondsAfterStart)` deciding each. */
function cannedProber(outcome: (second: number) => { ok: boolean; az?: string }): ProberFactory & { stopped: number } {
  const factory = (({ baseUrl, rps, clock }) => {
    const start = clock.now();
    const records = (end: number): ProbeRecord[] =>
      Array.from({ length: Math.floor((end - start) / 1000) + 1 }, (_, s) => {
        const o = outcome(s);
        return o.ok
          ? { startedAt: start + s * 1000, latencyMs: 12, outcome: 'ok' as const, status: 200, backend: { hostname: `ip-${o.az}`, ...(o.az ? { az: o.az } : {}), version: '1.0' } }
          : { startedAt: start + s * 1000, latencyMs: 3, outcome: 'refused' as const, error: 'ECONNREFUSED' };
      });
    return {
      url: baseUrl,
      snapshot: () => summarize(records(clock.now()), { start, end: clock.now() }),
      stop: async () => {
        factory.stopped++;
        const end = clock.now();
        const all = records(end);
        return { url: baseUrl, rps, timeoutMs: 2000, maxInFlight: 20, startedAt: start, endedAt: end, records: all, summary: summarize(all, { start, end }), peakInFlight: 1, skipped: { inFlightCap: 0, late: 0 } };
      },
    };
  }) as ProberFactory & { stopped: number };
  factory.stopped = 0;
  return factory;
}

/** One task of two is stopped (A, us-east-1a) and replaced by C in us-east-1a. */
function cleanReplacement(clock: Clock, turnsHealthy = true, msPerSecond = 1000): World {
  const script = [
    { at: 1, change: (w: World) => ((w.get(A).lastStatus = 'DEACTIVATING'), w.targets.set('10.0.1.10', 'draining')) },
    { at: 2, change: (w: World) => w.tasks.push({ n: C, az: 'us-east-1a', ip: '10.0.1.30', lastStatus: 'PROVISIONING', desiredStatus: 'RUNNING' }) },
    { at: 5, change: (w: World) => (w.get(C).lastStatus = 'PENDING') },
    { at: 9, change: (w: World) => ((w.get(C).lastStatus = 'RUNNING'), w.targets.set('10.0.1.30', 'initial'), w.instances.set(id(C), '10.0.1.30')) },
    { at: 16, change: (w: World) => ((w.get(A).lastStatus = 'STOPPING'), w.targets.delete('10.0.1.10'), w.instances.delete(id(A))) },
    { at: turnsHealthy ? 20 : 12, change: (w: World) => w.targets.set('10.0.1.30', turnsHealthy ? 'healthy' : 'unhealthy') },
    { at: 46, change: (w: World) => (w.get(A).lastStatus = 'DEPROVISIONING') },
    { at: 47, change: (w: World) => (w.get(A).lastStatus = 'STOPPED') },
  ].sort((x, y) => x.at - y.at);
  return new World(clock, 2, script, msPerSecond).task(A, 'us-east-1a', '10.0.1.10').task(B, 'us-east-1b', '10.0.2.20');
}

beforeEach(() => {
  for (const mock of [ecs, elbv2, cloudMap, sts]) mock.reset();
  sts.on(GetCallerIdentityCommand).resolves({ Account: ACCOUNT });
  mockWorld();
  out = [];
  err = [];
  stateDir = mkdtempSync(join(tmpdir(), 'ecs-ha-chaos-'));
  const state = StateStore.open(stateDir, 'demo', ACCOUNT, REGION);
  state.record('service', { id: 'demo', origin: 'created', details: { cluster: 'demo' } });
  state.record('targetGroup', { id: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/demo-tg/1', origin: 'created' });
  state.record('loadBalancer', { id: 'arn:lb', origin: 'created', details: { dnsName: 'demo-alb-1.us-east-1.elb.amazonaws.com' } });
  state.record('discoveryService', { id: 'srv-demo', origin: 'created' });
});

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

const reportFiles = () => readdirSync(join(stateDir, 'reports'));

describe('chaos --kill-one', () => {
  it('follows a clean replacement: exact timeline, recovered, report written, exit 0', async () => {
    const clock = fakeClock();
    world = cleanReplacement(clock);
    const prober = cannedProber(() => ({ ok: true, az: 'us-east-1b' }));
    const s = session(clock);

    const report = await runChaos(s, options(), { startProber: prober, pick: () => 0, url: 'http://127.0.0.1:9' });
    const path = concludeChaos(s, report);

    expect(world.stops).toEqual([{ task: arn(A), reason: 'ecs-ha chaos: kill-one test', lockHeld: true }]);
    expect(report.timeline).toEqual([
      { event: 'stop requested', seconds: 0, taskId: id(A) },
      { event: 'victim deactivating', seconds: 1, taskId: id(A) },
      { event: 'target draining', seconds: 1, taskId: id(A) },
      { event: 'replacement started', seconds: 2, taskId: id(C), detail: 'PROVISIONING' },
      { event: 'replacement running', seconds: 9, taskId: id(C) },
      { event: 'replacement registered in Cloud Map', seconds: 9, taskId: id(C) },
      { event: 'victim stopping', seconds: 16, taskId: id(A) },
      { event: 'target deregistered', seconds: 16, taskId: id(A) },
      { event: 'replacement healthy', seconds: 20, taskId: id(C) },
      { event: 'victim deprovisioning', seconds: 46, taskId: id(A) },
      { event: 'victim stopped', seconds: 47, taskId: id(A) },
      { event: 'steady', seconds: 47 },
    ]);
    expect(report).toMatchObject({
      mode: 'kill-one',
      victims: [{ id: id(A), az: 'us-east-1a', ip: '10.0.1.10' }],
      replacements: [{ id: id(C), az: 'us-east-1a', ip: '10.0.1.30' }],
      recovered: true,
      recoverySeconds: 47,
      passed: true,
      verdict: 'recovered in 47.0s; 0 of 63 requests failed (allowed 0)',
    });
    // 47 s to recover, then 15 s of settle, polled every second.
    expect(clock.now() - 1_000_000).toBe(62_000);
    expect(prober.stopped).toBe(1);
    expect(report.userSaw).toMatchObject({ requests: 63, successes: 63, failures: 0, azs: [{ az: 'us-east-1b', successes: 63, share: 1 }] });
    expect(existsSync(join(stateDir, 'demo.lock'))).toBe(false);
    expect(path).toBe(join(stateDir, 'reports', 'demo-19700101T001640Z.json'));
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual(report);
    const stdout = out.join('');
    expect(stdout).toContain(`   +0.0s  stop requested                       task ${id(A)} (us-east-1a)\n`);
    expect(stdout).toContain(`   +2.0s  replacement started                  task ${id(C)} (us-east-1a) [PROVISIONING]\n`);
    expect(stdout).toContain('  +47.0s  steady\n');
    expect(stdout).toContain('\nPASS: recovered in 47.0s; 0 of 63 requests failed (allowed 0)\n');
    expect(err.join('')).toContain(`report written to ${path}\n`);
  });

  it('a replacement that never turns healthy: not recovered at --timeout, report written, exit 1', async () => {
    const clock = fakeClock();
    world = cleanReplacement(clock, false);
    const s = session(clock);

    const report = await runChaos(s, options({ timeout: '30' }), { startProber: cannedProber(() => ({ ok: true, az: 'us-east-1b' })), pick: () => 0, url: 'http://127.0.0.1:9' });
    const error = (() => {
      try {
        concludeChaos(s, report);
      } catch (e) {
        return e;
      }
    })();

    expect(clock.now() - 1_000_000).toBe(30_000); // no settle after a timeout
    expect(report.recovered).toBe(false);
    expect(report.recoverySeconds).toBeNull();
    expect(report.timeline.map((e) => e.event)).not.toContain('replacement healthy');
    expect(report.lastSeen).toEqual([`stopped task ${id(A)} is STOPPING`, 'target 10.0.1.30 unhealthy (Target.ResponseCodeMismatch)', `task ${id(C)} has no healthy target`]);
    expect(error).toMatchObject({ exitCode: ExitCode.failed, message: expect.stringContaining('chaos test failed: not recovered within 30s (last seen: stopped task') });
    expect(reportFiles()).toEqual(['demo-19700101T001640Z.html', 'demo-19700101T001640Z.json']);
    expect(JSON.parse(readFileSync(join(stateDir, 'reports', 'demo-19700101T001640Z.json'), 'utf8'))).toMatchObject({ recovered: false, passed: false });
    expect(out.join('')).toContain('\nFAIL: not recovered within 30s');
  });

  it('fails (exit 1) when more requests failed than --max-failures, though the service recovered', async () => {
    const clock = fakeClock();
    world = cleanReplacement(clock);
    const s = session(clock);
    const prober = cannedProber((second) => ({ ok: second < 1 || second > 3, az: 'us-east-1b' }));

    const report = await runChaos(s, options({ maxFailures: '2' }), { startProber: prober, pick: () => 0, url: 'http://127.0.0.1:9' });

    expect(report.recovered).toBe(true);
    expect(report.userSaw.failuresByKind.refused).toBe(3);
    expect(report.failedRequests).toEqual([1, 2, 3].map((seconds) => ({ seconds, outcome: 'refused', error: 'ECONNREFUSED' })));
    expect(() => concludeChaos(s, report)).toThrow(expect.objectContaining({ exitCode: ExitCode.failed, message: 'chaos test failed: 3 of 63 requests failed, more than --max-failures 2' }));
  });

  it('with one task and --force runs anyway and warns that a user WILL see an outage', async () => {
    const clock = fakeClock();
    world = cleanReplacement(clock);
    world.tasks = world.tasks.filter((t) => t.n === A);
    world.targets.delete('10.0.2.20');
    world.desiredCount = 1;
    const s = session(clock);
    const prober = cannedProber((second) => ({ ok: second < 1 || second >= 20, az: 'us-east-1a' }));

    const report = await runChaos(s, options({ force: true, maxFailures: '19', settle: '0' }), { startProber: prober, url: 'http://127.0.0.1:9' });

    expect(report.warnings).toEqual([
      '--force: running anyway although only one task is running: stopping it takes the app down',
      'stopping every running task (1): a user WILL see an outage until a replacement is running and healthy',
    ]);
    expect(err.join('')).toContain('⚠ stopping every running task (1): a user WILL see an outage');
    expect(report).toMatchObject({ recovered: true, recoverySeconds: 47, passed: true, userSaw: { failures: 19 } });
    expect(report.duringRecovery).toMatchObject({ toSeconds: 47, requests: 48, failures: 19, azs: [{ az: 'us-east-1a', successes: 29, share: 1 }] });
  });

  it('Ctrl-C stops following, still stops the prober, writes the partial report, exit 130', async () => {
    const base = fakeClock();
    const controller = new AbortController();
    // Ctrl-C arrives during the wait that ends 10 s after the stop.
    const clock: Clock = {
      now: base.now,
      sleep: async (ms) => {
        await base.sleep(ms);
        if (base.now() - 1_000_000 >= 10_000) controller.abort();
      },
    };
    world = cleanReplacement(clock);
    const prober = cannedProber(() => ({ ok: true, az: 'us-east-1b' }));
    const s = session(clock, controller.signal);

    const report = await runChaos(s, options(), { startProber: prober, pick: () => 0, url: 'http://127.0.0.1:9' });

    expect(prober.stopped).toBe(1);
    expect(report).toMatchObject({ interrupted: true, recovered: false, passed: false, verdict: 'interrupted before the test finished' });
    expect(report.timeline.at(-1)).toEqual({ event: 'replacement registered in Cloud Map', seconds: 9, taskId: id(C) });
    expect(clock.now() - 1_000_000).toBe(10_000);
    expect(() => concludeChaos(s, report)).toThrow(expect.objectContaining({ exitCode: ExitCode.interrupted }));
    expect(reportFiles()).toEqual(['demo-19700101T001640Z.html', 'demo-19700101T001640Z.json']);
  });

  it('tolerates a failed look (warned, the next one counts); gives up after three in a row and still stops the prober', async () => {
    const clock = fakeClock();
    world = cleanReplacement(clock);
    world.throttle = { from: 20, times: 2 };
    const prober = cannedProber(() => ({ ok: true, az: 'us-east-1b' }));
    const report = await runChaos(session(clock), options({ settle: '0' }), { startProber: prober, pick: () => 0, url: 'http://127.0.0.1:9' });
    expect(report.timeline.find((e) => e.event === 'replacement healthy')).toEqual({ event: 'replacement healthy', seconds: 22, taskId: id(C) });
    expect(report.recoverySeconds).toBe(47);
    expect(err.join('').match(/⚠ could not look at the service \(Rate exceeded\); trying again/g)).toHaveLength(2);

    const again = fakeClock();
    world = cleanReplacement(again);
    world.throttle = { from: 20, times: 3 };
    const second = cannedProber(() => ({ ok: true }));
    await expect(runChaos(session(again), options(), { startProber: second, pick: () => 0, url: 'http://127.0.0.1:9' })).rejects.toThrow('Rate exceeded');
    expect(second.stopped).toBe(1);
    expect(again.now() - 1_000_000).toBe(22_000);
  });

  it('refuses an endpoint override that lists no task (plain moto), before stopping anything', async () => {
    const clock = fakeClock();
    world = new World(clock, 2, []);
    const s = { ...session(clock), emulatorEndpoint: 'http://127.0.0.1:5000' };
    await expect(runChaos(s, options())).rejects.toMatchObject({ exitCode: ExitCode.environment, message: expect.stringContaining('lists no task for service demo, so it runs no containers') });
    expect(ecs.commandCalls(StopTaskCommand)).toHaveLength(0);
  });

  it('runs against an endpoint override that lists running tasks, as against AWS', async () => {
    const clock = fakeClock();
    world = cleanReplacement(clock);
    const s = { ...session(clock), emulatorEndpoint: 'http://127.0.0.1:5000' };
    const report = await runChaos(s, options(), { startProber: cannedProber(() => ({ ok: true })), pick: () => 0, url: 'http://127.0.0.1:9' });
    expect(report.recovered).toBe(true);
    expect(ecs.commandCalls(StopTaskCommand)).toHaveLength(1);
  });

  it('refuses when the stack has no state file', async () => {
    const s = { ...session(fakeClock()), stack: 'other' };
    await expect(runChaos(s, options())).rejects.toMatchObject({ exitCode: ExitCode.failed, message: expect.stringContaining('there is no state file for stack "other"') });
    expect(ecs.calls()).toHaveLength(0);
  });
});

describe('chaos --kill-az', () => {
  it('stops every task in the AZ at once, follows both replacements, and reports which AZs served the gap', async () => {
    const clock = fakeClock();
    const script = [
      { at: 1, change: (w: World) => ((w.get(A).lastStatus = 'DEACTIVATING'), (w.get(B).lastStatus = 'DEACTIVATING'), w.targets.set('10.0.1.10', 'draining'), w.targets.set('10.0.1.11', 'draining')) },
      { at: 3, change: (w: World) => w.tasks.push({ n: D, az: 'us-east-1a', ip: '10.0.1.40', lastStatus: 'PROVISIONING', desiredStatus: 'RUNNING' }, { n: E, az: 'us-east-1b', ip: '10.0.2.50', lastStatus: 'PROVISIONING', desiredStatus: 'RUNNING' }) },
      { at: 10, change: (w: World) => ((w.get(D).lastStatus = 'RUNNING'), (w.get(E).lastStatus = 'RUNNING'), w.targets.set('10.0.1.40', 'initial'), w.targets.set('10.0.2.50', 'initial'), w.instances.set(id(D), '10.0.1.40'), w.instances.set(id(E), '10.0.2.50')) },
      { at: 16, change: (w: World) => (w.targets.delete('10.0.1.10'), w.targets.delete('10.0.1.11')) },
      { at: 21, change: (w: World) => (w.targets.set('10.0.1.40', 'healthy'), w.targets.set('10.0.2.50', 'healthy')) },
      { at: 48, change: (w: World) => ((w.get(A).lastStatus = 'STOPPED'), (w.get(B).lastStatus = 'STOPPED')) },
    ];
    world = new World(clock, 3, script).task(A, 'us-east-1a', '10.0.1.10').task(B, 'us-east-1a', '10.0.1.11').task(C, 'us-east-1b', '10.0.2.30');
    // Before the stop both AZs answer; from the stop until the new tasks are healthy only us-east-1b does.
    const prober = cannedProber((second) => ({ ok: true, az: second >= 5 && second <= 26 ? 'us-east-1b' : second % 2 ? 'us-east-1a' : 'us-east-1b' }));
    const s = session(clock);

    const report = await runChaos(s, options({ killOne: false, killAz: 'us-east-1a', baseline: '5', settle: '2' }), { startProber: prober, url: 'http://127.0.0.1:9' });

    expect(world.stops.map((stop) => [stop.task, stop.reason])).toEqual([arn(A), arn(B)].map((t) => [t, 'ecs-ha chaos: kill-az us-east-1a test']));
    expect(report.mode).toBe('kill-az');
    expect(report.az).toBe('us-east-1a');
    expect(report.victims).toEqual([{ id: id(A), az: 'us-east-1a', ip: '10.0.1.10' }, { id: id(B), az: 'us-east-1a', ip: '10.0.1.11' }]);
    expect(report.replacements).toEqual([{ id: id(D), az: 'us-east-1a', ip: '10.0.1.40' }, { id: id(E), az: 'us-east-1b', ip: '10.0.2.50' }]);
    expect(report.timeline.map((e) => `${e.seconds} ${e.event} ${e.taskId?.[0] ?? ''}`)).toEqual([
      '0 stop requested 1', '0 stop requested 2', '1 victim deactivating 1', '1 target draining 1', '1 victim deactivating 2', '1 target draining 2',
      '3 replacement started 4', '3 replacement started 5', '10 replacement running 4', '10 replacement registered in Cloud Map 4', '10 replacement running 5',
      '10 replacement registered in Cloud Map 5', '16 target deregistered 1', '16 target deregistered 2', '21 replacement healthy 4', '21 replacement healthy 5',
      '48 victim stopped 1', '48 victim stopped 2', '48 steady ',
    ]);
    expect(report.recoverySeconds).toBe(48);
    expect(concludeChaos(s, report)).toMatch(/demo-19700101T001640Z\.json$/);
    expect(report.duringRecovery).toEqual({ fromSeconds: 0, toSeconds: 48, requests: 49, successes: 49, failures: 0, longestOutageMs: 0, azs: [
      { az: 'us-east-1a', successes: 14, share: 14 / 49 },
      { az: 'us-east-1b', successes: 35, share: 35 / 49 },
    ] });
    expect(out.join('')).toContain(`stop → recovery (+0.0s to +48.0s): 49 requests, 49 ok, 0 failed; served by us-east-1a 28.6%, us-east-1b 71.4%`);
  });
});

describe('chaos against a real HTTP server on 127.0.0.1', () => {
  it('probes for real through baseline, recovery and settle', async () => {
    const server = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ status: 'healthy', hostname: 'ip-10-0-2-20', version: '1.0', az: 'us-east-1b' }));
    });
    const listening = await listen(server);
    cleanups.push(() => listening.closeHard());
    world = cleanReplacement(realClock, true, 30); // one script second = 30 ms: recovered ~1.4 s after the stop
    const s = session(realClock);

    const report = await runChaos(s, options({ rps: '50', baseline: '0.2', settle: '0.2' }), { pick: () => 0, url: `http://127.0.0.1:${listening.port}`, pollIntervalMs: 10 });

    expect(report.recovered).toBe(true);
    // Real time: polls may see two scripted changes at once, so only the ends of the timeline are fixed.
    const events = report.timeline.map((e) => e.event);
    expect(events[0]).toBe('stop requested');
    expect(events.at(-1)).toBe('steady');
    expect(events).toEqual(expect.arrayContaining(['replacement started', 'replacement running', 'replacement healthy', 'target deregistered', 'victim stopped']));
    expect(report.userSaw.requests).toBeGreaterThan(0);
    expect(report.userSaw.failures).toBe(0);
    expect(report.userSaw.backends).toEqual([{ hostname: 'ip-10-0-2-20', az: 'us-east-1b', version: '1.0', successes: report.userSaw.successes, share: 1 }]);
    expect(report.url).toBe(`http://127.0.0.1:${listening.port}`);
    expect(report.passed).toBe(true);
  });
});
