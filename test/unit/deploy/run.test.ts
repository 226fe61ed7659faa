/**
 * `deploy` and `rollback` in-process: AWS is a scripted "world" (aws-sdk-client-mock) whose
 * deployments, tasks, targets and events change at scripted seconds after UpdateService; the clock
 * is fake and the prober canned, so timelines, windows and verdicts are exact.
 */
import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  ListTaskDefinitionsCommand,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
  type RegisterTaskDefinitionCommandInput,
  type TaskDefinition,
} from '@aws-sdk/client-ecs';
import { DescribeImagesCommand, DescribeRepositoriesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { DescribeTargetHealthCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { AwsClients } from '../../../src/aws/clients.js';
import type { ProberFactory } from '../../../src/chaos/run.js';
import type { Clock } from '../../../src/clock.js';
import { runDeploy, runRollback } from '../../../src/deploy/deploy.js';
import { parseDeployOptions, parseMeasureOptions, type DeployOptionInput } from '../../../src/deploy/options.js';
import { concludeRollout } from '../../../src/deploy/report.js';
import { ExitCode } from '../../../src/errors.js';
import { summarize, type ProbeRecord } from '../../../src/probe/prober.js';
import type { Session } from '../../../src/session.js';
import { StateStore } from '../../../src/state/store.js';
import { contentHash, imageTagFor } from '../../../src/steps/image.js';
import { createReporter } from '../../../src/ui/reporter.js';
import { ACCOUNT, fakeClock, REGION, scriptedRunner } from '../../helpers/context.js';

const ecs = mockClient(ECSClient);
const ecr = mockClient(ECRClient);
const elbv2 = mockClient(ElasticLoadBalancingV2Client);
const sts = mockClient(STSClient);

const REPOSITORY_URI = `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/demo`;
const TG = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/demo-tg/0123456789abcdef';
const ROLE = 'arn:aws:iam::123456789012:role/demo-us-east-1-task-execution';
const td = (n: number) => `arn:aws:ecs:us-east-1:${ACCOUNT}:task-definition/demo:${n}`;
const taskArn = (id: string) => `arn:aws:ecs:us-east-1:${ACCOUNT}:task/demo/${id}`;
const T0_OFFSET = 2_000; // --baseline 2: the update comes 2 s after probing starts

interface WorldTask {
  id: string;
  rev: number;
  lastStatus: string;
  desiredStatus: string;
  ip: string;
  stoppedReason?: string;
}

interface WorldDeployment {
  id: string;
  status: 'PRIMARY' | 'ACTIVE';
  rev: number;
  rolloutState: string;
  rolloutStateReason?: string;
}

/** The service as ECS would show it; `script` entries apply once `at` seconds passed since UpdateService. */
class World {
  revisions: TaskDefinition[] = [];
  deployments: WorldDeployment[] = [{ id: 'ecs-svc/1', status: 'PRIMARY', rev: 1, rolloutState: 'COMPLETED' }];
  events: Array<{ id: string; createdAt: Date; message: string }> = [{ id: 'before', createdAt: new Date(0), message: '(service demo) has reached a steady state.' }];
  tasks: WorldTask[] = [
    { id: 'a', rev: 1, lastStatus: 'RUNNING', desiredStatus: 'RUNNING', ip: '10.0.1.1' },
    { id: 'b', rev: 1, lastStatus: 'RUNNING', desiredStatus: 'RUNNING', ip: '10.0.2.2' },
  ];
  targets = new Map<string, string>([
    ['10.0.1.1', 'healthy'],
    ['10.0.2.2', 'healthy'],
  ]);
  updates: Array<Record<string, unknown>> = [];
  t0: number | undefined;
  script: Array<{ at: number; change: (w: World) => void }> = [];

  constructor(readonly clock: Clock) {}

  get serviceRev(): number {
    return this.deployments.find((d) => d.status === 'PRIMARY')!.rev;
  }
  task(id: string): WorldTask {
    return this.tasks.find((t) => t.id === id)!;
  }
  event(message: string): void {
    this.events.unshift({ id: `e${this.events.length}`, createdAt: new Date(this.clock.now()), message });
  }
  advance(): void {
    if (this.t0 === undefined) return;
    const elapsed = (this.clock.now() - this.t0) / 1000;
    while (this.script.length > 0 && this.script[0]!.at <= elapsed) this.script.shift()!.change(this);
  }
  /** Starts a deployment of `rev` as UpdateService would. */
  deploy(rev: number, id: string, reason?: string): void {
    for (const d of this.deployments) d.status = 'ACTIVE';
    this.deployments.unshift({ id, status: 'PRIMARY', rev, rolloutState: 'IN_PROGRESS', ...(reason ? { rolloutStateReason: reason } : {}) });
  }
  service() {
    const live = this.tasks.filter((t) => t.desiredStatus === 'RUNNING');
    const running = (rev?: number) => live.filter((t) => t.lastStatus === 'RUNNING' && (rev === undefined || t.rev === rev)).length;
    return {
      serviceName: 'demo',
      serviceArn: 'arn:aws:ecs:us-east-1:123456789012:service/demo/demo',
      status: 'ACTIVE',
      desiredCount: 2,
      runningCount: running(),
      pendingCount: live.length - running(),
      taskDefinition: td(this.serviceRev),
      healthCheckGracePeriodSeconds: 30,
      deploymentConfiguration: { minimumHealthyPercent: 100, maximumPercent: 200, deploymentCircuitBreaker: { enable: true, rollback: true } },
      deployments: this.deployments.map((d) => ({ id: d.id, status: d.status, taskDefinition: td(d.rev), rolloutState: d.rolloutState, rolloutStateReason: d.rolloutStateReason, desiredCount: 2, runningCount: running(d.rev), pendingCount: 0 })),
      events: this.events,
    };
  }
}

function revision(n: number, appVersion: string, image: string): TaskDefinition {
  return {
    taskDefinitionArn: td(n),
    family: 'demo',
    revision: n,
    status: 'ACTIVE',
    networkMode: 'awsvpc',
    requiresCompatibilities: ['FARGATE'],
    cpu: '256',
    memory: '512',
    runtimePlatform: { operatingSystemFamily: 'LINUX', cpuArchitecture: 'X86_64' },
    executionRoleArn: ROLE,
    containerDefinitions: [
      {
        name: 'app',
        image,
        essential: true,
        portMappings: [{ containerPort: 8080, protocol: 'tcp' }],
        environment: [
          { name: 'APP_VERSION', value: appVersion },
          { name: 'PORT', value: '8080' },
        ],
        logConfiguration: { logDriver: 'awslogs', options: { 'awslogs-group': '/ecs/demo', 'awslogs-region': REGION, 'awslogs-stream-prefix': 'ecs' } },
        stopTimeout: 30,
      },
    ],
  };
}

let world: World;
let stateDir: string;
let appDir: string;
let image1: string;
let out: string[];
let err: string[];

function mockWorld(): void {
  const ours = [{ key: 'ecs-ha:stack', value: 'demo' }];
  ecs.on(DescribeServicesCommand).callsFake(() => {
    world.advance();
    return { services: [world.service()] };
  });
  ecs.on(ListTasksCommand).callsFake((input: { desiredStatus?: string }) => {
    world.advance();
    return { taskArns: world.tasks.filter((t) => t.desiredStatus === (input.desiredStatus ?? 'RUNNING')).map((t) => taskArn(t.id)) };
  });
  ecs.on(DescribeTasksCommand).callsFake((input: { tasks: string[] }) => {
    world.advance();
    return {
      tasks: world.tasks
        .filter((t) => input.tasks.includes(taskArn(t.id)))
        .map((t) => ({ taskArn: taskArn(t.id), taskDefinitionArn: td(t.rev), lastStatus: t.lastStatus, desiredStatus: t.desiredStatus, availabilityZone: 'us-east-1a', stoppedReason: t.stoppedReason, attachments: [{ type: 'ElasticNetworkInterface', details: [{ name: 'privateIPv4Address', value: t.ip }] }] })),
    };
  });
  ecs.on(DescribeTaskDefinitionCommand).callsFake((input: { taskDefinition: string }) => {
    const found = input.taskDefinition === 'demo' ? world.revisions.at(-1) : world.revisions.find((r) => r.taskDefinitionArn === input.taskDefinition);
    if (!found) throw Object.assign(new Error('Unable to describe task definition.'), { name: 'ClientException', $fault: 'client', $metadata: {} });
    return { taskDefinition: found, tags: ours };
  });
  ecs.on(RegisterTaskDefinitionCommand).callsFake((input: RegisterTaskDefinitionCommandInput) => {
    const n = world.revisions.length + 1;
    const registered = { ...revision(n, '', ''), containerDefinitions: input.containerDefinitions };
    world.revisions.push(registered);
    return { taskDefinition: registered };
  });
  ecs.on(UpdateServiceCommand).callsFake((input: { taskDefinition: string }) => {
    world.updates.push(input);
    world.t0 = world.clock.now();
    world.deploy(Number(input.taskDefinition.split(':').pop()), 'ecs-svc/2');
    return { service: world.service() };
  });
  ecs.on(ListTaskDefinitionsCommand).callsFake(() => ({ taskDefinitionArns: world.revisions.map((r) => r.taskDefinitionArn!).reverse() }));
  ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [{ repositoryName: 'demo', repositoryArn: 'arn:aws:ecr:us-east-1:123456789012:repository/demo', repositoryUri: REPOSITORY_URI }] });
  ecr.on(DescribeImagesCommand).rejects(Object.assign(new Error('not found'), { name: 'ImageNotFoundException', $fault: 'client', $metadata: {} }));
  elbv2.on(DescribeTargetHealthCommand).callsFake(() => {
    world.advance();
    return { TargetHealthDescriptions: [...world.targets].map(([ip, State]) => ({ Target: { Id: ip, Port: 8080 }, TargetHealth: { State } })) };
  });
}

