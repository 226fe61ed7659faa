/**
 * The local AWS endpoint over real HTTP on 127.0.0.1: the real SDK clients call it, a small fake
 * "moto" HTTP server behind it records every request it gets and answers from a script, and a real
 * Scheduler (its world read from the fake moto, its task lifecycle driven by hand) owns the tasks.
 */
import { CloudWatchLogsClient, CreateLogGroupCommand, DescribeLogGroupsCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  CreateServiceCommand,
  DeleteServiceCommand,
  DescribeClustersCommand,
  DescribeServicesCommand,
  DescribeTasksCommand,
  ECSClient,
  ListTasksCommand,
  type ListTasksCommandInput,
  type Service,
  StopTaskCommand,
  type TaskDefinition,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import {
  CreateLoadBalancerCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { AwsClients } from '../../../src/aws/clients.js';
import { Balancers } from '../../../src/local/plane/balancers.js';
import { LocalEndpoint } from '../../../src/local/plane/endpoint.js';
import type { TaskLifecycle, TaskPlan } from '../../../src/local/plane/lifecycle.js';
import type { LocalTask, StopCode } from '../../../src/local/plane/model.js';
import { Scheduler } from '../../../src/local/plane/scheduler.js';
import { planeClock, type TargetHealthView } from '../../../src/local/plane/types.js';
import type { MotoWorld, ServiceView } from '../../../src/local/plane/world.js';
import { freePort } from '../../fixtures/probe/servers.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const CLUSTER_ARN = `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/demo`;
const serviceArn = (name: string): string => `arn:aws:ecs:${REGION}:${ACCOUNT}:service/demo/${name}`;
const TD1 = `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/demo:1`;
const TG = `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:targetgroup/demo-tg/0123456789abcdef`;
const OTHER_TG = `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:targetgroup/other-tg/fedcba9876543210`;
const ZONES: Record<string, string> = { 'subnet-aaa': 'us-east-1a', 'subnet-bbb': 'us-east-1b' };
const SDK = { region: REGION, credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1 };
const ELB_NS = 'http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/';

let PORT = 0;
beforeAll(async () => {
  PORT = await freePort();
});

// ---- the fake moto ----

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The X-Amz-Target operation or the query Action. */
  operation: string;
}

interface Answer {
  status: number;
  headers?: Record<string, string>;
  body: string | Buffer;
}

interface MotoService {
  json: Json;
  /** Put straight into moto: the scheduler's world does not report it (a service it has not read yet). */
  seeded: boolean;
}

const lastPart = (ref: string): string => ref.split('/').pop() ?? ref;
const jsonAnswer = (value: unknown, status = 200): Answer => ({ status, headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': 'moto-request' }, body: JSON.stringify(value) });
const xmlAnswer = (body: string, status = 200): Answer => ({ status, headers: { 'content-type': 'text/xml' }, body });

/** Records every request; answers ECS service calls from its own little state, anything else from `script`. */
class FakeMoto {
  readonly received: Received[] = [];
  readonly services = new Map<string, MotoService>();
  readonly script = new Map<string, (request: Received) => Answer>();
  private server: Server | undefined;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const target = req.headers['x-amz-target'];
        const operation = typeof target === 'string' ? (target.split('.')[1] ?? '') : (new URLSearchParams(body.toString('utf8')).get('Action') ?? '');
        const received: Received = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, operation };
        this.received.push(received);
        let answer: Answer;
        try {
          const isEcs = typeof target === 'string' && target.startsWith('AmazonEC2ContainerServiceV20141113.');
          answer = this.script.get(operation)?.(received) ?? (isEcs ? this.ecs(operation, body) : undefined) ?? jsonAnswer({ __type: 'NotScripted', message: operation }, 400);
        } catch (error) {
          answer = jsonAnswer({ __type: 'FakeMotoFailure', message: String(error) }, 500);
        }
        res.writeHead(answer.status, answer.headers ?? {});
        res.end(answer.body);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  operations(): string[] {
    return this.received.map((r) => r.operation);
  }

  seed(name: string, fields: Json): void {
    this.services.set(`demo/${name}`, { json: { ...this.serviceJson({ serviceName: name, taskDefinition: TD1, desiredCount: 1 }), ...fields }, seeded: true });
  }

  /** What moto keeps of a CreateService: no circuit breaker, no grace period, its own deployment. */
  private serviceJson(input: Json): Json {
    const taskDefinition = String(input.taskDefinition).startsWith('arn:') ? input.taskDefinition : `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/${input.taskDefinition}`;
    return {
      serviceArn: serviceArn(input.serviceName),
      serviceName: input.serviceName,
      clusterArn: CLUSTER_ARN,
      status: 'ACTIVE',
      desiredCount: input.desiredCount ?? 0,
      runningCount: 0,
      pendingCount: 0,
      launchType: 'FARGATE',
      taskDefinition,
      deploymentConfiguration: { maximumPercent: 200, minimumHealthyPercent: 100 },
      deployments: [{ id: 'ecs-svc/0000000000000000001', status: 'PRIMARY', taskDefinition, desiredCount: input.desiredCount ?? 0, runningCount: 0, pendingCount: 0, createdAt: 1_700_000_000, updatedAt: 1_700_000_000 }],
      events: [],
      createdAt: 1_700_000_000,
      networkConfiguration: input.networkConfiguration,
      loadBalancers: input.loadBalancers ?? [],
      schedulingStrategy: 'REPLICA',
    };
  }

  private ecs(operation: string, body: Buffer): Answer | undefined {
    const input = body.length > 0 ? (JSON.parse(body.toString('utf8')) as Json) : {};
    const find = (ref: string): MotoService | undefined => this.services.get(`demo/${lastPart(ref)}`);
    const notFound = (): Answer => jsonAnswer({ __type: 'ServiceNotFoundException', message: 'Service not found.' }, 400);
    switch (operation) {
      case 'CreateService': {
        const json = this.serviceJson(input);
        this.services.set(`demo/${input.serviceName}`, { json, seeded: false });
        return jsonAnswer({ service: json });
      }
      case 'UpdateService': {
        const found = find(input.service);
        if (!found || found.json.status !== 'ACTIVE') return notFound();
        if (input.desiredCount !== undefined) found.json.desiredCount = input.desiredCount;
        if (input.taskDefinition) found.json.taskDefinition = input.taskDefinition;
        return jsonAnswer({ service: found.json });
      }
      case 'DeleteService': {
        const found = find(input.service);
        if (!found) return notFound();
        found.json.status = 'INACTIVE';
        return jsonAnswer({ service: found.json });
      }
      case 'DescribeServices': {
        const services = (input.services as string[]).map((ref) => find(ref)?.json).filter(Boolean);
        return jsonAnswer({ services, failures: [] });
      }
      case 'DescribeClusters':
        return jsonAnswer({ clusters: [{ clusterArn: CLUSTER_ARN, clusterName: 'demo', status: 'ACTIVE', runningTasksCount: 0, pendingTasksCount: 0, activeServicesCount: 2 }], failures: [] });
    }
    return undefined;
  }
}

// ---- the scheduler's surroundings ----

class FakeLifecycle {
  readonly plans: TaskPlan[] = [];
  readonly stopped = new Set<string>();
  constructor(private readonly scheduler: () => Scheduler) {}

  start(plan: TaskPlan): Promise<void> {
    this.plans.push(plan);
    return Promise.resolve();
  }

  stop(task: LocalTask, code: StopCode, reason: string, options: { failed?: boolean } = {}): Promise<void> {
    if (this.stopped.has(task.arn)) return Promise.resolve();
    this.stopped.add(task.arn);
    Object.assign(task, { desiredStatus: 'STOPPED', stopCode: code, stoppedReason: reason, stoppingAt: Date.now(), failed: Boolean(options.failed) });
    if (task.lastStatus === 'RUNNING') task.lastStatus = 'DEACTIVATING';
    return Promise.resolve();
  }

  up(task: LocalTask): void {
    Object.assign(task, { lastStatus: 'RUNNING', pullStartedAt: Date.now(), pullStoppedAt: Date.now(), startedAt: Date.now(), connectivityAt: Date.now() });
  }

  finish(task: LocalTask): void {
    Object.assign(task, { lastStatus: 'STOPPED', stoppedAt: Date.now(), executionStoppedAt: Date.now() });
    this.scheduler().taskExited(task);
  }
}

/** Target groups and load balancer ports as the tests set them. */
function fakeBalancers() {
  const groups = new Map<string, TargetHealthView[]>();
  const ports = new Map<string, number>();
  const portCalls: string[] = [];
  let nextPort = 45_001;
  return {
    groups,
    portCalls,
    group: (arn: string) => {
      const views = groups.get(arn);
      return views ? { health: (id?: string) => views.filter((v) => id === undefined || v.id === id) } : undefined;
    },
    portFor: async (dnsName: string) => {
      portCalls.push(dnsName);
      if (!ports.has(dnsName)) ports.set(dnsName, nextPort++);
      return ports.get(dnsName)!;
    },
    syncTargetGroups: () => undefined,
    syncLoadBalancers: async () => undefined,
  };
}

// ---- per test ----

let moto: FakeMoto;
let scheduler: Scheduler;
let life: FakeLifecycle;
let balancers: ReturnType<typeof fakeBalancers>;
let endpoint: LocalEndpoint;
let url = '';
let logs: string[];
let ecs: ECSClient;
let elbv2: ElasticLoadBalancingV2Client;
const cleanups: Array<() => unknown> = [];

beforeEach(async () => {
  moto = new FakeMoto();
  await moto.start();
  balancers = fakeBalancers();
  logs = [];
  const world = {
    services: async (): Promise<ServiceView[]> =>
      [...moto.services.values()].filter((s) => !s.seeded && s.json.status === 'ACTIVE').map((s) => ({ clusterArn: CLUSTER_ARN, clusterName: 'demo', service: structuredClone(s.json) as Service })),
    taskDefinition: async (arn: string): Promise<TaskDefinition> => ({ taskDefinitionArn: arn, family: 'demo', revision: 1, containerDefinitions: [{ name: 'app', image: 'demo:1', portMappings: [{ containerPort: PORT }] }] }),
    zonesOf: async (ids: string[]) => new Map(ids.filter((id) => ZONES[id]).map((id) => [id, ZONES[id]!])),
    targetGroups: async () => [],
    loadBalancers: async () => [],
  };
  life = new FakeLifecycle(() => scheduler);
  scheduler = new Scheduler({
    world: world as unknown as MotoWorld,
    aws: new AwsClients({ ...SDK, endpointUrl: moto.url }),
    balancers: balancers as unknown as Balancers,
    clock: planeClock(1),
    account: ACCOUNT,
    region: REGION,
    appDir: '/srv/demo-app',
    platform: 'linux',
    freePort,
    lifecycle: () => life as unknown as TaskLifecycle,
    log: (line) => logs.push(line),
  });
  endpoint = new LocalEndpoint(moto.url, scheduler, balancers as unknown as Balancers);
  url = `http://127.0.0.1:${await endpoint.listen()}`;
  ecs = new ECSClient({ ...SDK, endpoint: url });
  elbv2 = new ElasticLoadBalancingV2Client({ ...SDK, endpoint: url });
  cleanups.push(
    () => moto.close(),
    () => endpoint.close(),
    () => scheduler.close(),
    () => ecs.destroy(),
    () => elbv2.destroy(),
  );
});

afterEach(async () => {
  while (cleanups.length > 0) await Promise.resolve(cleanups.pop()?.()).catch(() => undefined);
});

/** Waits until no reconcile pass runs or is due. */
async function settle(): Promise<void> {
  for (let quiet = 0, rounds = 0; quiet < 3; rounds++) {
    if (rounds > 200) throw new Error('the scheduler never settled');
    // A lifecycle hook may poke a new pass on the next turn: settled after three quiet turns.
    await new Promise((resolve) => setImmediate(resolve));
    if (scheduler.busy) {
      quiet = 0;
      await scheduler.idle();
    } else {
      quiet++;
    }
  }
  expect(logs.filter((line) => line.startsWith('reconcile failed'))).toEqual([]);
}

const NETWORK = { awsvpcConfiguration: { subnets: ['subnet-aaa', 'subnet-bbb'], assignPublicIp: 'ENABLED' as const } };

async function createService(name: string, desiredCount: number, extra: Json = {}): Promise<Service> {
  const { service } = await ecs.send(new CreateServiceCommand({ cluster: 'demo', serviceName: name, taskDefinition: 'demo:1', desiredCount, launchType: 'FARGATE', networkConfiguration: NETWORK, ...extra }));
  await settle();
  return service!;
}

const tasksOf = (name: string): LocalTask[] => scheduler.tasksOf(scheduler.service('demo', name)!);

interface HasStack {
  middlewareStack: { add(middleware: (next: (args: { request: unknown }) => Promise<unknown>) => (args: { request: unknown }) => Promise<unknown>, options: Record<string, unknown>): void };
}

/** The requests as the SDK put them on the wire: signed, right before sending. */
function recordSent(client: object): Array<{ headers: Record<string, string>; body: string }> {
  const sent: Array<{ headers: Record<string, string>; body: string }> = [];
  (client as HasStack).middlewareStack.add(
    (next) => async (args) => {
      const wire = args.request as { headers: Record<string, string>; body?: unknown };
      const body = wire.body instanceof Uint8Array ? Buffer.from(wire.body.buffer, wire.body.byteOffset, wire.body.byteLength).toString('utf8') : String(wire.body ?? '');
      sent.push({ headers: Object.fromEntries(Object.entries(wire.headers).map(([k, v]) => [k.toLowerCase(), v])), body });
      return next(args);
    },
    { step: 'deserialize', name: 'recordSent', priority: 'low' },
  );
  return sent;
}

/** Every header the SDK sent reached moto with the same value (Connection is per hop). */
function expectSameHeaders(received: Received, sent: { headers: Record<string, string> }): void {
  const hopByHop = new Set(['connection', 'keep-alive', 'transfer-encoding']);
  const wanted = Object.entries(sent.headers).filter(([name]) => !hopByHop.has(name));
  expect(wanted.map(([name]) => name)).toContain('authorization');
  for (const [name, value] of wanted) expect([name, received.headers[name]]).toEqual([name, value]);
}

describe('LocalEndpoint: ECS tasks come from the scheduler', () => {
  it('answers ListTasks and DescribeTasks from the scheduler (filters, pages, MISSING), never from moto', async () => {
    await createService('demo', 2);
    await createService('other', 1);
    const [d1, d2] = tasksOf('demo');
    const [o1] = tasksOf('other');
    life.up(d1!);
    life.up(o1!);
    await ecs.send(new StopTaskCommand({ cluster: 'demo', task: d1!.arn, reason: 'testing' }));
    life.finish(d1!);
    await settle();
    const d3 = tasksOf('demo').find((t) => t.desiredStatus === 'RUNNING' && t !== d2);
    expect(d3).toBeDefined();

    const list = async (input: ListTasksCommandInput) => (await ecs.send(new ListTasksCommand(input))).taskArns;
    expect(await list({ cluster: 'demo' })).toEqual([d2!.arn, o1!.arn, d3!.arn]);
    expect(await list({ cluster: CLUSTER_ARN, desiredStatus: 'RUNNING' })).toEqual([d2!.arn, o1!.arn, d3!.arn]);
    expect(await list({ cluster: 'demo', desiredStatus: 'STOPPED' })).toEqual([d1!.arn]);
    expect(await list({ cluster: 'demo', serviceName: 'demo' })).toEqual([d2!.arn, d3!.arn]);
    expect(await list({ cluster: 'demo', serviceName: serviceArn('other') })).toEqual([o1!.arn]);
    expect(await list({ cluster: 'elsewhere' })).toEqual([]);
    expect(await list({ cluster: 'demo', family: 'demo' })).toEqual([d2!.arn, o1!.arn, d3!.arn]);
    expect(await list({ cluster: 'demo', family: 'nope' })).toEqual([]);
    expect(await list({ cluster: 'demo', startedBy: scheduler.service('demo', 'other')!.deployments[0]!.id })).toEqual([o1!.arn]);

    // One at a time, as a paginator would.
    const pages: string[][] = [];
    let nextToken: string | undefined;
    do {
      const page = await ecs.send(new ListTasksCommand({ cluster: 'demo', maxResults: 1, ...(nextToken ? { nextToken } : {}) }));
      pages.push(page.taskArns ?? []);
      nextToken = page.nextToken;
    } while (nextToken && pages.length < 10);
    expect(pages).toEqual([[d2!.arn], [o1!.arn], [d3!.arn]]);

    const unknown = `arn:aws:ecs:${REGION}:${ACCOUNT}:task/demo/ffffffffffffffffffffffffffffffff`;
    const described = await ecs.send(new DescribeTasksCommand({ cluster: 'demo', tasks: [d1!.arn, d2!.id, unknown] }));
    expect(described.failures).toEqual([{ arn: unknown, reason: 'MISSING' }]);
    const [stopped, provisioning] = described.tasks!;
    expect(stopped).toMatchObject({
      taskArn: d1!.arn,
      clusterArn: CLUSTER_ARN,
      group: 'service:demo',
      lastStatus: 'STOPPED',
      desiredStatus: 'STOPPED',
      stopCode: 'UserInitiated',
      stoppedReason: 'testing',
      availabilityZone: 'us-east-1a',
      taskDefinitionArn: TD1,
    });
    // Dates come back as Dates, to the millisecond.
    expect(stopped!.stoppedAt).toBeInstanceOf(Date);
    expect(stopped!.stoppedAt!.getTime()).toBe(d1!.stoppedAt);
    expect(stopped!.createdAt!.getTime()).toBe(d1!.createdAt);
    expect(stopped!.startedAt!.getTime()).toBe(d1!.startedAt);
    expect(provisioning).toMatchObject({ taskArn: d2!.arn, lastStatus: 'PROVISIONING', desiredStatus: 'RUNNING', availabilityZone: 'us-east-1b' });
    expect(provisioning!.startedAt).toBeUndefined();
    expect(provisioning!.attachments![0]!.details).toContainEqual({ name: 'privateIPv4Address', value: d2!.ip });
    expect(provisioning!.containers![0]).toMatchObject({ name: 'app', image: 'demo:1', lastStatus: 'PENDING' });
    // Another cluster's name does not find them.
    expect((await ecs.send(new DescribeTasksCommand({ cluster: 'elsewhere', tasks: [d2!.arn] }))).failures).toEqual([{ arn: d2!.arn, reason: 'MISSING' }]);

    expect(moto.operations()).toEqual(['CreateService', 'CreateService']);
  });

  it('StopTask: an unknown task is InvalidParameterException; a known one is stopped by the scheduler with the reason', async () => {
    await createService('demo', 2);
    const [d1] = tasksOf('demo');
    const stopTask = vi.spyOn(scheduler, 'stopTask');

    for (const input of [
      { cluster: 'demo', task: 'ffffffffffffffffffffffffffffffff' },
      { cluster: 'elsewhere', task: d1!.arn },
    ]) {
      const error = await ecs.send(new StopTaskCommand(input)).catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'InvalidParameterException', message: 'The referenced task was not found.', $metadata: { httpStatusCode: 400 } });
    }
    expect(stopTask).not.toHaveBeenCalled();

    const { task } = await ecs.send(new StopTaskCommand({ cluster: CLUSTER_ARN, task: d1!.id, reason: 'chaos: stop one task' }));
    expect(stopTask).toHaveBeenCalledTimes(1);
    expect(stopTask).toHaveBeenCalledWith(d1, 'chaos: stop one task');
    expect(task).toMatchObject({ taskArn: d1!.arn, desiredStatus: 'STOPPED', stopCode: 'UserInitiated', stoppedReason: 'chaos: stop one task' });

    const [, d2] = tasksOf('demo');
    await ecs.send(new StopTaskCommand({ cluster: 'demo', task: d2!.arn }));
    expect(stopTask).toHaveBeenLastCalledWith(d2, undefined);
    expect(d2!.stoppedReason).toBe('Task stopped by user');
    expect(moto.operations()).toEqual(['CreateService']);
  });

  it('DescribeClusters comes back with the task counts', async () => {
    await createService('demo', 2);
    await createService('other', 1);
    life.up(tasksOf('demo')[0]!);
    const { clusters } = await ecs.send(new DescribeClustersCommand({ clusters: ['demo'] }));
    expect(clusters![0]).toMatchObject({ clusterName: 'demo', status: 'ACTIVE', runningTasksCount: 1, pendingTasksCount: 2, activeServicesCount: 2 });
    expect(moto.operations()).toContain('DescribeClusters');
  });
});

