/**
 * `deploy` and `rollback` on a stack built with a native strategy (`up --strategy blue-green|linear|canary`):
 * AWS is a scripted world (aws-sdk-client-mock) whose service deployment moves through ECS's lifecycle
 * stages at scripted seconds after UpdateService; the clock is fake and the prober canned.
 */
import {
  DescribeServiceDeploymentsCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  ListServiceDeploymentsCommand,
  ListTaskDefinitionsCommand,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
  type DeploymentConfiguration,
  type RegisterTaskDefinitionCommandInput,
  type ServiceDeploymentStatus,
  type TaskDefinition,
  type UpdateServiceCommandInput,
} from '@aws-sdk/client-ecs';
import { DescribeImagesCommand, DescribeRepositoriesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { DescribeTargetHealthCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { AwsClients } from '../../../src/aws/clients.js';
import type { ProberFactory } from '../../../src/chaos/run.js';
import type { Clock } from '../../../src/clock.js';
import { runDeploy, runRollback } from '../../../src/deploy/deploy.js';
import { parseDeployOptions, parseMeasureOptions, type DeployOptionInput } from '../../../src/deploy/options.js';
import { concludeRollout, type RolloutReport } from '../../../src/deploy/report.js';
import type { DeploymentSettings } from '../../../src/deploy/strategy.js';
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
const TG2 = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/demo-tg2/fedcba9876543210';
const RULE = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/demo-alb/1/2/3';
const INFRA = 'arn:aws:iam::123456789012:role/demo-us-east-1-ecs-infrastructure';
const ROLE = 'arn:aws:iam::123456789012:role/demo-us-east-1-task-execution';
const td = (n: number) => `arn:aws:ecs:us-east-1:${ACCOUNT}:task-definition/demo:${n}`;
const sd = (n: number) => `arn:aws:ecs:us-east-1:${ACCOUNT}:service-deployment/demo/demo/sd-${n}`;
const taskArn = (id: string) => `arn:aws:ecs:us-east-1:${ACCOUNT}:task/demo/${id}`;
const IN_FLIGHT = ['PENDING', 'IN_PROGRESS', 'STOP_REQUESTED', 'ROLLBACK_REQUESTED', 'ROLLBACK_IN_PROGRESS'];

interface WorldTask {
  id: string;
  rev: number;
  lastStatus: string;
  desiredStatus: string;
  ip: string;
  stoppedReason?: string;
}

interface WorldServiceDeployment {
  arn: string;
  createdAt: Date;
  status: ServiceDeploymentStatus;
  statusReason?: string;
  lifecycleStage?: string;
  weight?: number;
  rollback?: { reason: string; startedAt: Date; serviceRevisionArn: string };
}

/** A service deploying natively, as ECS shows it; `script` entries apply once `at` seconds passed since UpdateService. */
class World {
  revisions: TaskDefinition[] = [];
  rev = 1;
  configuration: DeploymentConfiguration;
  serviceDeployments: WorldServiceDeployment[] = [{ arn: sd(1), createdAt: new Date(0), status: 'SUCCESSFUL', lifecycleStage: 'CLEAN_UP' }];
  rolloutState = 'COMPLETED';
  tasks: WorldTask[] = [
    { id: 'a', rev: 1, lastStatus: 'RUNNING', desiredStatus: 'RUNNING', ip: '10.0.1.1' },
    { id: 'b', rev: 1, lastStatus: 'RUNNING', desiredStatus: 'RUNNING', ip: '10.0.2.2' },
  ];
  targets = new Map<string, Map<string, string>>([
    [TG, new Map([['10.0.1.1', 'healthy'], ['10.0.2.2', 'healthy']])],
    [TG2, new Map()],
  ]);
  updates: UpdateServiceCommandInput[] = [];
  t0: number | undefined;
  script: Array<{ at: number; change: (w: World) => void }> = [];

  constructor(
    readonly clock: Clock,
    configuration: DeploymentConfiguration,
  ) {
    this.configuration = configuration;
  }

  get current(): WorldServiceDeployment {
    return this.serviceDeployments[0]!;
  }
  task(id: string): WorldTask {
    return this.tasks.find((t) => t.id === id)!;
  }
  /** The current service deployment moves on. */
  stage(lifecycleStage: string, more: Partial<WorldServiceDeployment> = {}): void {
    Object.assign(this.current, { status: 'IN_PROGRESS', lifecycleStage }, more);
  }
  advance(): void {
    if (this.t0 === undefined) return;
    const elapsed = (this.clock.now() - this.t0) / 1000;
    while (this.script.length > 0 && this.script[0]!.at <= elapsed) this.script.shift()!.change(this);
  }
  service() {
    const live = this.tasks.filter((t) => t.desiredStatus === 'RUNNING');
    const running = live.filter((t) => t.lastStatus === 'RUNNING').length;
    return {
      serviceName: 'demo',
      serviceArn: 'arn:aws:ecs:us-east-1:123456789012:service/demo/demo',
      status: 'ACTIVE',
      desiredCount: 2,
      runningCount: running,
      pendingCount: live.length - running,
      taskDefinition: td(this.rev),
      healthCheckGracePeriodSeconds: 30,
      deploymentConfiguration: this.configuration,
      loadBalancers: [{ targetGroupArn: TG, containerName: 'app', containerPort: 8080, advancedConfiguration: { alternateTargetGroupArn: TG2, productionListenerRule: RULE, roleArn: INFRA } }],
      currentServiceDeployment: this.current.arn,
      deployments: [{ id: 'ecs-svc/x', status: 'PRIMARY', taskDefinition: td(this.rev), rolloutState: this.rolloutState, desiredCount: 2, runningCount: running, pendingCount: 0 }],
      events: [],
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
  ecs.on(ListServiceDeploymentsCommand).callsFake((input: { status?: string[] }) => {
    world.advance();
    return {
      serviceDeployments: world.serviceDeployments
        .filter((d) => !input.status || input.status.includes(d.status))
        .map((d) => ({ serviceDeploymentArn: d.arn, serviceArn: 'arn:aws:ecs:us-east-1:123456789012:service/demo/demo', clusterArn: 'arn:aws:ecs:us-east-1:123456789012:cluster/demo', createdAt: d.createdAt, status: d.status, statusReason: d.statusReason })),
    };
  });
  ecs.on(DescribeServiceDeploymentsCommand).callsFake((input: { serviceDeploymentArns: string[] }) => {
    world.advance();
    return {
      serviceDeployments: world.serviceDeployments
        .filter((d) => input.serviceDeploymentArns.includes(d.arn))
        .map((d) => ({
          serviceDeploymentArn: d.arn,
          createdAt: d.createdAt,
          status: d.status,
          statusReason: d.statusReason,
          lifecycleStage: d.lifecycleStage,
          targetServiceRevision: { arn: `${d.arn}-revision`, requestedTaskCount: 2, ...(d.weight !== undefined ? { requestedProductionTrafficWeight: d.weight } : {}) },
          deploymentConfiguration: world.configuration,
          ...(d.rollback ? { rollback: d.rollback } : {}),
        })),
    };
  });
  ecs.on(DescribeTaskDefinitionCommand).callsFake((input: { taskDefinition: string }) => {
    const found = world.revisions.find((r) => r.taskDefinitionArn === input.taskDefinition);
    if (!found) throw Object.assign(new Error('Unable to describe task definition.'), { name: 'ClientException', $fault: 'client', $metadata: {} });
    return { taskDefinition: found, tags: [{ key: 'ecs-ha:stack', value: 'demo' }] };
  });
  ecs.on(RegisterTaskDefinitionCommand).callsFake((input: RegisterTaskDefinitionCommandInput) => {
    const n = world.revisions.length + 1;
    const registered = { ...revision(n, '', ''), containerDefinitions: input.containerDefinitions };
    world.revisions.push(registered);
    return { taskDefinition: registered };
  });
  ecs.on(UpdateServiceCommand).callsFake((input: UpdateServiceCommandInput) => {
    world.updates.push(input);
    world.t0 = world.clock.now();
    if (input.deploymentConfiguration) world.configuration = input.deploymentConfiguration;
    world.rev = Number(input.taskDefinition!.split(':').pop());
    world.rolloutState = 'IN_PROGRESS';
    world.serviceDeployments.unshift({ arn: sd(world.serviceDeployments.length + 1), createdAt: new Date(world.clock.now()), status: 'PENDING' });
    return { service: world.service() };
  });
  ecs.on(ListTaskDefinitionsCommand).callsFake(() => ({ taskDefinitionArns: world.revisions.map((r) => r.taskDefinitionArn!).reverse() }));
  ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [{ repositoryName: 'demo', repositoryArn: 'arn:aws:ecr:us-east-1:123456789012:repository/demo', repositoryUri: REPOSITORY_URI }] });
  ecr.on(DescribeImagesCommand).rejects(Object.assign(new Error('not found'), { name: 'ImageNotFoundException', $fault: 'client', $metadata: {} }));
  elbv2.on(DescribeTargetHealthCommand).callsFake((input: { TargetGroupArn: string }) => {
    world.advance();
    return { TargetHealthDescriptions: [...(world.targets.get(input.TargetGroupArn) ?? [])].map(([ip, State]) => ({ Target: { Id: ip, Port: 8080 }, TargetHealth: { State } })) };
  });
}

/** Requests once a second from the start of probing (the update 2 s later); `version(secondsAfterUpdate)` says who answered. */
function cannedProber(version: (secondsAfterUpdate: number) => string | undefined): ProberFactory {
  return ({ baseUrl, rps, clock }) => {
    const start = clock.now();
    const records = (end: number): ProbeRecord[] =>
      Array.from({ length: Math.floor((end - start) / 1000) + 1 }, (_, s) => {
        const v = version(s - 2);
        return v
          ? { startedAt: start + s * 1000, latencyMs: 10, outcome: 'ok' as const, status: 200, backend: { hostname: `ip-${s % 2}`, version: v } }
          : { startedAt: start + s * 1000, latencyMs: 2, outcome: 'http_error' as const, status: 502, error: 'HTTP 502' };
      });
    return {
      url: baseUrl,
      snapshot: () => summarize(records(clock.now()), { start, end: clock.now() }),
      stop: async () => {
        const end = clock.now();
        const all = records(end);
        return { url: baseUrl, rps, timeoutMs: 2000, maxInFlight: 20, startedAt: start, endedAt: end, records: all, summary: summarize(all, { start, end }), peakInFlight: 1, skipped: { inFlightCap: 0, late: 0 } };
      },
    };
  };
}

function session(clock: Clock, local = false): Session {
  const sink = (lines: string[]) => ({ write: (text: string) => lines.push(text) > 0 }) as unknown as NodeJS.WritableStream;
  return {
    stack: 'demo',
    stateDir,
    local,
    json: false,
    aws: new AwsClients({ region: REGION, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 }),
    reporter: createReporter({ json: false, interactive: false, stdout: sink(out), stderr: sink(err) }),
    clock,
    runner: scriptedRunner(),
    signal: new AbortController().signal,
  };
}

const deployOptions = (input: Partial<DeployOptionInput> = {}) => parseDeployOptions({ rps: '1', baseline: '2', settle: '0', timeout: '120', maxFailures: '0', ...input }, 'demo');
const lifecycle = (report: RolloutReport) => report.timeline.filter((e) => e.event === 'lifecycle stage').map((e) => `${e.seconds} ${e.detail}`);
const outline = (report: RolloutReport) =>
  report.timeline.filter((e) => ['deployment started', 'deployment completed', 'deployment failed', 'rollback started', 'rollback completed', 'rollback failed'].includes(e.event)).map((e) => `${e.seconds} ${e.event}: ${e.detail}`);
const readState = () => JSON.parse(readFileSync(join(stateDir, 'demo.json'), 'utf8')) as { resources: Record<string, { id: string; details?: Record<string, unknown> }> };

/** A stack `up --strategy` built: the service record remembers the strategy; the second target group, listener rule and role exist. */
function stackWith(deployment: DeploymentSettings, configuration: DeploymentConfiguration): void {
  world = new World(fakeClock(), configuration);
  world.revisions.push(revision(1, '1.0', image1));
  const state = StateStore.open(stateDir, 'demo', ACCOUNT, REGION);
  state.record('cluster', { id: 'demo', origin: 'created' });
  state.record('service', { id: 'demo', origin: 'created', details: { cluster: 'demo', deployment } });
  state.record('targetGroup', { id: TG, origin: 'created' });
  state.record('alternateTargetGroup', { id: TG2, origin: 'created' });
  state.record('listenerRule', { id: RULE, arn: RULE, origin: 'created' });
  state.record('infrastructureRole', { id: 'demo-us-east-1-ecs-infrastructure', arn: INFRA, origin: 'created' });
  state.record('loadBalancer', { id: 'arn:lb', origin: 'created', details: { dnsName: 'demo-alb-1.us-east-1.elb.amazonaws.com' } });
  state.record('executionRole', { id: 'demo-us-east-1-task-execution', arn: ROLE, origin: 'created' });
  state.record('logGroup', { id: '/ecs/demo', origin: 'created' });
  state.record('repository', { id: 'demo', origin: 'created', details: { uri: REPOSITORY_URI } });
  state.record('image', { id: image1, origin: 'created', details: { pushed: false } });
  state.record('taskDefinition', { id: td(1), arn: td(1), origin: 'created', details: { family: 'demo', appVersion: '1.0', image: image1, appDir } });
}

/** The new revision's tasks c, d start at `at` in the second target group and are healthy 2 s later. */
function greenTasks(at: number, rev = 2): Array<{ at: number; change: (w: World) => void }> {
  return [
    {
      at,
      change: (x) => {
        x.stage('SCALE_UP');
        x.tasks.push({ id: 'c', rev, lastStatus: 'PROVISIONING', desiredStatus: 'RUNNING', ip: '10.0.1.3' }, { id: 'd', rev, lastStatus: 'PROVISIONING', desiredStatus: 'RUNNING', ip: '10.0.2.4' });
        x.targets.get(TG2)!.set('10.0.1.3', 'initial').set('10.0.2.4', 'initial');
      },
    },
    {
      at: at + 2,
      change: (x) => {
        x.stage('POST_SCALE_UP');
        for (const id of ['c', 'd']) x.task(id).lastStatus = 'RUNNING';
        x.targets.get(TG2)!.set('10.0.1.3', 'healthy').set('10.0.2.4', 'healthy');
      },
    },
  ];
}

/** CLEAN_UP at `at`: the old tasks a, b stop, their targets drain; SUCCESSFUL 2 s later. */
function cleanUp(at: number): Array<{ at: number; change: (w: World) => void }> {
  return [
    {
      at,
      change: (x) => {
        x.stage('CLEAN_UP');
        for (const id of ['a', 'b']) Object.assign(x.task(id), { desiredStatus: 'STOPPED', lastStatus: 'DEACTIVATING', stoppedReason: 'Scaling activity initiated by (deployment ecs-svc/x)' });
        x.targets.get(TG)!.set('10.0.1.1', 'draining').set('10.0.2.2', 'draining');
      },
    },
    {
      at: at + 2,
      change: (x) => {
        for (const id of ['a', 'b']) x.task(id).lastStatus = 'STOPPED';
        x.targets.get(TG)!.clear();
        Object.assign(x.current, { status: 'SUCCESSFUL' });
        x.rolloutState = 'COMPLETED';
      },
    },
  ];
}

beforeEach(() => {
  for (const mock of [ecs, ecr, elbv2, sts]) mock.reset();
  sts.on(GetCallerIdentityCommand).resolves({ Account: ACCOUNT });
  mockWorld();
  out = [];
  err = [];
  stateDir = mkdtempSync(join(tmpdir(), 'ecs-ha-native-'));
  appDir = mkdtempSync(join(tmpdir(), 'ecs-ha-app-'));
  writeFileSync(join(appDir, 'Dockerfile'), 'FROM python:3.12-slim\nCMD ["gunicorn", "app:app"]\n');
  image1 = `${REPOSITORY_URI}:${imageTagFor(contentHash(appDir, 'x86_64'), 'x86_64')}`;
});

/** Every ListServiceDeployments / DescribeServiceDeployments request of the run. */
function serviceDeploymentRequests() {
  return {
    listed: ecs.commandCalls(ListServiceDeploymentsCommand).map((call) => call.args[0].input),
    described: ecs.commandCalls(DescribeServiceDeploymentsCommand).map((call) => call.args[0].input),
  };
}

describe('deploy on a blue/green stack', () => {
  it('follows the service deployment through its lifecycle stages to SUCCESSFUL: every stage in the timeline, both target groups read, PASS', async () => {
    stackWith({ strategy: 'blue-green', bakeMinutes: 2 }, { strategy: 'BLUE_GREEN', bakeTimeInMinutes: 2 });
    world.script = [
      { at: 1, change: (x) => x.stage('RECONCILE_SERVICE') },
      { at: 2, change: (x) => x.stage('PRE_SCALE_UP') },
      ...greenTasks(3),
      { at: 6, change: (x) => x.stage('TEST_TRAFFIC_SHIFT', { weight: 0 }) },
      { at: 7, change: (x) => x.stage('POST_TEST_TRAFFIC_SHIFT') },
      { at: 8, change: (x) => x.stage('PRODUCTION_TRAFFIC_SHIFT', { weight: 100 }) },
      { at: 9, change: (x) => x.stage('POST_PRODUCTION_TRAFFIC_SHIFT') },
      { at: 10, change: (x) => x.stage('BAKE_TIME') },
      ...cleanUp(14),
    ];
    const s = session(world.clock);
    const result = await runDeploy(s, deployOptions({ image: `${REPOSITORY_URI}:v2` }), appDir, { startProber: cannedProber((t) => (t < 8 ? '1.0' : '2')), url: 'http://127.0.0.1:9' });
    if (!result.changed) throw new Error('expected a rollout');
    const { report } = result;

    // The strategy's settings did not change: the update names the revision only.
    expect(world.updates).toEqual([{ cluster: 'demo', service: 'demo', taskDefinition: td(2) }]);
    expect(lifecycle(report)).toEqual([
      '1 RECONCILE_SERVICE',
      '2 PRE_SCALE_UP',
      '3 SCALE_UP',
      '5 POST_SCALE_UP',
      '6 TEST_TRAFFIC_SHIFT',
      '7 POST_TEST_TRAFFIC_SHIFT',
      '8 PRODUCTION_TRAFFIC_SHIFT, 100% of production traffic to the new revision',
      '9 POST_PRODUCTION_TRAFFIC_SHIFT',
      '10 BAKE_TIME',
      '14 CLEAN_UP',
    ]);
    expect(outline(report)).toEqual([`0 deployment started: ${sd(2)}`, '16 deployment completed: sd-2']);
    // The new tasks turned healthy in the second target group.
    expect(report.timeline.filter((e) => e.event === 'task healthy').map((e) => `${e.seconds} ${e.taskId}`)).toEqual(['5 c', '5 d']);
    expect(report).toMatchObject({ strategy: 'blue-green', outcome: 'completed', deploymentId: 'sd-2', rolloutSeconds: 16, rollback: null, passed: true, verdict: 'deployment sd-2 completed in 16.0s; 0 of 19 requests failed (allowed 0)' });
    const { listed, described } = serviceDeploymentRequests();
    expect(listed.length).toBeGreaterThan(10);
    for (const input of listed) expect(input).toEqual({ cluster: 'demo', service: 'demo', status: IN_FLIGHT });
    // The service's current service deployment (ours, once updated) and the ones in flight, once each.
    for (const input of described) expect(input).toEqual({ serviceDeploymentArns: [sd(2)] });
    expect(new Set(elbv2.commandCalls(DescribeTargetHealthCommand).map((call) => call.args[0].input.TargetGroupArn))).toEqual(new Set([TG, TG2]));
    expect(concludeRollout(s, report)).toContain('demo-deploy-');
    expect(readState().resources.taskDefinition!.id).toBe(td(2));
  });
});

describe('deploy on a linear stack', () => {
  it('records PRODUCTION_TRAFFIC_SHIFT each time the traffic grows; --step-percent changes the deploymentConfiguration in the same UpdateService', async () => {
    stackWith({ strategy: 'linear', bakeMinutes: 2, stepPercent: 25, stepBakeMinutes: 2 }, { strategy: 'LINEAR', bakeTimeInMinutes: 2, linearConfiguration: { stepPercent: 25, stepBakeTimeInMinutes: 2 } });
    world.script = [
      ...greenTasks(1),
      { at: 4, change: (x) => x.stage('TEST_TRAFFIC_SHIFT') },
      { at: 5, change: (x) => x.stage('PRODUCTION_TRAFFIC_SHIFT', { weight: 50 }) },
      { at: 7, change: (x) => x.stage('PRODUCTION_TRAFFIC_SHIFT', { weight: 100 }) },
      { at: 8, change: (x) => x.stage('POST_PRODUCTION_TRAFFIC_SHIFT') },
      { at: 9, change: (x) => x.stage('BAKE_TIME') },
      ...cleanUp(11),
    ];
    const s = session(world.clock);
    const result = await runDeploy(s, deployOptions({ image: `${REPOSITORY_URI}:v2`, strategy: 'linear', stepPercent: '50' }), appDir, { startProber: cannedProber((t) => (t < 6 ? '1.0' : '2')), url: 'http://127.0.0.1:9' });
    if (!result.changed) throw new Error('expected a rollout');
    const { report } = result;

    // One UpdateService: the revision, and the stack's linear settings with the new step (the others kept).
    expect(world.updates).toEqual([
      {
        cluster: 'demo',
        service: 'demo',
        taskDefinition: td(2),
        deploymentConfiguration: { strategy: 'LINEAR', bakeTimeInMinutes: 2, linearConfiguration: { stepPercent: 50, stepBakeTimeInMinutes: 2 } },
        loadBalancers: [{ targetGroupArn: TG, containerName: 'app', containerPort: 8080, advancedConfiguration: { alternateTargetGroupArn: TG2, productionListenerRule: RULE, roleArn: INFRA } }],
      },
    ]);
    expect(lifecycle(report)).toEqual([
      '1 SCALE_UP',
      '3 POST_SCALE_UP',
      '4 TEST_TRAFFIC_SHIFT',
      '5 PRODUCTION_TRAFFIC_SHIFT, 50% of production traffic to the new revision',
      '7 PRODUCTION_TRAFFIC_SHIFT, 100% of production traffic to the new revision',
      '8 POST_PRODUCTION_TRAFFIC_SHIFT',
      '9 BAKE_TIME',
      '11 CLEAN_UP',
    ]);
    expect(report).toMatchObject({ strategy: 'linear', outcome: 'completed', deploymentId: 'sd-2', rolloutSeconds: 13, passed: true });
    const { listed, described } = serviceDeploymentRequests();
    for (const input of listed) expect(input).toEqual({ cluster: 'demo', service: 'demo', status: IN_FLIGHT });
    for (const input of described) expect(input).toEqual({ serviceDeploymentArns: [sd(2)] });
    // The stack now remembers the new step, so `up` and the next deploy keep it.
    expect(readState().resources.service!.details).toEqual({ cluster: 'demo', deployment: { strategy: 'linear', bakeMinutes: 2, stepPercent: 50, stepBakeMinutes: 2 } });
  });
});

describe('deploy on a canary stack', () => {
  const canary = (): void =>
    stackWith({ strategy: 'canary', bakeMinutes: 2, canaryPercent: 10, canaryBakeMinutes: 3 }, { strategy: 'CANARY', bakeTimeInMinutes: 2, canaryConfiguration: { canaryPercent: 10, canaryBakeTimeInMinutes: 3 } });
  const REASON = 'Service deployment rolled back because the circuit breaker threshold was exceeded.';
  const WHY = 'ECS deployment circuit breaker: tasks failed ELB health checks in (target-group demo-tg2)';

  it('a canary ECS rolls back: ROLLBACK_IN_PROGRESS → ROLLBACK_SUCCESSFUL, exit 1 with the reasons in the report, the state back on the old revision', async () => {
    canary();
    world.script = [
      ...greenTasks(1),
      { at: 4, change: (x) => x.stage('PRODUCTION_TRAFFIC_SHIFT', { weight: 10 }) },
      { at: 5, change: (x) => (x.stage('BAKE_TIME'), x.targets.get(TG2)!.set('10.0.1.3', 'unhealthy').set('10.0.2.4', 'unhealthy')) },
      {
        at: 7,
        change: (x) => {
          x.stage('PRODUCTION_TRAFFIC_SHIFT', { status: 'ROLLBACK_IN_PROGRESS', weight: 0, rollback: { reason: WHY, startedAt: new Date(x.clock.now()), serviceRevisionArn: `${sd(1)}-revision` } });
          x.rev = 1;
        },
      },
      {
        at: 9,
        change: (x) => {
          for (const id of ['c', 'd']) Object.assign(x.task(id), { desiredStatus: 'STOPPED', lastStatus: 'STOPPED', stoppedReason: 'Scaling activity initiated by (deployment ecs-svc/x)' });
          x.targets.get(TG2)!.clear();
          Object.assign(x.current, { status: 'ROLLBACK_SUCCESSFUL', statusReason: REASON, lifecycleStage: 'CLEAN_UP' });
          x.rolloutState = 'COMPLETED';
        },
      },
    ];
    const s = session(world.clock);
    const result = await runDeploy(s, deployOptions({ image: `${REPOSITORY_URI}:v2` }), appDir, { startProber: cannedProber(() => '1.0'), url: 'http://127.0.0.1:9' });
    if (!result.changed) throw new Error('expected a rollout');
    const { report } = result;

    expect(lifecycle(report)).toEqual(['1 SCALE_UP', '3 POST_SCALE_UP', '4 PRODUCTION_TRAFFIC_SHIFT, 10% of production traffic to the new revision', '5 BAKE_TIME', '7 PRODUCTION_TRAFFIC_SHIFT, 0% of production traffic to the new revision', '9 CLEAN_UP']);
    expect(outline(report)).toEqual([
      `0 deployment started: ${sd(2)}`,
      `7 deployment failed: ${WHY}`,
      `7 rollback started: ${WHY}; traffic back to demo:1`,
      `9 rollback completed: demo:1 runs again: ${REASON}`,
    ]);
    expect(report).toMatchObject({
      strategy: 'canary',
      outcome: 'rolled back',
      rolloutSeconds: 9,
      passed: false,
      rollback: { reason: WHY, rollbackReason: REASON, deploymentId: 'sd-2', taskDefinition: td(1), completed: true, failedTasks: [] },
    });
    expect(report.verdict).toBe(`rolled back by ECS: ${WHY}; the service runs demo:1 again; 0 of 12 requests failed`);
    const { listed, described } = serviceDeploymentRequests();
    for (const input of listed) expect(input).toEqual({ cluster: 'demo', service: 'demo', status: IN_FLIGHT });
    for (const input of described) expect(input).toEqual({ serviceDeploymentArns: [sd(2)] });
    expect(() => concludeRollout(s, report)).toThrow(expect.objectContaining({ exitCode: ExitCode.failed, message: `deploy failed: ${report.verdict}` }));
    expect(out.join('')).toContain(REASON);
    expect(readState().resources.taskDefinition!.id).toBe(td(1));
  });

  it('a rollback ECS could not finish (ROLLBACK_FAILED) is a failure, not a rollback', async () => {
    canary();
    world.script = [
      ...greenTasks(1),
      { at: 4, change: (x) => x.stage('PRODUCTION_TRAFFIC_SHIFT', { status: 'ROLLBACK_IN_PROGRESS', rollback: { reason: WHY, startedAt: new Date(x.clock.now()), serviceRevisionArn: 'r1' } }) },
      { at: 6, change: (x) => Object.assign(x.current, { status: 'ROLLBACK_FAILED', statusReason: 'the listener rule was deleted' }) },
    ];
    const s = session(world.clock);
    const result = await runDeploy(s, deployOptions({ image: `${REPOSITORY_URI}:v2` }), appDir, { startProber: cannedProber(() => '1.0'), url: 'http://127.0.0.1:9' });
    if (!result.changed) throw new Error('expected a rollout');
    expect(result.report).toMatchObject({ outcome: 'failed', rolloutSeconds: 6, passed: false, rollback: { completed: false } });
    expect(result.report.verdict).toBe(`deployment sd-2 failed: ${WHY}; the rollback failed: the listener rule was deleted; 0 of 9 requests failed`);
  });

  it('rollback on a canary stack follows its service deployment the same way', async () => {
    canary();
    world.revisions.push(revision(2, '2', image1));
    world.rev = 2;
    for (const t of world.tasks) t.rev = 2;
    StateStore.open(stateDir, 'demo', ACCOUNT, REGION).record('taskDefinition', { id: td(2), arn: td(2), origin: 'created', details: { family: 'demo', appVersion: '2', image: image1, appDir } });
    world.script = [...greenTasks(1, 1), { at: 4, change: (x) => x.stage('PRODUCTION_TRAFFIC_SHIFT', { weight: 10 }) }, { at: 5, change: (x) => x.stage('PRODUCTION_TRAFFIC_SHIFT', { weight: 100 }) }, ...cleanUp(6)];
    const s = session(world.clock);
    const report = await runRollback(s, parseMeasureOptions({ rps: '1', baseline: '2', settle: '0', timeout: '60', maxFailures: '0' }), appDir, { startProber: cannedProber(() => '2'), url: 'http://127.0.0.1:9' });
    expect(world.updates).toEqual([{ cluster: 'demo', service: 'demo', taskDefinition: td(1) }]);
    expect(report).toMatchObject({ command: 'rollback', strategy: 'canary', outcome: 'completed', rolloutSeconds: 8, passed: true });
    expect(lifecycle(report)).toEqual(['1 SCALE_UP', '3 POST_SCALE_UP', '4 PRODUCTION_TRAFFIC_SHIFT, 10% of production traffic to the new revision', '5 PRODUCTION_TRAFFIC_SHIFT, 100% of production traffic to the new revision', '6 CLEAN_UP']);
  });
});

describe('deploy --strategy refusals', () => {
  it.each([
    ['blue-green', 'rolling'],
    ['canary', 'blue-green, bake 2 min'],
  ])('--strategy %s on a stack that deploys %s: exit 2 naming the `up` to run, before any ECS call', async (strategy, stackDeploys) => {
    stackWith(stackDeploys === 'rolling' ? { strategy: 'rolling' } : { strategy: 'blue-green', bakeMinutes: 2 }, {});
    const s = session(world.clock);
    await expect(runDeploy(s, deployOptions({ appVersion: '2', strategy }), appDir)).rejects.toMatchObject({
      exitCode: ExitCode.usage,
      message: expect.stringContaining(`stack "demo" deploys ${stackDeploys}; `),
      hint: expect.stringContaining(`ecs-ha up --stack demo --strategy ${strategy}`),
    });
    expect(ecs.calls()).toHaveLength(0);
    expect(elbv2.calls()).toHaveLength(0);
  });

  it('a stack that records no strategy deploys rolling: --strategy linear names `up --strategy linear`', async () => {
    stackWith({ strategy: 'rolling' }, {});
    StateStore.open(stateDir, 'demo', ACCOUNT, REGION).record('service', { id: 'demo', origin: 'created', details: { cluster: 'demo' } });
    await expect(runDeploy(session(world.clock), deployOptions({ strategy: 'linear' }), appDir)).rejects.toMatchObject({ exitCode: ExitCode.usage, message: expect.stringContaining('`ecs-ha up --stack demo --strategy linear`') });
    expect(ecs.calls()).toHaveLength(0);
  });

  it('--local on a stack that records a native strategy: exit 2 (the local data plane deploys rolling only), deploy and rollback alike', async () => {
    stackWith({ strategy: 'blue-green', bakeMinutes: 2 }, { strategy: 'BLUE_GREEN', bakeTimeInMinutes: 2 });
    await expect(runDeploy(session(world.clock, true), deployOptions({ appVersion: '2' }), appDir)).rejects.toMatchObject({ exitCode: ExitCode.usage, message: expect.stringContaining('the local data plane deploys rolling only') });
    await expect(runRollback(session(world.clock, true), parseMeasureOptions({ rps: '1', baseline: '0', settle: '0', timeout: '60', maxFailures: '0' }), appDir)).rejects.toMatchObject({ exitCode: ExitCode.usage });
    expect(ecs.calls()).toHaveLength(0);
  });
});