/** Requests once a second from the start of probing; `version(secondsAfterUpdate)` says who answered (undefined: a failure). */
function cannedProber(version: (secondsAfterUpdate: number) => string | undefined): ProberFactory & { stopped: number } {
  const factory = (({ baseUrl, rps, clock }) => {
    const start = clock.now();
    const records = (end: number): ProbeRecord[] =>
      Array.from({ length: Math.floor((end - start) / 1000) + 1 }, (_, s) => {
        const v = version(s - T0_OFFSET / 1000);
        return v
          ? { startedAt: start + s * 1000, latencyMs: 10 + (s % 3), outcome: 'ok' as const, status: 200, backend: { hostname: `ip-${s % 2}`, version: v } }
          : { startedAt: start + s * 1000, latencyMs: 2, outcome: 'http_error' as const, status: 502, error: 'HTTP 502' };
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

function session(clock: Clock, options: { signal?: AbortSignal; local?: boolean } = {}): Session {
  const sink = (lines: string[]) => ({ write: (text: string) => lines.push(text) > 0 }) as unknown as NodeJS.WritableStream;
  return {
    stack: 'demo',
    stateDir,
    local: options.local ?? true,
    json: false,
    aws: new AwsClients({ region: REGION, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 }),
    reporter: createReporter({ json: false, interactive: false, stdout: sink(out), stderr: sink(err) }),
    clock,
    runner: scriptedRunner(),
    signal: options.signal ?? new AbortController().signal,
  };
}

const deployOptions = (input: Partial<DeployOptionInput> = {}) => parseDeployOptions({ rps: '1', baseline: '2', settle: '3', timeout: '60', maxFailures: '0', ...input }, 'demo');

/** Version 2 rolls out: new tasks c, d healthy at 5 s, old ones stopped from 6 s, COMPLETED at 8 s. */
function cleanRollout(w: World): void {
  w.script = [
    { at: 1, change: (x) => (x.tasks.push({ id: 'c', rev: 2, lastStatus: 'PROVISIONING', desiredStatus: 'RUNNING', ip: '10.0.1.3' }, { id: 'd', rev: 2, lastStatus: 'PROVISIONING', desiredStatus: 'RUNNING', ip: '10.0.2.4' }), x.event('(service demo) has started 2 tasks: (task c) (task d).')) },
    { at: 3, change: (x) => ((x.task('c').lastStatus = 'RUNNING'), (x.task('d').lastStatus = 'RUNNING'), x.targets.set('10.0.1.3', 'initial'), x.targets.set('10.0.2.4', 'initial')) },
    { at: 5, change: (x) => (x.targets.set('10.0.1.3', 'healthy'), x.targets.set('10.0.2.4', 'healthy')) },
    {
      at: 6,
      change: (x) => {
        for (const id of ['a', 'b']) Object.assign(x.task(id), { desiredStatus: 'STOPPED', lastStatus: 'DEACTIVATING', stoppedReason: 'Scaling activity initiated by (deployment ecs-svc/2)' });
        x.targets.set('10.0.1.1', 'draining');
        x.targets.set('10.0.2.2', 'draining');
      },
    },
    {
      at: 8,
      change: (x) => {
        x.task('a').lastStatus = 'STOPPED';
        x.task('b').lastStatus = 'STOPPED';
        x.targets.delete('10.0.1.1');
        x.targets.delete('10.0.2.2');
        x.deployments = [{ ...x.deployments[0]!, rolloutState: 'COMPLETED' }];
        x.event('(service demo) (deployment ecs-svc/2) deployment completed.');
      },
    },
  ];
}

/** Version 2 never turns healthy: c, d stopped at 5 s, e at 7 s; FAILED and rolled back to demo:1 at 8 s, done at 10 s. */
function failingRollout(w: World): void {
  const unhealthy = `Task failed ELB health checks in (target-group ${TG})`;
  w.script = [
    { at: 1, change: (x) => x.tasks.push({ id: 'c', rev: 2, lastStatus: 'RUNNING', desiredStatus: 'RUNNING', ip: '10.0.1.3' }, { id: 'd', rev: 2, lastStatus: 'RUNNING', desiredStatus: 'RUNNING', ip: '10.0.2.4' }) },
    { at: 3, change: (x) => (x.targets.set('10.0.1.3', 'unhealthy'), x.targets.set('10.0.2.4', 'unhealthy')) },
    {
      at: 5,
      change: (x) => {
        for (const id of ['c', 'd']) Object.assign(x.task(id), { desiredStatus: 'STOPPED', lastStatus: 'STOPPED', stoppedReason: unhealthy });
        x.targets.delete('10.0.1.3');
        x.targets.delete('10.0.2.4');
        x.tasks.push({ id: 'e', rev: 2, lastStatus: 'RUNNING', desiredStatus: 'RUNNING', ip: '10.0.1.5' });
      },
    },
    { at: 7, change: (x) => Object.assign(x.task('e'), { desiredStatus: 'STOPPED', lastStatus: 'STOPPED', stoppedReason: unhealthy }) },
    {
      at: 8,
      change: (x) => {
        x.deployments[0] = { ...x.deployments[0]!, rolloutState: 'FAILED', rolloutStateReason: 'ECS deployment circuit breaker: tasks failed to start.' };
        x.event('(service demo) (deployment ecs-svc/2) deployment failed: tasks failed to start.');
        x.deploy(1, 'ecs-svc/3', 'ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/1.');
        x.deployments = x.deployments.filter((d) => d.id !== 'ecs-svc/1');
      },
    },
    { at: 10, change: (x) => (x.deployments = [{ ...x.deployments[0]!, rolloutState: 'COMPLETED' }]) },
  ];
}

beforeEach(() => {
  for (const mock of [ecs, ecr, elbv2, sts]) mock.reset();
  sts.on(GetCallerIdentityCommand).resolves({ Account: ACCOUNT });
  mockWorld();
  out = [];
  err = [];
  stateDir = mkdtempSync(join(tmpdir(), 'ecs-ha-deploy-'));
  appDir = mkdtempSync(join(tmpdir(), 'ecs-ha-app-'));
  writeFileSync(join(appDir, 'Dockerfile'), 'FROM python:3.12-slim\nCMD ["gunicorn", "app:app"]\n');
  image1 = `${REPOSITORY_URI}:${imageTagFor(contentHash(appDir, 'x86_64'), 'x86_64')}`;
  world = new World(fakeClock());
  world.revisions.push(revision(1, '1.0', image1));
  const state = StateStore.open(stateDir, 'demo', ACCOUNT, REGION);
  state.record('cluster', { id: 'demo', origin: 'created' });
  state.record('service', { id: 'demo', origin: 'created', details: { cluster: 'demo' } });
  state.record('targetGroup', { id: TG, origin: 'created' });
  state.record('loadBalancer', { id: 'arn:lb', origin: 'created', details: { dnsName: 'demo-alb-1.us-east-1.elb.amazonaws.com' } });
  state.record('executionRole', { id: 'demo-us-east-1-task-execution', arn: ROLE, origin: 'created' });
  state.record('logGroup', { id: '/ecs/demo', origin: 'created' });
  state.record('repository', { id: 'demo', origin: 'created', details: { uri: REPOSITORY_URI } });
  state.record('image', { id: image1, origin: 'created', details: { pushed: false } });
  state.record('taskDefinition', { id: td(1), arn: td(1), origin: 'created', details: { family: 'demo', appVersion: '1.0', image: image1, appDir } });
});

const readState = () => JSON.parse(readFileSync(join(stateDir, 'demo.json'), 'utf8')) as { resources: Record<string, { id: string; details?: Record<string, unknown> }> };
const reportFiles = () => (existsSync(join(stateDir, 'reports')) ? readdirSync(join(stateDir, 'reports')) : []);

describe('deploy --app-version (rolling)', () => {
  it('registers a revision, updates the service after the baseline, follows it to COMPLETED, and reports the version share moving', async () => {
    world = Object.assign(world, { clock: fakeClock() });
    const clock = world.clock;
    cleanRollout(world);
    const s = session(clock);
    const prober = cannedProber((t) => (t < 5.5 ? '1.0' : '2'));

    const result = await runDeploy(s, deployOptions({ appVersion: '2' }), appDir, { startProber: prober, url: 'http://127.0.0.1:9' });
    if (!result.changed) throw new Error('expected a rollout');
    const { report } = result;
    const path = concludeRollout(s, report);

    // The new revision differs only in APP_VERSION; the service update names only it.
    const registered = ecs.commandCalls(RegisterTaskDefinitionCommand)[0]!.args[0].input;
    expect(registered.containerDefinitions![0]!.environment).toEqual([{ name: 'APP_VERSION', value: '2' }, { name: 'PORT', value: '8080' }]);
    expect(registered.containerDefinitions![0]!.image).toBe(image1);
    expect(world.updates).toEqual([{ cluster: 'demo', service: 'demo', taskDefinition: td(2) }]);
    expect(world.t0! - 1_000_000).toBe(T0_OFFSET);
    expect(report).toMatchObject({
      command: 'deploy',
      strategy: 'rolling',
      outcome: 'completed',
      deploymentId: 'ecs-svc/2',
      rolloutSeconds: 8,
      rollback: null,
      passed: true,
      verdict: 'deployment ecs-svc/2 completed in 8.0s; 0 of 14 requests failed (allowed 0)',
      from: { revision: 'demo:1', appVersion: '1.0', image: image1 },
      to: { revision: 'demo:2', appVersion: '2', image: image1 },
    });
    expect(report.timeline.filter((e) => e.event !== 'ECS').map((e) => `${e.seconds} ${e.event} ${e.taskId ?? e.detail ?? ''}`)).toEqual([
      '0 update requested demo:1 → demo:2',
      '0 deployment started ecs-svc/2',
      '1 task started c',
      '1 task started d',
      '3 task running c',
      '3 task running d',
      '5 task healthy c',
      '5 task healthy d',
      '5 last answer version 1.0',
      '6 task stopping a',
      '6 task stopping b',
      '6 first answer version 2',
      '8 deployment completed ecs-svc/2',
      '8 task stopped a',
      '8 task stopped b',
    ]);
    // before: the 2 s baseline; during: update → completed; after: the 3 s settle.
    expect(report.phases.before).toMatchObject({ fromSeconds: -2, toSeconds: 0, requests: 2, failures: 0, versions: [{ version: '1.0', successes: 2, share: 1 }] });
    expect(report.phases.during).toMatchObject({ fromSeconds: 0, toSeconds: 8, requests: 9, versions: [{ version: '1.0', successes: 6, share: 6 / 9 }, { version: '2', successes: 3, share: 3 / 9 }] });
    expect(report.phases.after).toMatchObject({ fromSeconds: 8, toSeconds: 11, requests: 3, versions: [{ version: '2', successes: 3, share: 1 }] });
    expect(report.series.map((b) => [b.t, b.versions])).toEqual([-2, -1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11].map((t) => [t, { [t < 6 ? '1.0' : '2']: 1 }]));
    // The state names the new revision and remembers its release, so a plain `up` keeps it.
    expect(readState().resources.taskDefinition).toMatchObject({ id: td(2), details: { family: 'demo', appVersion: '2', image: image1, appDir } });
    expect(prober.stopped).toBe(1);
    expect(existsSync(join(stateDir, 'demo.lock'))).toBe(false);
    expect(path).toBe(join(stateDir, 'reports', 'demo-deploy-19700101T001640Z.json'));
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual(report);
    const stdout = out.join('');
    expect(stdout).toContain('  deployment:  ecs-svc/2: completed in 8.0s\n');
    expect(stdout).toContain('  during   +0.0s to +8.0s          9 sent,   0 failed, longest outage 0 ms; p50 11.0 ms, p95 12.0 ms, p99 12.0 ms; 1.0 66.7%, 2 33.3%\n');
    expect(stdout).toContain('\nPASS: deployment ecs-svc/2 completed in 8.0s; 0 of 14 requests failed (allowed 0)\n');
    expect(err.join('')).toContain(`report written to ${path}\n`);
  });

  it('a new version that fails its health check: rolled back by the circuit breaker, exit 1 with ECS\'s reason, the state back on the old revision', async () => {
    const clock = world.clock;
    failingRollout(world);
    const s = session(clock);
    // The old version keeps answering throughout.
    const report = (await runDeploy(s, deployOptions({ appVersion: '3' }), appDir, { startProber: cannedProber(() => '1.0'), url: 'http://127.0.0.1:9' })) as { changed: true; report: import('../../../src/deploy/report.js').RolloutReport };

    expect(report.report).toMatchObject({
      outcome: 'rolled back',
      rolloutSeconds: 10,
      passed: false,
      rollback: {
        reason: 'ECS deployment circuit breaker: tasks failed to start.',
        rollbackReason: 'ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/1.',
        deploymentId: 'ecs-svc/3',
        taskDefinition: td(1),
        completed: true,
        failedTasks: ['c', 'd', 'e'].map((id) => ({ id, reason: `Task failed ELB health checks in (target-group ${TG})` })),
      },
      userSaw: { failures: 0 },
      versions: [{ version: '1.0', share: 1 }],
    });
    expect(report.report.verdict).toBe('rolled back by ECS: ECS deployment circuit breaker: tasks failed to start. (Task failed ELB health checks in (target-group demo-tg)); the service runs demo:1 again; 0 of 16 requests failed');
    expect(() => concludeRollout(s, report.report)).toThrow(expect.objectContaining({ exitCode: ExitCode.failed, resultPrinted: true, message: `deploy failed: ${report.report.verdict}` }));
    expect(readState().resources.taskDefinition).toMatchObject({ id: td(1), details: { appVersion: '1.0' } });
    expect(out.join('')).toContain('  rollback:    ECS deployment circuit breaker: tasks failed to start.; ecs-svc/3: ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/1.\n');
  });

  it('fails when more requests failed than --max-failures, though the deployment completed', async () => {
    cleanRollout(world);
    const s = session(world.clock);
    const prober = cannedProber((t) => (t === 6 || t === 7 ? undefined : t < 6 ? '1.0' : '2'));
    const result = await runDeploy(s, deployOptions({ appVersion: '2', maxFailures: '1' }), appDir, { startProber: prober, url: 'http://127.0.0.1:9' });
    if (!result.changed) throw new Error('expected a rollout');
    expect(result.report).toMatchObject({ outcome: 'completed', passed: false, userSaw: { failures: 2, failuresByKind: { http_error: 2 } } });
    expect(result.report.verdict).toBe('deployment ecs-svc/2 completed in 8.0s, but 2 of 14 requests failed, more than --max-failures 1');
    // From the success before (sent at +5 s, done 11 ms later) to the end of the window at +8 s.
    expect(result.report.phases.during).toMatchObject({ failures: 2, longestOutageMs: 2_989 });
    expect(result.report.userSaw.longestOutageMs).toBe(3_000);
    expect(result.report.failedRequests).toEqual([6, 7].map((seconds) => ({ seconds, outcome: 'http_error', status: 502, error: 'HTTP 502' })));
  });

  it('gives up following at --timeout: timed out, what was still going on, exit 1; the state names the revision ECS is deploying', async () => {
    world.script = [{ at: 1, change: (x) => x.tasks.push({ id: 'c', rev: 2, lastStatus: 'PENDING', desiredStatus: 'RUNNING', ip: '10.0.1.3' }) }];
    const s = session(world.clock);
    const result = await runDeploy(s, deployOptions({ appVersion: '2', timeout: '5' }), appDir, { startProber: cannedProber(() => '1.0'), url: 'http://127.0.0.1:9' });
    if (!result.changed) throw new Error('expected a rollout');
    expect(result.report).toMatchObject({ outcome: 'timed out', passed: false, rolloutSeconds: null, phases: { after: null } });
    expect(result.report.lastSeen).toEqual(['deployment ecs-svc/2 (demo:2) IN_PROGRESS: 0/2 running', '2 deployments']);
    expect(world.clock.now() - 1_000_000).toBe(T0_OFFSET + 5_000); // no settle after a timeout
    expect(readState().resources.taskDefinition!.id).toBe(td(2));
  });

  it('Ctrl-C while following: stops probing, the partial report is written, exit 130; ECS carries on', async () => {
    const base = world.clock;
    const controller = new AbortController();
    world = Object.assign(world, {
      clock: {
        now: base.now,
        sleep: async (ms: number) => {
          await base.sleep(ms);
          if (base.now() - 1_000_000 >= T0_OFFSET + 4_000) controller.abort();
        },
      },
    });
    cleanRollout(world);
    const prober = cannedProber(() => '1.0');
    const s = session(world.clock, { signal: controller.signal });
    const result = await runDeploy(s, deployOptions({ appVersion: '2' }), appDir, { startProber: prober, url: 'http://127.0.0.1:9' });
    if (!result.changed) throw new Error('expected a rollout');

    expect(prober.stopped).toBe(1);
    expect(result.report).toMatchObject({ interrupted: true, outcome: 'interrupted', passed: false, verdict: 'interrupted before deployment ecs-svc/2 finished (it goes on in ECS); 0 of 7 requests failed' });
    expect(() => concludeRollout(s, result.report)).toThrow(expect.objectContaining({ exitCode: ExitCode.interrupted, message: expect.stringContaining('the deployment goes on in ECS') }));
    expect(reportFiles()).toEqual(['demo-deploy-19700101T001640Z.html', 'demo-deploy-19700101T001640Z.json']);
    expect(readState().resources.taskDefinition!.id).toBe(td(2));
  });

  it('nothing to deploy (same version, same folder): says so, registers nothing, never touches the service, writes no report', async () => {
    const s = session(world.clock);
    const result = await runDeploy(s, deployOptions(), appDir, { startProber: cannedProber(() => '1.0'), url: 'http://127.0.0.1:9' });
    expect(result).toEqual({ changed: false, stack: 'demo', service: 'demo', taskDefinition: 'demo:1', appVersion: '1.0', image: image1 });
    expect(ecs.commandCalls(RegisterTaskDefinitionCommand)).toHaveLength(0);
    expect(world.updates).toEqual([]);
    expect(reportFiles()).toEqual([]);
    expect(readState().resources.taskDefinition!.id).toBe(td(1));
  });

  it('refuses while another deployment is under way, before changing anything', async () => {
    world.deploy(1, 'ecs-svc/other');
    const s = session(world.clock);
    await expect(runDeploy(s, deployOptions({ appVersion: '2' }), appDir)).rejects.toMatchObject({ exitCode: ExitCode.failed, message: expect.stringContaining('has a deployment in progress (ecs-svc/other, 2 deployments)') });
    expect(ecs.commandCalls(RegisterTaskDefinitionCommand)).toHaveLength(0);
  });

  it('a failure before the update (the image step) leaves the state on the running revision', async () => {
    const s = session(world.clock);
    await expect(runDeploy(s, deployOptions({ appDir: join(appDir, 'missing') }), appDir)).rejects.toMatchObject({ exitCode: ExitCode.environment });
    expect(world.updates).toEqual([]);
    expect(readState().resources.taskDefinition).toMatchObject({ id: td(1), details: { appDir } });
  });
});

describe('rollback', () => {
  it('goes back to the previous ACTIVE revision, measured as a deployment; the state then names it and its release', async () => {
    world.revisions.push(revision(2, '2', image1));
    world.deployments = [{ id: 'ecs-svc/1', status: 'PRIMARY', rev: 2, rolloutState: 'COMPLETED' }];
    for (const t of world.tasks) t.rev = 2;
    const state = StateStore.open(stateDir, 'demo', ACCOUNT, REGION);
    state.record('taskDefinition', { id: td(2), arn: td(2), origin: 'created', details: { family: 'demo', appVersion: '2', image: image1, appDir } });
    // The same script, rolling demo:1 out over demo:2.
    cleanRollout(world);
    world.script[0] = { at: 1, change: (x) => x.tasks.push({ id: 'c', rev: 1, lastStatus: 'PROVISIONING', desiredStatus: 'RUNNING', ip: '10.0.1.3' }, { id: 'd', rev: 1, lastStatus: 'PROVISIONING', desiredStatus: 'RUNNING', ip: '10.0.2.4' }) };
    const s = session(world.clock);

    const report = await runRollback(s, parseMeasureOptions({ rps: '1', baseline: '2', settle: '0', timeout: '60', maxFailures: '0' }), appDir, { startProber: cannedProber((t) => (t < 6 ? '2' : '1.0')), url: 'http://127.0.0.1:9' });

    expect(world.updates).toEqual([{ cluster: 'demo', service: 'demo', taskDefinition: td(1) }]);
    expect(ecs.commandCalls(RegisterTaskDefinitionCommand)).toHaveLength(0);
    expect(report).toMatchObject({ command: 'rollback', outcome: 'completed', passed: true, from: { revision: 'demo:2', appVersion: '2' }, to: { revision: 'demo:1', appVersion: '1.0' } });
    expect(readState().resources.taskDefinition).toMatchObject({ id: td(1), details: { family: 'demo', appVersion: '1.0', image: image1, appDir } });
    expect(concludeRollout(s, report)).toBe(join(stateDir, 'reports', 'demo-rollback-19700101T001640Z.json'));
  });

  it('refuses when no earlier ACTIVE revision exists, without touching the service', async () => {
    const s = session(world.clock);
    await expect(runRollback(s, parseMeasureOptions({ rps: '1', baseline: '0', settle: '0', timeout: '60', maxFailures: '0' }), appDir)).rejects.toMatchObject({
      exitCode: ExitCode.failed,
      message: 'there is no ACTIVE revision of demo before demo:1, which service demo runs: nothing to roll back to',
    });
    expect(world.updates).toEqual([]);
  });
});