describe('LocalEndpoint: ECS services pass through moto and come back patched', () => {
  const DEPLOYMENT_INPUT = {
    deploymentConfiguration: { minimumHealthyPercent: 50, maximumPercent: 150, deploymentCircuitBreaker: { enable: true, rollback: true } },
    healthCheckGracePeriodSeconds: 45,
    availabilityZoneRebalancing: 'ENABLED' as const,
  };

  it('DescribeServices: counts, deployments, events newest first and the settings moto drops; an unknown service unchanged', async () => {
    await createService('demo', 2, DEPLOYMENT_INPUT);
    const [d1, d2] = tasksOf('demo');
    life.up(d1!);
    const local = scheduler.service('demo', 'demo')!;
    scheduler.event(local, 'older');
    await new Promise((resolve) => setTimeout(resolve, 5));
    scheduler.event(local, 'newer');
    moto.seed('legacy', { runningCount: 7, deployments: [{ id: 'ecs-svc/moto-legacy', status: 'PRIMARY', taskDefinition: TD1, desiredCount: 7, runningCount: 7 }] });
    const sent = recordSent(ecs);

    const { services } = await ecs.send(new DescribeServicesCommand({ cluster: 'demo', services: ['demo', 'legacy'] }));
    // It went to moto, as it was sent.
    const received = moto.received.at(-1)!;
    expect(received.operation).toBe('DescribeServices');
    expect(received.body.toString('utf8')).toBe(sent[0]!.body);

    const [demo, legacy] = services!;
    expect(demo).toMatchObject({
      serviceName: 'demo',
      status: 'ACTIVE',
      schedulingStrategy: 'REPLICA', // moto's fields stay
      desiredCount: 2,
      runningCount: 1,
      pendingCount: 1,
      healthCheckGracePeriodSeconds: 45,
      availabilityZoneRebalancing: 'ENABLED',
      deploymentConfiguration: { minimumHealthyPercent: 50, maximumPercent: 150, deploymentCircuitBreaker: { enable: true, rollback: true } },
    });
    const primary = local.deployments[0]!;
    expect(demo!.deployments).toHaveLength(1);
    expect(demo!.deployments![0]).toMatchObject({
      id: primary.id,
      status: 'PRIMARY',
      taskDefinition: TD1,
      desiredCount: 2,
      runningCount: 1,
      pendingCount: 1,
      failedTasks: 0,
      launchType: 'FARGATE',
      rolloutState: 'IN_PROGRESS',
      rolloutStateReason: `ECS deployment ${primary.id} in progress.`,
    });
    expect(demo!.deployments![0]!.createdAt).toEqual(new Date(primary.createdAt));
    expect(demo!.events!.map((e) => e.message)).toEqual(['newer', 'older', `(service demo) has started 2 tasks: (task ${d1!.id}) (task ${d2!.id}).`]);
    expect(demo!.events![0]!.createdAt).toEqual(new Date(local.events[0]!.createdAt));
    expect(demo!.events![0]!.createdAt!.getTime()).toBeGreaterThan(demo!.events![1]!.createdAt!.getTime());

    // The service the scheduler does not know: exactly what moto said.
    expect(legacy).toMatchObject({ serviceName: 'legacy', runningCount: 7, pendingCount: 0, deploymentConfiguration: { maximumPercent: 200, minimumHealthyPercent: 100 }, events: [] });
    expect(legacy!.deployments).toEqual([{ id: 'ecs-svc/moto-legacy', status: 'PRIMARY', taskDefinition: TD1, desiredCount: 7, runningCount: 7 }]);
    expect(legacy!.healthCheckGracePeriodSeconds).toBeUndefined();

    // Known by name but under another ARN (what the scheduler holds is an older service): unchanged too.
    scheduler.serviceCreated('demo', { serviceName: 'legacy', serviceArn: `${serviceArn('legacy')}-old`, clusterArn: CLUSTER_ARN, desiredCount: 0, taskDefinition: TD1 }, { healthCheckGracePeriodSeconds: 99 });
    await settle();
    const [again] = (await ecs.send(new DescribeServicesCommand({ cluster: 'demo', services: ['legacy'] }))).services!;
    expect(again).toMatchObject({ status: 'ACTIVE', runningCount: 7, deploymentConfiguration: { maximumPercent: 200, minimumHealthyPercent: 100 }, events: [] });
    expect(again!.deployments).toEqual(legacy!.deployments);
    expect(again!.healthCheckGracePeriodSeconds).toBeUndefined();
  });

  it('CreateService, UpdateService and DeleteService reach moto unchanged and tell the scheduler the settings they carry', async () => {
    const sent = recordSent(ecs);
    const created = vi.spyOn(scheduler, 'serviceCreated');
    const updated = vi.spyOn(scheduler, 'serviceUpdated');
    const deleted = vi.spyOn(scheduler, 'serviceDeleted');

    const service = await createService('demo', 2, DEPLOYMENT_INPUT);
    expect(moto.received).toHaveLength(1);
    expect(moto.received[0]!.body.toString('utf8')).toBe(sent[0]!.body);
    expectSameHeaders(moto.received[0]!, sent[0]!);
    expect(created).toHaveBeenCalledWith('demo', expect.objectContaining({ serviceName: 'demo', serviceArn: serviceArn('demo'), taskDefinition: TD1, desiredCount: 2 }), {
      minimumHealthyPercent: 50,
      maximumPercent: 150,
      circuitBreaker: { enable: true, rollback: true },
      healthCheckGracePeriodSeconds: 45,
      availabilityZoneRebalancing: 'ENABLED',
    });
    // The answer already shows the first deployment and the settings.
    expect(service.deployments).toHaveLength(1);
    expect(service.deployments![0]).toMatchObject({ id: scheduler.service('demo', 'demo')!.deployments[0]!.id, rolloutState: 'IN_PROGRESS' });
    expect(service.deploymentConfiguration).toEqual({ minimumHealthyPercent: 50, maximumPercent: 150, deploymentCircuitBreaker: { enable: true, rollback: true } });
    expect(tasksOf('demo')).toHaveLength(2);

    // By ARN, forcing a new deployment of the same task definition; only part of the settings.
    const { service: forced } = await ecs.send(
      new UpdateServiceCommand({ cluster: CLUSTER_ARN, service: serviceArn('demo'), forceNewDeployment: true, deploymentConfiguration: { minimumHealthyPercent: 100, maximumPercent: 200 } }),
    );
    expect(moto.received[1]!.operation).toBe('UpdateService');
    expect(moto.received[1]!.body.toString('utf8')).toBe(sent[1]!.body);
    expectSameHeaders(moto.received[1]!, sent[1]!);
    expect(updated).toHaveBeenLastCalledWith('demo', expect.objectContaining({ serviceName: 'demo', taskDefinition: TD1 }), { minimumHealthyPercent: 100, maximumPercent: 200 }, true);
    const local = scheduler.service('demo', 'demo')!;
    expect(local.deployments).toHaveLength(2);
    expect(forced!.deployments!.map((d) => [d.id, d.status])).toEqual([
      [local.deployments[0]!.id, 'PRIMARY'],
      [local.deployments[1]!.id, 'ACTIVE'],
    ]);
    // What the update did not say stays as CreateService said it.
    expect(forced!.deploymentConfiguration).toEqual({ minimumHealthyPercent: 100, maximumPercent: 200, deploymentCircuitBreaker: { enable: true, rollback: true } });
    expect(forced!.healthCheckGracePeriodSeconds).toBe(45);
    await settle();

    // A desired count alone is no new deployment.
    await ecs.send(new UpdateServiceCommand({ cluster: 'demo', service: 'demo', desiredCount: 3 }));
    expect(updated).toHaveBeenLastCalledWith('demo', expect.objectContaining({ desiredCount: 3 }), {}, false);
    expect(local.deployments).toHaveLength(2);
    expect(local.desiredCount).toBe(3);
    await settle();

    // moto's refusal comes back as it is, and the scheduler hears nothing.
    const refused = await ecs.send(new UpdateServiceCommand({ cluster: 'demo', service: 'nope', desiredCount: 1 })).catch((e: unknown) => e);
    expect(refused).toMatchObject({ name: 'ServiceNotFoundException', message: 'Service not found.' });
    expect(updated).toHaveBeenCalledTimes(2);

    // DeleteService: moto says INACTIVE, but tasks still have to stop.
    const liveBefore = tasksOf('demo').filter((t) => t.lastStatus !== 'STOPPED');
    expect(liveBefore.length).toBeGreaterThan(0);
    const { service: deleting } = await ecs.send(new DeleteServiceCommand({ cluster: 'demo', service: 'demo', force: true }));
    const deleteSent = sent.at(-1)!;
    expect(moto.received.at(-1)!.body.toString('utf8')).toBe(deleteSent.body);
    expect(deleted).toHaveBeenCalledWith('demo', 'demo');
    expect(deleting).toMatchObject({ status: 'DRAINING' });
    expect(deleting!.deployments![0]).toMatchObject({ status: 'PRIMARY', desiredCount: 0 });
    await settle();
    expect(tasksOf('demo').every((t) => t.desiredStatus === 'STOPPED')).toBe(true);
    const describe = async () => (await ecs.send(new DescribeServicesCommand({ cluster: 'demo', services: ['demo'] }))).services![0]!;
    expect((await describe()).status).toBe('DRAINING');
    for (const task of liveBefore) life.finish(task);
    await settle();
    expect(await describe()).toMatchObject({ status: 'INACTIVE', runningCount: 0, pendingCount: 0 });
  });
});

