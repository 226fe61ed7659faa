/**
 * `chaos` end to end in-process: AWS is a scripted "world" (aws-sdk-client-mock) whose tasks,
 * targets and Cloud Map instances change at scripted seconds after the stop; the clock is fake,
 * so the timeline's seconds are exact. One test probes a real HTTP server on 127.0.0.1.
 */
import { DescribeServicesCommand, DescribeTasksCommand, ECSClient, ListTasksCommand, StopTaskCommand, UpdateServiceCommand, type UpdateServiceCommandInput } from '@aws-sdk/client-ecs';
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
const [A, B, C, D, E, F, G] = [1, 2, 3, 4, 5, 6, 7];
const SUBNETS = ['subnet-aaa', 'subnet-bbb', 'subnet-ccc'];
const ZONES = ['us-east-1a', 'us-east-1b', 'us-east-1c'];
type Deployments = Array<{ id: string; status: string; rolloutState: string }>;
const completed = (id: string): Deployments => [{ id, status: 'PRIMARY', rolloutState: 'COMPLETED' }];
const rolling = (id: string, from: string): Deployments => [{ id, status: 'PRIMARY', rolloutState: 'IN_PROGRESS' }, { id: from, status: 'ACTIVE', rolloutState: 'COMPLETED' }];
const COMPLETED = completed('ecs-svc/1');

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
  /** The service's subnets and deployments, as DescribeServices reports them. */
  subnets = [...SUBNETS];
  deployments: Deployments = COMPLETED;
  /** Every UpdateService: its input, whether chaos held the lock, and the drill the state file recorded meanwhile. */
  updates: Array<{ input: UpdateServiceCommandInput; at: number; lockHeld: boolean; recordedDrill: unknown }> = [];
  /** Applied once `at` script-seconds have passed since the UpdateService that gave every subnet back. */
  afterRestore: Array<{ at: number; change: (w: World) => void }> = [];
  restoredAt: number | undefined;
  /** How long StopTask takes to answer (so that the exclusion before it shows as negative seconds). */
  stopTakesMs = 0;
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
    if (this.restoredAt === undefined) return;
    const sinceRestore = (this.clock.now() - this.restoredAt) / this.msPerSecond;
    while (this.afterRestore.length > 0 && this.afterRestore[0]!.at <= sinceRestore) this.afterRestore.shift()!.change(this);
  }
  start(n: number, az: string, ip: string): void {
    this.tasks.push({ n, az, ip, lastStatus: 'PROVISIONING', desiredStatus: 'RUNNING' });
  }
  serve(...ns: number[]): void {
    for (const t of ns.map((n) => this.get(n))) {
      t.lastStatus = 'RUNNING';
      this.targets.set(t.ip, 'healthy');
      this.instances.set(id(t.n), t.ip);
    }
  }
  /** Stopped by ECS (not by chaos): a deployment or rebalancing move. */
  stopping(...ns: number[]): void {
    for (const t of ns.map((n) => this.get(n))) {
      t.desiredStatus = 'STOPPED';
      t.lastStatus = 'DEACTIVATING';
      this.targets.set(t.ip, 'draining');
      this.instances.delete(id(t.n));
    }
  }
  stopped(...ns: number[]): void {
    for (const t of ns.map((n) => this.get(n))) {
      t.lastStatus = 'STOPPED';
      this.targets.delete(t.ip);
    }
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
    const networkConfiguration = { awsvpcConfiguration: { subnets: world.subnets, securityGroups: ['sg-tasks'], assignPublicIp: 'ENABLED' as const } };
    return { services: [{ serviceName: 'demo', serviceArn: 'arn:aws:ecs:us-east-1:123456789012:service/demo/demo', tags: [{ key: 'ecs-ha:stack', value: 'demo' }], status: 'ACTIVE', desiredCount: world.desiredCount, runningCount, pendingCount: wanted.length - runningCount, deployments: world.deployments, networkConfiguration }] };
  });
  ecs.on(UpdateServiceCommand).callsFake((input: UpdateServiceCommandInput) => {
    world.advance();
    const recordedDrill = JSON.parse(readFileSync(join(stateDir, 'demo.json'), 'utf8')).resources.service.details.zoneDrill;
    world.updates.push({ input, at: world.clock.now(), lockHeld: existsSync(join(stateDir, 'demo.lock')), recordedDrill });
    world.subnets = input.networkConfiguration?.awsvpcConfiguration?.subnets ?? world.subnets;
    if (world.updates.length > 1 && world.subnets.length === SUBNETS.length) world.restoredAt ??= world.clock.now();
    return { service: { serviceName: 'demo' } };
  });
  ecs.on(ListTasksCommand).callsFake((input: { desiredStatus?: string }) => {
    world.advance();
    return { taskArns: world.tasks.filter((t) => t.desiredStatus === input.desiredStatus).map((t) => arn(t.n)) };
  });
  ecs.on(DescribeTasksCommand).callsFake((input: { tasks: string[] }) => {
    world.advance();
    return { tasks: world.tasks.filter((t) => input.tasks.includes(arn(t.n))).map((t) => world.describe(t)) };
  });
  ecs.on(StopTaskCommand).callsFake(async (input: { task: string; reason: string }) => {
    await world.clock.sleep(world.stopTakesMs);
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
  state.record('network', { id: 'vpc-demo', origin: 'adopted', details: { subnetIds: SUBNETS, availabilityZones: ZONES } });
});