describe('LocalEndpoint: ELBv2', () => {
  const views: TargetHealthView[] = [
    { id: '127.0.1.5', port: 8080, availabilityZone: 'us-east-1a', state: 'healthy' },
    { id: '127.0.2.6', port: 8080, availabilityZone: 'us-east-1b', state: 'unhealthy', reason: 'Target.ResponseCodeMismatch', description: 'Health checks failed with these codes: [500]' },
    { id: '127.0.1.7', port: 8080, state: 'draining', reason: 'Target.DeregistrationInProgress', description: 'Target deregistration is in progress' },
  ];

  it('answers DescribeTargetHealth of a target group it runs; sends one it does not know to moto', async () => {
    balancers.groups.set(TG, views);
    const { TargetHealthDescriptions: all } = await elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: TG }));
    expect(all).toEqual([
      { Target: { Id: '127.0.1.5', Port: 8080, AvailabilityZone: 'us-east-1a' }, HealthCheckPort: '8080', TargetHealth: { State: 'healthy' } },
      {
        Target: { Id: '127.0.2.6', Port: 8080, AvailabilityZone: 'us-east-1b' },
        HealthCheckPort: '8080',
        TargetHealth: { State: 'unhealthy', Reason: 'Target.ResponseCodeMismatch', Description: 'Health checks failed with these codes: [500]' },
      },
      { Target: { Id: '127.0.1.7', Port: 8080 }, HealthCheckPort: '8080', TargetHealth: { State: 'draining', Reason: 'Target.DeregistrationInProgress', Description: 'Target deregistration is in progress' } },
    ]);
    const { TargetHealthDescriptions: one } = await elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: TG, Targets: [{ Id: '127.0.2.6', Port: 8080 }] }));
    expect(one!.map((d) => d.Target!.Id)).toEqual(['127.0.2.6']);
    expect(moto.received).toHaveLength(0);

    moto.script.set('DescribeTargetHealth', () =>
      xmlAnswer(
        `<DescribeTargetHealthResponse xmlns="${ELB_NS}"><DescribeTargetHealthResult><TargetHealthDescriptions><member><Target><Id>10.0.0.9</Id><Port>80</Port></Target><TargetHealth><State>unavailable</State></TargetHealth></member></TargetHealthDescriptions></DescribeTargetHealthResult><ResponseMetadata><RequestId>m</RequestId></ResponseMetadata></DescribeTargetHealthResponse>`,
      ),
    );
    const sent = recordSent(elbv2);
    const { TargetHealthDescriptions: fromMoto } = await elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: OTHER_TG }));
    expect(fromMoto).toEqual([{ Target: { Id: '10.0.0.9', Port: 80 }, TargetHealth: { State: 'unavailable' } }]);
    expect(moto.operations()).toEqual(['DescribeTargetHealth']);
    expect(moto.received[0]!.body.toString('utf8')).toBe(sent[0]!.body);
    expect(new URLSearchParams(moto.received[0]!.body.toString('utf8')).get('TargetGroupArn')).toBe(OTHER_TG);
  });

  const lbXml = (operation: 'DescribeLoadBalancers' | 'CreateLoadBalancer', names: string[]): string =>
    `<${operation}Response xmlns="${ELB_NS}"><${operation}Result><LoadBalancers>${names
      .map(
        (name, i) =>
          `<member><LoadBalancerArn>arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:loadbalancer/app/${name}/${i}</LoadBalancerArn><DNSName>${name}-1234567890.${REGION}.elb.amazonaws.com</DNSName><CanonicalHostedZoneId>Z35SXDOTRQ7X7K</CanonicalHostedZoneId><LoadBalancerName>${name}</LoadBalancerName><Scheme>internet-facing</Scheme><Type>application</Type><State><Code>active</Code></State></member>`,
      )
      .join('')}</LoadBalancers></${operation}Result><ResponseMetadata><RequestId>m</RequestId></ResponseMetadata></${operation}Response>`;

  it('rewrites every load balancer DNS name to 127.0.0.1:<its local port>, the same port for the same name', async () => {
    moto.script.set('DescribeLoadBalancers', () => xmlAnswer(lbXml('DescribeLoadBalancers', ['demo-alb', 'other-alb'])));
    moto.script.set('CreateLoadBalancer', () => xmlAnswer(lbXml('CreateLoadBalancer', ['demo-alb'])));
    const { LoadBalancers: first } = await elbv2.send(new DescribeLoadBalancersCommand({}));
    expect(first!.map((lb) => [lb.LoadBalancerName, lb.DNSName, lb.CanonicalHostedZoneId, lb.State?.Code])).toEqual([
      ['demo-alb', '127.0.0.1:45001', 'Z35SXDOTRQ7X7K', 'active'],
      ['other-alb', '127.0.0.1:45002', 'Z35SXDOTRQ7X7K', 'active'],
    ]);
    expect(balancers.portCalls).toEqual(['demo-alb-1234567890.us-east-1.elb.amazonaws.com', 'other-alb-1234567890.us-east-1.elb.amazonaws.com']);

    const { LoadBalancers: again } = await elbv2.send(new DescribeLoadBalancersCommand({ Names: ['demo-alb', 'other-alb'] }));
    expect(again!.map((lb) => lb.DNSName)).toEqual(['127.0.0.1:45001', '127.0.0.1:45002']);
    const { LoadBalancers: made } = await elbv2.send(new CreateLoadBalancerCommand({ Name: 'demo-alb', Subnets: ['subnet-aaa', 'subnet-bbb'] }));
    expect(made!.map((lb) => lb.DNSName)).toEqual(['127.0.0.1:45001']);
    expect(moto.operations()).toEqual(['DescribeLoadBalancers', 'DescribeLoadBalancers', 'CreateLoadBalancer']);
  });

  it('with the real Balancers, the address given is a local load balancer that answers', async () => {
    const real = new Balancers(planeClock(1), () => undefined);
    cleanups.push(() => real.close());
    const second = new LocalEndpoint(moto.url, scheduler, real);
    const client = new ElasticLoadBalancingV2Client({ ...SDK, endpoint: `http://127.0.0.1:${await second.listen()}` });
    cleanups.push(
      () => second.close(),
      () => client.destroy(),
    );
    moto.script.set('DescribeLoadBalancers', () => xmlAnswer(lbXml('DescribeLoadBalancers', ['demo-alb', 'other-alb'])));
    const one = (await client.send(new DescribeLoadBalancersCommand({}))).LoadBalancers!.map((lb) => lb.DNSName!);
    const two = (await client.send(new DescribeLoadBalancersCommand({}))).LoadBalancers!.map((lb) => lb.DNSName!);
    expect(one).toEqual(two);
    expect(one[0]).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(one[0]).not.toBe(one[1]);
    // No listener yet: the ALB's 503.
    const answer = await fetch(`http://${one[0]}/`);
    expect(answer.status).toBe(503);
    expect(answer.headers.get('server')).toBe('awselb/2.0');
    await answer.text();
  });
});