const stateFile = () => JSON.parse(readFileSync(join(stateDir, 'demo.json'), 'utf8'));

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

/**
 * A zone drill of us-east-1a on A (1a) and B (1b) over three subnets. ECS rolls the change of
 * subnets out as a new deployment: C (1c, or 1a when `landInFailedZone`) and D (1b) start, B is
 * replaced too. After the restore it moves back over every zone: E and F both start in 1a, then
 * Availability Zone rebalancing moves F to G in 1b.
 */
function zoneDrill(clock: Clock, landInFailedZone = false): World {
  const script = [
    { at: 1, change: (w: World) => ((w.get(A).lastStatus = 'DEACTIVATING'), w.targets.set('10.0.1.10', 'draining'), (w.deployments = rolling('ecs-svc/2', 'ecs-svc/1')), w.start(C, landInFailedZone ? 'us-east-1a' : 'us-east-1c', '10.0.3.30'), w.start(D, 'us-east-1b', '10.0.2.40')) },
    { at: 6, change: (w: World) => w.serve(C, D) },
    { at: 7, change: (w: World) => w.stopping(B) },
    { at: 12, change: (w: World) => (w.stopped(A, B), (w.deployments = completed('ecs-svc/2'))) },
  ];
  const world = new World(clock, 2, script).task(A, 'us-east-1a', '10.0.1.10').task(B, 'us-east-1b', '10.0.2.20');
  world.afterRestore = [
    { at: 1, change: (w: World) => ((w.deployments = rolling('ecs-svc/3', 'ecs-svc/2')), w.start(E, 'us-east-1a', '10.0.1.50'), w.start(F, 'us-east-1a', '10.0.1.60')) },
    { at: 5, change: (w: World) => (w.serve(E, F), w.stopping(C, D)) },
    { at: 9, change: (w: World) => (w.stopped(C, D), (w.deployments = completed('ecs-svc/3'))) },
    { at: 10, change: (w: World) => w.start(G, 'us-east-1b', '10.0.2.70') },
    { at: 13, change: (w: World) => (w.serve(G), w.stopping(F)) },
    { at: 17, change: (w: World) => w.stopped(F) },
  ];
  world.stopTakesMs = 200;
  return world;
}

const drillOptions = (overrides: Partial<ChaosOptionInput> = {}) => options({ killOne: false, killAz: 'us-east-1a', settle: '2', ...overrides });
const awsvpc = (subnets: string[]) => ({ awsvpcConfiguration: { subnets, securityGroups: ['sg-tasks'], assignPublicIp: 'ENABLED' } });
const subnetsSent = () => world.updates.map((u) => u.input.networkConfiguration?.awsvpcConfiguration?.subnets);