describe('LocalEndpoint: everything else', () => {
  it('forwards any other SDK call byte for byte with its headers (the signature too), and returns what moto answers', async () => {
    const logsClient = new CloudWatchLogsClient({ ...SDK, endpoint: url });
    const iam = new IAMClient({ ...SDK, endpoint: url });
    cleanups.push(
      () => logsClient.destroy(),
      () => iam.destroy(),
    );
    const logsSent = recordSent(logsClient);
    const iamSent = recordSent(iam);
    moto.script.set('DescribeLogGroups', () => jsonAnswer({ logGroups: [{ logGroupName: '/ecs/demo', retentionInDays: 7 }] }));
    moto.script.set('CreateLogGroup', () => jsonAnswer({ __type: 'ResourceAlreadyExistsException', message: 'The specified log group already exists' }, 400));
    moto.script.set('GetRole', () =>
      xmlAnswer(
        `<GetRoleResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><GetRoleResult><Role><Path>/</Path><RoleName>demo-exec</RoleName><RoleId>AROA1</RoleId><Arn>arn:aws:iam::${ACCOUNT}:role/demo-exec</Arn><CreateDate>2026-01-01T00:00:00Z</CreateDate></Role></GetRoleResult><ResponseMetadata><RequestId>m</RequestId></ResponseMetadata></GetRoleResponse>`,
      ),
    );

    const { logGroups } = await logsClient.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: '/ecs/' }));
    expect(logGroups).toEqual([{ logGroupName: '/ecs/demo', retentionInDays: 7 }]);
    const refused = await logsClient.send(new CreateLogGroupCommand({ logGroupName: '/ecs/demo' })).catch((e: unknown) => e);
    expect(refused).toMatchObject({ name: 'ResourceAlreadyExistsException', message: 'The specified log group already exists', $metadata: { httpStatusCode: 400 } });
    const { Role } = await iam.send(new GetRoleCommand({ RoleName: 'demo-exec' }));
    expect(Role).toMatchObject({ RoleName: 'demo-exec', Arn: `arn:aws:iam::${ACCOUNT}:role/demo-exec`, CreateDate: new Date('2026-01-01T00:00:00Z') });

    expect(moto.operations()).toEqual(['DescribeLogGroups', 'CreateLogGroup', 'GetRole']);
    const pairs = [
      [moto.received[0]!, logsSent[0]!],
      [moto.received[1]!, logsSent[1]!],
      [moto.received[2]!, iamSent[0]!],
    ] as const;
    for (const [received, sent] of pairs) {
      expect(received.method).toBe('POST');
      expect(received.url).toBe('/');
      expect(received.body.toString('utf8')).toBe(sent.body);
      expectSameHeaders(received, sent);
      expect(received.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=x\/\d{8}\/us-east-1\/(logs|iam)\/aws4_request, SignedHeaders=.*, Signature=[0-9a-f]{64}$/);
    }
  });

  it('forwards a raw request unchanged: method, path, headers, binary body; and moto\'s status, headers and bytes come back', async () => {
    const payload = Buffer.from([0x00, 0xff, 0x10, 0x80, 0x7b, 0x22, 0xc3, 0x28, 0x0a]);
    const answerBytes = Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0x01]);
    moto.script.set('', () => ({ status: 418, headers: { 'content-type': 'application/octet-stream', 'x-moto-says': 'teapot' }, body: answerBytes }));
    const authorization = 'AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/lambda/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc123';
    const port = Number(new URL(url).port);
    const answer = await new Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          method: 'PUT',
          path: '/2015-03-31/functions/demo/code?Qualifier=1',
          headers: { authorization, 'x-amz-date': '20260101T000000Z', 'x-custom': 'kept', 'content-type': 'application/octet-stream', 'content-length': String(payload.length) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
    expect(answer.status).toBe(418);
    expect(answer.headers['x-moto-says']).toBe('teapot');
    expect(answer.headers['content-type']).toBe('application/octet-stream');
    expect(answer.body.equals(answerBytes)).toBe(true);

    expect(moto.received).toHaveLength(1);
    const [received] = moto.received;
    expect(received!.method).toBe('PUT');
    expect(received!.url).toBe('/2015-03-31/functions/demo/code?Qualifier=1');
    expect(received!.body.equals(payload)).toBe(true);
    expect(received!.headers).toMatchObject({ authorization, 'x-amz-date': '20260101T000000Z', 'x-custom': 'kept', 'content-type': 'application/octet-stream', 'content-length': String(payload.length), host: `127.0.0.1:${port}` });
  });

  it('answers GET /_ecs-ha/ping itself with its pid', async () => {
    const answer = await fetch(`${url}/_ecs-ha/ping`);
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ pid: process.pid, plane: 'ecs-ha' });
    expect(moto.received).toHaveLength(0);
  });
});