describe('chaos --kill-az: the zone drill', () => {
  it('takes the zone away before stopping its tasks, follows the new tasks into the other zones, gives the zone back and follows the rebalance', async () => {
    const clock = fakeClock();
    world = zoneDrill(clock);
    const s = session(clock);
    const prober = cannedProber(() => ({ ok: true, az: 'us-east-1b' }));

    const report = await runChaos(s, drillOptions(), { startProber: prober, url: 'http://127.0.0.1:9' });
    const path = concludeChaos(s, report);

    // The zone's subnets out, the rest of the network configuration exactly as it was; then every subnet back.
    expect(world.updates.map((u) => u.input)).toEqual([
      { cluster: 'demo', service: 'demo', networkConfiguration: awsvpc(['subnet-bbb', 'subnet-ccc']) },
      { cluster: 'demo', service: 'demo', networkConfiguration: awsvpc(SUBNETS) },
    ]);
    // Recorded in the state before the service changed, under the lock; cleared after the restore.
    expect(world.updates[0]).toMatchObject({ at: 1_000_000, lockHeld: true, recordedDrill: { az: 'us-east-1a', excludedSubnets: ['subnet-aaa'], startedAt: new Date(1_000_000).toISOString() } });
    expect(world.updates[1]).toMatchObject({ at: 1_012_200, lockHeld: true });
    expect(stateFile().resources.service.details).toEqual({ cluster: 'demo' });
    // The exclusion came before the stop.
    const calls = ecs.calls().map((c) => c.args[0].constructor.name).filter((n) => n === 'UpdateServiceCommand' || n === 'StopTaskCommand');
    expect(calls).toEqual(['UpdateServiceCommand', 'StopTaskCommand', 'UpdateServiceCommand']);
    expect(world.stops.map((stop) => [stop.task, stop.reason])).toEqual([[arn(A), 'ecs-ha chaos: kill-az us-east-1a test']]);

    expect(report.timeline.map((e) => `${e.seconds} ${e.event}${e.taskId ? ` ${e.taskId[0]}` : ''}${e.detail ? ` [${e.detail}]` : ''}`)).toEqual([
      '-0.2 zone excluded [subnets subnet-aaa left out]',
      '0 stop requested 1',
      '1 victim deactivating 1', '1 target draining 1', '1 replacement started 3 [PROVISIONING]', '1 replacement started 4 [PROVISIONING]',
      '6 replacement running 3', '6 replacement registered in Cloud Map 3', '6 replacement healthy 3',
      '6 replacement running 4', '6 replacement registered in Cloud Map 4', '6 replacement healthy 4',
      '7 deployment move 2 [stopped by ECS in us-east-1b: the change of subnets is a new deployment]',
      '12 victim stopped 1', '12 target deregistered 1', '12 steady',
      '12 zone restored [subnets subnet-aaa, subnet-bbb, subnet-ccc]',
      '13 rebalancing move 5 [started in us-east-1a after the zone was restored]', '13 rebalancing move 6 [started in us-east-1a after the zone was restored]',
      '17 rebalancing move 3 [stopped by ECS after the zone was restored]', '17 rebalancing move 4 [stopped by ECS after the zone was restored]',
      '22 rebalancing move 7 [started in us-east-1b after the zone was restored]',
      '25 rebalancing move 6 [stopped by ECS in us-east-1a, not by this test]',
      '29 rebalanced [us-east-1a 1, us-east-1b 1, us-east-1c 0]',
    ]);
    expect(report.replacements).toEqual([{ id: id(C), az: 'us-east-1c', ip: '10.0.3.30' }, { id: id(D), az: 'us-east-1b', ip: '10.0.2.40' }]);
    expect(report.zoneDrill).toEqual({
      az: 'us-east-1a',
      subnets: SUBNETS,
      excludedSubnets: ['subnet-aaa'],
      excludedSeconds: -0.2,
      holdSeconds: 0,
      restore: true,
      restoredSeconds: 12,
      restoreError: null,
      startedInFailedZone: [],
      tasksPerAz: {
        before: { 'us-east-1a': 1, 'us-east-1b': 1, 'us-east-1c': 0 },
        recovered: { 'us-east-1a': 0, 'us-east-1b': 1, 'us-east-1c': 1 },
        end: { 'us-east-1a': 1, 'us-east-1b': 1, 'us-east-1c': 0 },
      },
      rebalancedSeconds: 29,
      rebalanceLastSeen: [],
    });
    expect(report).toMatchObject({ recovered: true, recoverySeconds: 12, passed: true });
    expect(report.verdict).toBe('recovered in 12.0s with every new task outside us-east-1a; us-east-1a restored at +12.0s, rebalanced at +29.0s; 0 of 32 requests failed (allowed 0)');
    // Rebalanced at +29 s, then 2 s of settle.
    expect(clock.now() - 1_000_200).toBe(31_000);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual(report);
    const stdout = out.join('');
    expect(stdout).toContain('\nZone drill (us-east-1a):\n');
    expect(stdout).toContain('  zone taken away: us-east-1a: subnets subnet-aaa left out at -0.2s; the service kept subnet-bbb, subnet-ccc\n');
    expect(stdout).toContain('  landed in:       us-east-1b 1, us-east-1c 1 (none in us-east-1a)\n');
    expect(stdout).toContain('  restored:        at +12.0s: subnets subnet-aaa, subnet-bbb, subnet-ccc\n');
    expect(stdout).toContain('  rebalanced:      at +29.0s\n');
    expect(stdout).toContain('   -0.2s  zone excluded');
    expect(err.join('')).toContain('us-east-1a taken away: subnets subnet-aaa left out of service demo');
  });

  it('FAILs when a new task lands in the zone taken away, naming the task and the zone, and still gives the zone back', async () => {
    const clock = fakeClock();
    world = zoneDrill(clock, true);
    const s = session(clock);
    const report = await runChaos(s, drillOptions(), { startProber: cannedProber(() => ({ ok: true, az: 'us-east-1b' })), url: 'http://127.0.0.1:9' });

    expect(report.recovered).toBe(true);
    expect(report.passed).toBe(false);
    expect(report.zoneDrill?.startedInFailedZone).toEqual([{ id: id(C), az: 'us-east-1a', ip: '10.0.3.30' }]);
    expect(report.verdict).toBe(`task ${id(C)} started in us-east-1a, the zone the drill took away`);
    expect(subnetsSent()).toEqual([['subnet-bbb', 'subnet-ccc'], SUBNETS]);
    expect(() => concludeChaos(s, report)).toThrow(expect.objectContaining({ exitCode: ExitCode.failed, message: expect.stringContaining('the zone the drill took away') }));
    expect(out.join('')).toContain(`  landed in:       us-east-1a 1, us-east-1b 1; FAIL: task ${id(C)} in us-east-1a, the zone taken away\n`);
  });

  it('--hold keeps the zone out that long after the recovery before giving it back', async () => {
    const clock = fakeClock();
    world = zoneDrill(clock);
    const report = await runChaos(session(clock), drillOptions({ hold: '30' }), { startProber: cannedProber(() => ({ ok: true })), url: 'http://127.0.0.1:9' });
    // Recovered at +12 s, restored 30 s later.
    expect(world.updates.map((u) => u.at - 1_000_200)).toEqual([-200, 42_000]);
    expect(report.zoneDrill).toMatchObject({ holdSeconds: 30, restoredSeconds: 42, rebalancedSeconds: 59 });
    expect(report.passed).toBe(true);
  });

  it('--no-restore leaves the zone out: one UpdateService, the drill stays recorded, and the report and stderr say how to give it back', async () => {
    const clock = fakeClock();
    world = zoneDrill(clock);
    const s = session(clock);
    const report = await runChaos(s, drillOptions({ restore: false }), { startProber: cannedProber(() => ({ ok: true })), url: 'http://127.0.0.1:9' });
    concludeChaos(s, report);

    expect(subnetsSent()).toEqual([['subnet-bbb', 'subnet-ccc']]);
    expect(stateFile().resources.service.details.zoneDrill).toMatchObject({ az: 'us-east-1a', excludedSubnets: ['subnet-aaa'] });
    expect(report.zoneDrill).toMatchObject({ restore: false, restoredSeconds: null, rebalancedSeconds: null });
    expect(report.passed).toBe(true);
    expect(report.verdict).toMatch(/^recovered in 12\.0s with every new task outside us-east-1a \(us-east-1a still left out\); 0 of \d+ requests failed/);
    const still = 'zone us-east-1a is still left out: service demo runs in subnet-bbb, subnet-ccc only; `ecs-ha up --stack demo` gives it subnets subnet-aaa back';
    expect(report.warnings).toContain(still);
    expect(err.join('')).toContain(`⚠ ${still}`);
    expect(out.join('')).toContain('  restored:        no (--no-restore): us-east-1a is still left out; `ecs-ha up` gives subnet-aaa back\n');
    // Recovered at +12 s, then only the settle: nothing to rebalance.
    expect(clock.now() - 1_000_200).toBe(14_000);
  });

  it('gives the zone back when following fails (three failed looks in a row), then reports the error', async () => {
    const clock = fakeClock();
    world = zoneDrill(clock);
    world.throttle = { from: 3, times: 3 };
    const prober = cannedProber(() => ({ ok: true }));
    await expect(runChaos(session(clock), drillOptions(), { startProber: prober, url: 'http://127.0.0.1:9' })).rejects.toThrow('Rate exceeded');
    expect(subnetsSent()).toEqual([['subnet-bbb', 'subnet-ccc'], SUBNETS]);
    expect(stateFile().resources.service.details.zoneDrill).toBeUndefined();
    expect(prober.stopped).toBe(1);
  });

  it('gives the zone back when the recovery times out, and does not wait for a rebalance', async () => {
    const clock = fakeClock();
    world = zoneDrill(clock);
    const report = await runChaos(session(clock), drillOptions({ timeout: '5' }), { startProber: cannedProber(() => ({ ok: true })), url: 'http://127.0.0.1:9' });
    expect(subnetsSent()).toEqual([['subnet-bbb', 'subnet-ccc'], SUBNETS]);
    expect(report).toMatchObject({ recovered: false, passed: false, zoneDrill: { restoredSeconds: 5, rebalancedSeconds: null, rebalanceLastSeen: [] } });
    expect(clock.now() - 1_000_200).toBe(5_000);
  });

  it('Ctrl-C: the first one lets the restore run; the partial report says so', async () => {
    const base = fakeClock();
    const controller = new AbortController();
    const clock: Clock = {
      now: base.now,
      sleep: async (ms) => {
        await base.sleep(ms);
        if (base.now() - 1_000_200 >= 4_000) controller.abort();
      },
    };
    world = zoneDrill(clock);
    const s = session(clock, controller.signal);
    const report = await runChaos(s, drillOptions(), { startProber: cannedProber(() => ({ ok: true })), url: 'http://127.0.0.1:9' });
    expect(subnetsSent()).toEqual([['subnet-bbb', 'subnet-ccc'], SUBNETS]);
    expect(stateFile().resources.service.details.zoneDrill).toBeUndefined();
    expect(report).toMatchObject({ interrupted: true, zoneDrill: { restoredSeconds: 4, rebalancedSeconds: null } });
    expect(report.timeline.at(-1)).toMatchObject({ event: 'zone restored', seconds: 4 });
    expect(() => concludeChaos(s, report)).toThrow(expect.objectContaining({ exitCode: ExitCode.interrupted }));
  });

  it('Ctrl-C during the baseline changes nothing: no UpdateService, no stop, no drill recorded', async () => {
    const controller = new AbortController();
    controller.abort();
    const clock = fakeClock();
    world = zoneDrill(clock);
    const report = await runChaos(session(clock, controller.signal), drillOptions({ baseline: '5' }), { startProber: cannedProber(() => ({ ok: true })), url: 'http://127.0.0.1:9' });
    expect(world.updates).toEqual([]);
    expect(world.stops).toEqual([]);
    expect(stateFile().resources.service.details.zoneDrill).toBeUndefined();
    expect(report.zoneDrill).toMatchObject({ excludedSeconds: null, restoredSeconds: null });
  });

  it('a refused exclusion (AccessDenied) stops nothing and leaves no drill recorded', async () => {
    const clock = fakeClock();
    world = zoneDrill(clock);
    ecs.on(UpdateServiceCommand).rejects(awsError('AccessDeniedException', 'not authorized to perform: ecs:UpdateService'));
    await expect(runChaos(session(clock), drillOptions(), { startProber: cannedProber(() => ({ ok: true })), url: 'http://127.0.0.1:9' })).rejects.toThrow('not authorized');
    expect(world.stops).toEqual([]);
    expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(1);
    expect(stateFile().resources.service.details.zoneDrill).toBeUndefined();
  });

  it('refuses before changing anything when the service already leaves a zone out (a killed drill); --force runs the drill and gives every subnet back', async () => {
    const clock = fakeClock();
    world = zoneDrill(clock);
    world.subnets = ['subnet-bbb', 'subnet-ccc'];
    const state = StateStore.open(stateDir, 'demo', ACCOUNT, REGION);
    state.record('service', { id: 'demo', origin: 'created', details: { cluster: 'demo', zoneDrill: { az: 'us-east-1a', excludedSubnets: ['subnet-aaa'], startedAt: '2026-11-30T04:00:00.000Z' } } });
    // The zone's task is still there in this world, so preflight gets as far as the subnets.
    await expect(runChaos(session(clock), drillOptions(), { startProber: cannedProber(() => ({ ok: true })), url: 'http://127.0.0.1:9' })).rejects.toMatchObject({
      exitCode: ExitCode.failed,
      message: expect.stringContaining(
        "the service runs in subnets subnet-bbb, subnet-ccc, not the stack's subnet-aaa, subnet-bbb, subnet-ccc (a zone drill of us-east-1a started at 2026-11-30T04:00:00.000Z did not give its subnets back); `ecs-ha up` gives them back",
      ),
    });
    expect(world.updates).toEqual([]);
    expect(world.stops).toEqual([]);

    const report = await runChaos(session(clock), drillOptions({ force: true }), { startProber: cannedProber(() => ({ ok: true })), url: 'http://127.0.0.1:9' });
    expect(report.warnings[0]).toMatch(/^--force: running anyway although the service runs in subnets subnet-bbb, subnet-ccc/);
    expect(subnetsSent()).toEqual([['subnet-bbb', 'subnet-ccc'], SUBNETS]);
    expect(stateFile().resources.service.details).toEqual({ cluster: 'demo' });
  });

  it('clears the record of a killed drill whose subnets `up` has given back since', async () => {
    const clock = fakeClock();
    world = zoneDrill(clock);
    const state = StateStore.open(stateDir, 'demo', ACCOUNT, REGION);
    state.record('service', { id: 'demo', origin: 'created', details: { cluster: 'demo', zoneDrill: { az: 'us-east-1b', excludedSubnets: ['subnet-bbb'], startedAt: '2026-11-30T04:00:00.000Z' } } });
    // Interrupted during the baseline: whatever is cleared, preflight cleared.
    const controller = new AbortController();
    controller.abort();
    const report = await runChaos(session(clock, controller.signal), drillOptions({ baseline: '1' }), { startProber: cannedProber(() => ({ ok: true })), url: 'http://127.0.0.1:9' });
    expect(report.warnings).toEqual([]);
    expect(world.updates).toEqual([]);
    expect(stateFile().resources.service.details).toEqual({ cluster: 'demo' });
  });

  it('refuses a zone that is the stack\'s only one left, or none of its zones, before changing anything', async () => {
    const clock = fakeClock();
    world = zoneDrill(clock);
    const state = StateStore.open(stateDir, 'demo', ACCOUNT, REGION);
    state.record('network', { id: 'vpc-demo', origin: 'adopted', details: { subnetIds: ['subnet-aaa'], availabilityZones: ['us-east-1a'] } });
    world.subnets = ['subnet-aaa'];
    await expect(runChaos(session(clock), drillOptions(), { startProber: cannedProber(() => ({ ok: true })), url: 'http://127.0.0.1:9' })).rejects.toThrow(
      'every subnet of stack "demo" is in us-east-1a: leaving them out would leave the service nowhere to run; nothing was stopped',
    );
    expect(world.updates).toEqual([]);
    expect(world.stops).toEqual([]);
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
