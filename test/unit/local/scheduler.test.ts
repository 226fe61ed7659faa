/**
 * The local ECS service scheduler on its own. Everything around it is a hand-driven fake: the
 * "moto world" reports one service (cluster demo, service demo, two subnets in us-east-1a/b, one
 * target group), the task lifecycle only records what it is told and moves tasks on when a test
 * says so (calling taskExited at STOPPED, as the real one does), target health is set per task IP,
 * and the clock only moves when a test moves it. The UpdateService of a circuit-breaker rollback goes
 * to aws-sdk-client-mock, which writes it back into the fake world as moto would.
 */
import { ECSClient, UpdateServiceCommand, type Service, type TaskDefinition } from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { AwsClients } from '../../../src/aws/clients.js';
import type { Balancers } from '../../../src/local/plane/balancers.js';
import type { TaskLifecycle, TaskPlan } from '../../../src/local/plane/lifecycle.js';
import type { LocalDeployment, LocalService, LocalTask, ServiceSettings, StopCode } from '../../../src/local/plane/model.js';
import { circuitBreakerThreshold, Scheduler } from '../../../src/local/plane/scheduler.js';
import type { PlaneClock, TargetHealthView, TargetState } from '../../../src/local/plane/types.js';
import type { MotoWorld, ServiceView } from '../../../src/local/plane/world.js';
import { freePort } from '../../fixtures/probe/servers.js';

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const CLUSTER_ARN = `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/demo`;
const SERVICE_ARN = `arn:aws:ecs:${REGION}:${ACCOUNT}:service/demo/demo`;
const TD1 = `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/demo:1`;
const TD2 = `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/demo:2`;
const TG = `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:targetgroup/demo-tg/0123456789abcdef`;
const ZONES: Record<string, string> = { 'subnet-aaa': 'us-east-1a', 'subnet-bbb': 'us-east-1b', 'subnet-ccc': 'us-east-1c' };
const APP_DIR = '/srv/demo-app';
const T0 = 1_700_000_000_000;
const HA_SETTINGS: Partial<ServiceSettings> = {
  minimumHealthyPercent: 100,
  maximumPercent: 200,
  circuitBreaker: { enable: true, rollback: true },
  healthCheckGracePeriodSeconds: 30,
};

const ecs = mockClient(ECSClient);

/** The container port of the task definitions: on Linux every task listens on it at its own loopback address. */
let PORT = 0;
beforeAll(async () => {
  PORT = await freePort();
});

/** What moto would report: one service, whose task definition and desired count a test changes. */
class FakeWorld {
  service: Service = {
    serviceArn: SERVICE_ARN,
    serviceName: 'demo',
    clusterArn: CLUSTER_ARN,
    status: 'ACTIVE',
    desiredCount: 2,
    taskDefinition: TD1,
    launchType: 'FARGATE',
    loadBalancers: [{ targetGroupArn: TG, containerName: 'app', containerPort: 8080 }],
    networkConfiguration: { awsvpcConfiguration: { subnets: ['subnet-aaa', 'subnet-bbb'], assignPublicIp: 'ENABLED' } },
  };
  /** false once moto no longer lists the service. */
  listed = true;

  async services(): Promise<ServiceView[]> {
    return this.listed ? [{ clusterArn: CLUSTER_ARN, clusterName: 'demo', service: structuredClone(this.service) }] : [];
  }

  async taskDefinition(arn: string): Promise<TaskDefinition> {
    const revision = Number(arn.split(':').pop());
    return {
      taskDefinitionArn: arn,
      family: 'demo',
      revision,
      containerDefinitions: [{ name: 'app', image: `demo:${revision}`, portMappings: [{ containerPort: PORT }], environment: [{ name: 'APP_VERSION', value: `v${revision}` }] }],
    };
  }

  async zonesOf(subnetIds: string[]): Promise<Map<string, string>> {
    return new Map(subnetIds.filter((id) => ZONES[id]).map((id) => [id, ZONES[id]!]));
  }

  async targetGroups(): Promise<[]> {
    return [];
  }

  async loadBalancers(): Promise<[]> {
    return [];
  }
}

interface StopCall {
  task: LocalTask;
  code: StopCode;
  reason: string;
  failed: boolean;
}

/** The task lifecycle, driven by hand: start/stop only record; up()/finish() move a task on. */
class FakeLifecycle {
  readonly plans: TaskPlan[] = [];
  readonly stops: StopCall[] = [];

  constructor(
    private readonly clock: PlaneClock,
    private readonly scheduler: () => Scheduler,
  ) {}

  start(plan: TaskPlan): Promise<void> {
    this.plans.push(plan);
    return Promise.resolve();
  }

  /** Idempotent, like the real one; a serving task starts draining at once. */
  stop(task: LocalTask, code: StopCode, reason: string, options: { failed?: boolean } = {}): Promise<void> {
    if (this.stops.some((s) => s.task === task)) return Promise.resolve();
    this.stops.push({ task, code, reason, failed: Boolean(options.failed) });
    task.desiredStatus = 'STOPPED';
    task.stopCode = code;
    task.stoppedReason = reason;
    task.stoppingAt = this.clock.now();
    task.failed = Boolean(options.failed);
    if (task.lastStatus === 'RUNNING' || task.lastStatus === 'ACTIVATING') task.lastStatus = 'DEACTIVATING';
    return Promise.resolve();
  }

  /** PROVISIONING → PENDING → ACTIVATING → RUNNING. */
  up(task: LocalTask): void {
    expect(task.desiredStatus).toBe('RUNNING');
    task.lastStatus = 'PENDING';
    task.pullStartedAt = this.clock.now();
    task.pullStoppedAt = this.clock.now();
    task.startedAt = this.clock.now();
    task.connectivityAt = this.clock.now();
    task.lastStatus = 'RUNNING';
  }

  /** The stop ran to its end: STOPPED, and the scheduler hears of it as from the real lifecycle. */
  finish(task: LocalTask): void {
    expect(task.desiredStatus).toBe('STOPPED');
    task.lastStatus = 'STOPPED';
    task.stoppedAt = this.clock.now();
    task.executionStoppedAt ??= task.stoppedAt;
    this.scheduler().taskExited(task);
  }
}

const schedulers: Scheduler[] = [];
beforeEach(() => {
  ecs.reset();
});
afterEach(async () => {
  for (const scheduler of schedulers.splice(0)) await scheduler.close();
});

type Plane = ReturnType<typeof plane>;

function plane(desiredCount = 2) {
  let now = T0;
  const clock = { now: () => now, scaled: (ms: number) => Math.max(1, Math.round(ms)) };
  const world = new FakeWorld();
  world.service.desiredCount = desiredCount;
  /** Target state by task IP (each task has its own loopback address on Linux). */
  const targets = new Map<string, TargetState>();
  const healthLookups: string[] = [];
  const group = {
    health: (ip?: string): TargetHealthView[] => {
      if (ip !== undefined) healthLookups.push(ip);
      return [...targets]
        .filter(([id]) => ip === undefined || id === ip)
        .map(([id, state]) => ({
          id,
          port: PORT,
          state,
          ...(state === 'unhealthy' ? { reason: 'Target.ResponseCodeMismatch', description: 'Health checks failed with these codes: [500]' } : {}),
        }));
    },
  };
  const balancers = {
    group: (arn: string) => (arn === TG ? group : undefined),
    syncTargetGroups: () => undefined,
    syncLoadBalancers: async () => undefined,
  };
  const logs: string[] = [];
  let nextPort = 41_000;
  let scheduler!: Scheduler;
  const life = new FakeLifecycle(clock, () => scheduler);
  scheduler = new Scheduler({
    world: world as unknown as MotoWorld,
    aws: new AwsClients({ region: REGION, credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1 }),
    balancers: balancers as unknown as Balancers,
    clock,
    account: ACCOUNT,
    region: REGION,
    appDir: APP_DIR,
    platform: 'linux',
    freePort: async () => nextPort++,
    lifecycle: () => life as unknown as TaskLifecycle,
    log: (line) => logs.push(line),
  });
  schedulers.push(scheduler);
  // moto keeps what UpdateService says.
  ecs.on(UpdateServiceCommand).callsFake((input: { taskDefinition?: string }) => {
    if (input.taskDefinition) world.service.taskDefinition = input.taskDefinition;
    return { service: structuredClone(world.service) };
  });

  /** Waits until no reconcile pass runs or is due (a pass may poke another; a rollback's UpdateService pokes after it answers). */
  const settle = async (): Promise<void> => {
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
    const failures = logs.filter((line) => line.startsWith('reconcile failed'));
    if (failures.length > 0) throw new Error(failures.join('\n'));
  };
  const local = (): LocalService => {
    const found = scheduler.service('demo', 'demo');
    if (!found) throw new Error('the scheduler does not know demo/demo');
    return found;
  };
  const tasks = (): LocalTask[] => scheduler.tasksOf(local());
  const live = (): LocalTask[] => tasks().filter((t) => t.desiredStatus === 'RUNNING');
  const ofDeployment = (deployment: LocalDeployment): LocalTask[] => live().filter((t) => t.deploymentId === deployment.id);

  return {
    scheduler,
    world,
    life,
    targets,
    healthLookups,
    logs,
    now: () => now,
    advance: (ms: number) => void (now += ms),
    settle,
    /** One reconcile pass, as the interval timer would run it. */
    pass: async () => {
      scheduler.poke();
      await settle();
    },
    local,
    tasks,
    live,
    ofDeployment,
    deployments: () => local().deployments,
    primary: () => local().deployments[0]!,
    events: () => local().events.map((e) => e.message),
    healthy: (...list: LocalTask[]) => list.forEach((t) => targets.set(t.ip, 'healthy')),
    unhealthy: (...list: LocalTask[]) => list.forEach((t) => targets.set(t.ip, 'unhealthy')),
    /** Running and healthy behind the target group. */
    serve: (...list: LocalTask[]) =>
      list.forEach((t) => {
        life.up(t);
        targets.set(t.ip, 'healthy');
      }),
    /** A launch that failed before it ever served, as the real lifecycle stops it. */
    fail: (task: LocalTask) => {
      void life.stop(task, 'TaskFailedToStart', 'Essential container in task exited', { failed: true });
      life.finish(task);
    },
  };
}

async function created(p: Plane, settings: Partial<ServiceSettings> = HA_SETTINGS): Promise<void> {
  p.scheduler.serviceCreated('demo', structuredClone(p.world.service), settings);
  await p.settle();
}

/** The service at its desired count, every task RUNNING and healthy, the first deployment COMPLETED. */
async function steady(p: Plane, settings: Partial<ServiceSettings> = HA_SETTINGS): Promise<LocalTask[]> {
  await created(p, settings);
  const running = p.live();
  expect(running).toHaveLength(p.world.service.desiredCount!);
  p.serve(...running);
  await p.pass();
  expect(p.primary().rolloutState).toBe('COMPLETED');
  return running;
}

/** Moto now names TD2 and the endpoint saw the UpdateService. */
async function deployNew(p: Plane, settings: Partial<ServiceSettings> = {}): Promise<void> {
  p.world.service.taskDefinition = TD2;
  p.scheduler.serviceUpdated('demo', structuredClone(p.world.service), settings, false);
  await p.settle();
}

/**
 * The next reconcile pass reads moto at once but goes on only once released: a pass that read
 * before what the test does next. With `holdLater`, the passes after it wait too (until
 * `releaseLater`), so that what the stale pass did can be looked at on its own.
 */
function staleRead(p: Plane, options: { holdLater?: boolean } = {}) {
  const listed = p.world.services.bind(p.world);
  let release!: () => void;
  let releaseLater: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const later = options.holdLater ? new Promise<void>((resolve) => (releaseLater = resolve)) : Promise.resolve();
  let reads = 0;
  p.world.services = async () => {
    const before = await listed();
    await (reads++ === 0 ? gate : later);
    return before;
  };
  return { release, releaseLater, reads: () => reads };
}

/** moto's answer to the circuit breaker's UpdateService waits until `answer()`; then it keeps what it says. */
function holdUpdateService(p: Plane): () => void {
  let answer!: () => void;
  const held = new Promise<void>((resolve) => (answer = resolve));
  ecs.on(UpdateServiceCommand).callsFake(async (input: { taskDefinition?: string }) => {
    await held;
    if (input.taskDefinition) p.world.service.taskDefinition = input.taskDefinition;
    return { service: structuredClone(p.world.service) };
  });
  return answer;
}

const count = (list: string[], text: string): number => list.filter((line) => line === text).length;

describe('Scheduler: placement and the first deployment', () => {
  it('starts the desired count spread one per AZ on distinct addresses, and completes the deployment only once every task is RUNNING and healthy', async () => {
    const p = plane(2);
    p.scheduler.serviceCreated('demo', structuredClone(p.world.service), HA_SETTINGS);
    // The deployment exists as soon as the service does.
    expect(p.deployments()).toHaveLength(1);
    expect(p.primary()).toMatchObject({ status: 'PRIMARY', taskDefinition: TD1, rolloutState: 'IN_PROGRESS', failedTasks: 0 });
    expect(p.primary().id).toMatch(/^ecs-svc\/\d{10,19}$/);
    expect(p.local().settings).toEqual(HA_SETTINGS);
    await p.settle();

    const [a, b] = p.live();
    expect(p.live()).toHaveLength(2);
    expect([a!.availabilityZone, b!.availabilityZone]).toEqual(['us-east-1a', 'us-east-1b']);
    expect([a!.subnetId, b!.subnetId]).toEqual(['subnet-aaa', 'subnet-bbb']);
    expect(a!.ip).toMatch(/^127\.0\.1\.\d+$/);
    expect(b!.ip).toMatch(/^127\.0\.2\.\d+$/);
    expect(a!.ip).not.toBe(b!.ip);
    for (const task of [a!, b!]) {
      expect(task).toMatchObject({
        clusterArn: CLUSTER_ARN,
        serviceName: 'demo',
        deploymentId: p.primary().id,
        taskDefinitionArn: TD1,
        containerName: 'app',
        image: 'demo:1',
        port: PORT,
        lastStatus: 'PROVISIONING',
        desiredStatus: 'RUNNING',
        createdAt: T0,
        failed: false,
        everHealthy: false,
      });
      expect(task.arn).toBe(`arn:aws:ecs:${REGION}:${ACCOUNT}:task/demo/${task.id}`);
      expect(task.id).toMatch(/^[0-9a-f]{32}$/);
    }
    // What the lifecycle was asked to run.
    expect(p.life.plans.map((plan) => plan.task)).toEqual([a, b]);
    expect(p.life.plans[0]).toMatchObject({ family: 'demo', revision: 1, environment: { APP_VERSION: 'v1' }, appDir: APP_DIR, targetGroupArn: TG });
    expect(p.events()).toEqual([`(service demo) has started 2 tasks: (task ${a!.id}) (task ${b!.id}).`]);

    // Nothing more is started while they come up.
    await p.pass();
    expect(p.tasks()).toHaveLength(2);
    expect(p.primary().rolloutState).toBe('IN_PROGRESS');

    // RUNNING is not enough: the targets are still in their initial health checks.
    p.life.up(a!);
    p.life.up(b!);
    p.targets.set(a!.ip, 'initial');
    p.targets.set(b!.ip, 'initial');
    await p.pass();
    expect(p.primary().rolloutState).toBe('IN_PROGRESS');
    expect(p.healthLookups).toContain(a!.ip);

    p.healthy(a!);
    await p.pass();
    expect(p.primary().rolloutState).toBe('IN_PROGRESS');
    expect(p.events().some((e) => e.includes('steady state'))).toBe(false);

    p.healthy(b!);
    await p.pass();
    const id = p.primary().id;
    expect(p.primary()).toMatchObject({ status: 'PRIMARY', rolloutState: 'COMPLETED', rolloutStateReason: `ECS deployment ${id} completed.` });
    expect(p.events().slice(0, 2)).toEqual(['(service demo) has reached a steady state.', `(service demo) (deployment ${id}) deployment completed.`]);

    // Said once, not on every pass.
    await p.pass();
    await p.pass();
    expect(count(p.events(), '(service demo) has reached a steady state.')).toBe(1);
    expect(count(p.events(), `(service demo) (deployment ${id}) deployment completed.`)).toBe(1);
    expect(p.tasks()).toHaveLength(2);
    expect([a!.everHealthy, b!.everHealthy]).toEqual([true, true]);
  });

  it('replaces a stopped task at once, while the old one still drains, in the AZ that lost it', async () => {
    const p = plane(2);
    const [a, b] = await steady(p);

    p.scheduler.stopTask(b!, 'chaos: stop one task');
    expect(b).toMatchObject({ desiredStatus: 'STOPPED', stopCode: 'UserInitiated', stoppedReason: 'chaos: stop one task' });
    await p.settle();
    const [replacementB] = p.live().filter((t) => t !== a);
    expect(replacementB).toBeDefined();
    expect(b!.lastStatus).toBe('DEACTIVATING'); // not STOPPED yet
    // us-east-1a wins a tie: only spreading puts it in us-east-1b.
    expect(replacementB).toMatchObject({ availabilityZone: 'us-east-1b', subnetId: 'subnet-bbb', lastStatus: 'PROVISIONING', deploymentId: p.primary().id });
    expect(replacementB!.ip).toMatch(/^127\.0\.2\.\d+$/);
    expect(replacementB!.ip).not.toBe(b!.ip);
    expect(p.events()[0]).toBe(`(service demo) has started 1 tasks: (task ${replacementB!.id}).`);
    p.life.finish(b!);
    await p.settle();
    expect(p.live()).toHaveLength(2);
    expect(p.primary().failedTasks).toBe(0);

    // The other AZ, without a reason given.
    p.scheduler.stopTask(a!, undefined);
    expect(a).toMatchObject({ stopCode: 'UserInitiated', stoppedReason: 'Task stopped by user' });
    await p.settle();
    const [replacementA] = p.live().filter((t) => t !== replacementB);
    expect(replacementA).toMatchObject({ availabilityZone: 'us-east-1a', lastStatus: 'PROVISIONING' });
    expect(a!.lastStatus).toBe('DEACTIVATING');
    expect(p.tasks()).toHaveLength(4);
  });

  it('replaces a RUNNING task whose target stays unhealthy past the health-check grace period, not before', async () => {
    const p = plane(2);
    await created(p);
    const [a, b] = p.live();
    p.life.up(a!);
    p.life.up(b!);
    p.healthy(a!);
    p.unhealthy(b!);

    p.advance(29_000);
    await p.pass();
    expect(b!.desiredStatus).toBe('RUNNING');
    expect(p.tasks()).toHaveLength(2);
    expect(p.events().some((e) => e.includes('is unhealthy'))).toBe(false);

    p.advance(2_000); // 31 s after it started
    await p.pass();
    expect(p.life.stops).toEqual([{ task: b, code: 'ServiceSchedulerInitiated', reason: `Task failed ELB health checks in (target-group ${TG})`, failed: true }]);
    expect(b).toMatchObject({ desiredStatus: 'STOPPED', stopCode: 'ServiceSchedulerInitiated', stoppedReason: `Task failed ELB health checks in (target-group ${TG})` });
    expect(p.events()).toContain(`(service demo) (port ${PORT}) is unhealthy in (target-group ${TG}) due to (reason Health checks failed with these codes: [500]).`);
    expect(p.events()).toContain(`(service demo) has stopped 1 running tasks: (task ${b!.id}).`);
    // Replaced in the same pass, in the same AZ; the healthy one is left alone.
    const replacement = p.live().find((t) => t !== a);
    expect(replacement).toMatchObject({ availabilityZone: 'us-east-1b', lastStatus: 'PROVISIONING' });
    expect(a!.desiredStatus).toBe('RUNNING');

    // A task that served and then went unhealthy is replaced too, and does not count as a failed launch.
    p.unhealthy(a!);
    await p.pass();
    expect(p.life.stops.find((s) => s.task === a)).toMatchObject({ code: 'ServiceSchedulerInitiated', failed: false });
    expect(p.live().filter((t) => t.availabilityZone === 'us-east-1a')).toHaveLength(1);
  });
});

describe('Scheduler: rolling deployments', () => {
  it('with 100/200 starts the new tasks beside the old ones and stops an old one only while minimumHealthyPercent stays met', async () => {
    const p = plane(2);
    const [old1, old2] = await steady(p);
    const first = p.primary();

    p.world.service.taskDefinition = TD2;
    p.scheduler.serviceUpdated('demo', structuredClone(p.world.service), {}, false);
    // The new deployment exists within the UpdateService call.
    const second = p.primary();
    expect(second).not.toBe(first);
    expect(p.deployments()).toEqual([second, first]);
    expect(second).toMatchObject({ status: 'PRIMARY', taskDefinition: TD2, rolloutState: 'IN_PROGRESS' });
    expect(first).toMatchObject({ status: 'ACTIVE', taskDefinition: TD1, rolloutState: 'COMPLETED' });
    await p.settle();

    // maximumPercent 200: two new tasks start, the two old keep running.
    const [new1, new2] = p.ofDeployment(second);
    expect(p.ofDeployment(second)).toHaveLength(2);
    expect(new1).toMatchObject({ taskDefinitionArn: TD2, image: 'demo:2', availabilityZone: 'us-east-1a' });
    expect(new2).toMatchObject({ taskDefinitionArn: TD2, availabilityZone: 'us-east-1b' });
    expect(p.ofDeployment(first)).toEqual([old1, old2]);
    expect(p.life.stops).toHaveLength(0);

    // RUNNING but not yet healthy: nothing old may go.
    p.life.up(new1!);
    p.targets.set(new1!.ip, 'initial');
    await p.pass();
    expect(p.life.stops).toHaveLength(0);

    // One new healthy: one old may stop (3 healthy − 1 ≥ 2), not both.
    p.healthy(new1!);
    await p.pass();
    expect(p.life.stops).toHaveLength(1);
    const firstStopped = p.life.stops[0]!;
    expect([old1, old2]).toContain(firstStopped.task);
    expect(firstStopped).toMatchObject({ code: 'ServiceSchedulerInitiated', reason: `Scaling activity initiated by (deployment ${second.id})`, failed: false });
    expect(p.ofDeployment(first)).toHaveLength(1);
    expect(p.events()[0]).toBe(`(service demo) has stopped 1 running tasks: (task ${firstStopped.task.id}).`);
    await p.pass();
    expect(p.life.stops).toHaveLength(1);

    p.serve(new2!);
    await p.pass();
    expect(p.life.stops.map((s) => s.task)).toEqual([old1, old2]);
    expect(p.tasks()).toHaveLength(4); // no task started beyond the two new ones
    // The old deployment stays while its tasks drain.
    expect(p.deployments()).toEqual([second, first]);
    expect(second.rolloutState).toBe('IN_PROGRESS');

    p.life.finish(old1!);
    await p.settle();
    expect(p.deployments()).toEqual([second, first]);
    p.life.finish(old2!);
    await p.settle();
    expect(p.deployments()).toEqual([second]);
    expect(second).toMatchObject({ status: 'PRIMARY', rolloutState: 'COMPLETED', rolloutStateReason: `ECS deployment ${second.id} completed.` });
    expect(p.events().slice(0, 2)).toEqual(['(service demo) has reached a steady state.', `(service demo) (deployment ${second.id}) deployment completed.`]);
    expect(p.live()).toEqual([new1, new2]);
  });

  it('with 50/100 stops one old task first, then starts one new, never more than the desired count live', async () => {
    const p = plane(2);
    const settings = { ...HA_SETTINGS, minimumHealthyPercent: 50, maximumPercent: 100 };
    const [old1, old2] = await steady(p, settings);
    const first = p.primary();
    let mostLive = 0;
    const step = async (run: () => Promise<void>): Promise<void> => {
      await run();
      mostLive = Math.max(mostLive, p.live().length);
    };

    await step(() => deployNew(p));
    const second = p.primary();
    expect(p.ofDeployment(second)).toHaveLength(0);
    expect(p.life.stops.map((s) => s.task)).toHaveLength(1);
    expect([old1, old2]).toContain(p.life.stops[0]!.task);

    await step(() => p.pass());
    const [new1] = p.ofDeployment(second);
    expect(p.ofDeployment(second)).toHaveLength(1);
    expect(p.life.stops).toHaveLength(1);
    // It goes to the AZ the stopped old task left.
    expect(new1!.availabilityZone).toBe(p.life.stops[0]!.task.availabilityZone);

    await step(() => p.pass());
    expect(p.life.stops).toHaveLength(1); // the new one is not healthy yet

    p.serve(new1!);
    await step(() => p.pass());
    expect(p.life.stops).toHaveLength(2);
    expect(p.ofDeployment(second)).toHaveLength(1);

    await step(() => p.pass());
    const [, new2] = p.ofDeployment(second);
    expect(new2).toBeDefined();
    p.serve(new2!);
    for (const old of [old1!, old2!]) p.life.finish(old);
    await step(() => p.settle());
    await step(() => p.pass());
    expect(p.deployments()).toEqual([second]);
    expect(second.rolloutState).toBe('COMPLETED');
    expect(first.status).toBe('ACTIVE');
    expect(mostLive).toBe(2);
    expect(p.tasks()).toHaveLength(4);
  });
});

describe('Scheduler: scaling in', () => {
  it('takes healthy tasks from the busiest AZ, not simply the newest', async () => {
    const p = plane(3);
    const [t1, t2, t3] = await steady(p);
    expect([t1, t2, t3].map((t) => t!.availabilityZone)).toEqual(['us-east-1a', 'us-east-1b', 'us-east-1a']);
    // Replace t2 so that the newest task (t4) sits in the less busy AZ.
    p.scheduler.stopTask(t2!, undefined);
    await p.settle();
    p.life.finish(t2!);
    const t4 = p.live().find((t) => ![t1, t3].includes(t));
    expect(t4!.availabilityZone).toBe('us-east-1b');
    p.serve(t4!);
    await p.pass();
    const stopsBefore = p.life.stops.length;

    p.world.service.desiredCount = 2;
    await p.pass();
    const stopped = p.life.stops.slice(stopsBefore);
    expect(stopped.map((s) => s.task)).toEqual([t3]);
    expect(stopped[0]).toMatchObject({ code: 'ServiceSchedulerInitiated', reason: `Scaling activity initiated by (deployment ${p.primary().id})` });
    expect(p.live()).toEqual([t1, t4]);
    expect(p.events()[0]).toBe(`(service demo) has stopped 1 running tasks: (task ${t3!.id}).`);
  });

  it('3 → 1: stops the task that is not serving yet first, then one from the busiest AZ', async () => {
    const p = plane(3);
    const [t1, t2, t3] = await steady(p);
    p.scheduler.stopTask(t2!, undefined);
    await p.settle();
    p.life.finish(t2!);
    await p.settle();
    const t4 = p.live().find((t) => ![t1, t3].includes(t));
    expect(t4!.availabilityZone).toBe('us-east-1b');
    // t4 is RUNNING but its target is still in its initial checks.
    p.life.up(t4!);
    p.targets.set(t4!.ip, 'initial');
    const stopsBefore = p.life.stops.length;

    p.world.service.desiredCount = 1;
    await p.pass();
    const stopped = p.life.stops.slice(stopsBefore).map((s) => s.task);
    expect(stopped).toEqual([t4, t3]);
    expect(p.live()).toEqual([t1]);
    expect(p.events()).toContain(`(service demo) has stopped 2 running tasks: (task ${t4!.id}) (task ${t3!.id}).`);
    // Nothing is started again, and the service is steady once the stopped ones are gone.
    p.life.finish(t3!);
    p.life.finish(t4!);
    await p.settle();
    expect(p.live()).toEqual([t1]);
    expect(p.local().steady).toBe(true);
  });
});

/** Moto now names these subnets, as after an UpdateService with a networkConfiguration (told to the scheduler when `seen`). */
async function moveTo(p: Plane, subnets: string[], seen = true): Promise<void> {
  p.world.service.networkConfiguration = { awsvpcConfiguration: { subnets, securityGroups: ['sg-tasks'], assignPublicIp: 'ENABLED' } };
  if (seen) p.scheduler.serviceUpdated('demo', structuredClone(p.world.service), {}, false);
  await p.settle();
}

/** Serves every task of the primary deployment and lets the older ones finish stopping: the deployment completes. */
async function complete(p: Plane): Promise<void> {
  p.serve(...p.ofDeployment(p.primary()));
  await p.pass();
  for (const task of p.tasks().filter((t) => t.desiredStatus === 'STOPPED' && t.lastStatus !== 'STOPPED')) p.life.finish(task);
  await p.settle();
  await p.pass();
  expect(p.deployments()).toHaveLength(1);
  expect(p.primary().rolloutState).toBe('COMPLETED');
}

const zonesOf = (tasks: LocalTask[]): string[] => tasks.map((t) => t.availabilityZone);

describe('Scheduler: a change of subnets (a zone taken away and given back)', () => {
  it('is a new deployment, placed only in the AZs of the subnets given now; a task stopped meanwhile is not replaced in the zone left out', async () => {
    const p = plane(2);
    const [a, b] = await steady(p);
    const first = p.primary();

    await moveTo(p, ['subnet-bbb', 'subnet-ccc']);
    const second = p.primary();
    // Within the UpdateService call, as ECS does for a new network configuration.
    expect(second).not.toBe(first);
    expect(second).toMatchObject({ status: 'PRIMARY', taskDefinition: TD1, rolloutState: 'IN_PROGRESS' });
    expect(p.scheduler.deploymentNetwork(second.id)?.awsvpcConfiguration.subnets).toEqual(['subnet-bbb', 'subnet-ccc']);
    expect(p.scheduler.deploymentNetwork(first.id)?.awsvpcConfiguration.subnets).toEqual(['subnet-aaa', 'subnet-bbb']);
    expect(zonesOf(p.ofDeployment(second))).toEqual(['us-east-1c', 'us-east-1b']);
    expect(p.ofDeployment(second).map((t) => t.subnetId)).toEqual(['subnet-ccc', 'subnet-bbb']);

    // The drill stops the zone's task: nothing new goes to us-east-1a.
    p.scheduler.stopTask(a!, 'ecs-ha chaos: kill-az us-east-1a test');
    await p.settle();
    await complete(p);
    expect(p.life.stops.map((s) => s.task)).toEqual([a, b]);
    expect(zonesOf(p.live())).toEqual(['us-east-1c', 'us-east-1b']);
    expect(p.tasks().filter((t) => t.availabilityZone === 'us-east-1a')).toEqual([a]);
    expect(p.scheduler.deploymentNetwork(first.id)).toBeUndefined();

    // Given back straight to moto (not through the endpoint): a new deployment all the same, over every AZ.
    await moveTo(p, ['subnet-aaa', 'subnet-bbb', 'subnet-ccc'], false);
    await p.pass();
    const third = p.primary();
    expect(third).not.toBe(second);
    // Spread by the service's tasks per AZ: us-east-1a first (none there), then a tie broken by subnet order.
    expect(zonesOf(p.ofDeployment(third))).toEqual(['us-east-1a', 'us-east-1a']);
    await complete(p);
    // Rebalancing is off in this service: the tasks stay bunched.
    await p.pass();
    expect(zonesOf(p.live())).toEqual(['us-east-1a', 'us-east-1a']);
    expect(p.events().some((e) => e.includes('AZ balanced'))).toBe(false);
  });

  it('a pass that read moto before an UpdateService applies the change it did not see: a task stopped at once is replaced from the new deployment, outside the zone taken away', async () => {
    // The zone drill's race: UpdateService (the zone's subnets out) and at once StopTask, while a
    // pass that had read moto before the update was still under way.
    const p = plane(3);
    p.world.service.networkConfiguration = { awsvpcConfiguration: { subnets: ['subnet-aaa', 'subnet-bbb', 'subnet-ccc'], assignPublicIp: 'ENABLED' } };
    const running = await steady(p);
    const inA = running.find((t) => t.availabilityZone === 'us-east-1a')!;
    const stale = staleRead(p);
    p.scheduler.poke();
    p.world.service.networkConfiguration = { awsvpcConfiguration: { subnets: ['subnet-bbb', 'subnet-ccc'], assignPublicIp: 'ENABLED' } };
    p.scheduler.serviceUpdated('demo', structuredClone(p.world.service), {}, false);
    p.scheduler.stopTask(inA, 'ecs-ha chaos: kill-az us-east-1a test');
    stale.release();
    await p.settle();

    expect(stale.reads()).toBeGreaterThan(1);
    const started = p.tasks().filter((t) => !running.includes(t));
    expect(started.length).toBeGreaterThan(0);
    expect(started.filter((t) => t.availabilityZone === 'us-east-1a')).toEqual([]);
    // One new deployment, with the new subnets: the stale read started none of its own.
    expect(p.deployments()).toHaveLength(2);
    expect(p.scheduler.deploymentNetwork(p.primary().id)?.awsvpcConfiguration.subnets).toEqual(['subnet-bbb', 'subnet-ccc']);
    expect(started.every((t) => t.deploymentId === p.primary().id)).toBe(true);
  });

  it('a pass that read moto before an UpdateService of the desired count keeps the new count', async () => {
    const p = plane(2);
    await steady(p);
    // Later passes wait: a later one would read the new count from moto anyway.
    const stale = staleRead(p, { holdLater: true });
    p.scheduler.poke();
    p.world.service.desiredCount = 3;
    p.scheduler.serviceUpdated('demo', structuredClone(p.world.service), {}, false);
    stale.release();
    try {
      await vi.waitFor(() => expect(stale.reads()).toBeGreaterThanOrEqual(2), { timeout: 2_000, interval: 1 });
      expect(p.local().desiredCount).toBe(3);
      expect(p.live()).toHaveLength(3);
    } finally {
      // Before afterEach closes the scheduler, which waits for the pass held here.
      stale.releaseLater();
    }
    await p.settle();
  });

  it('with Availability Zone rebalancing ENABLED, a steady service bunched in one AZ gets a task started in the emptiest AZ, then one stopped in the busiest once the new one serves', async () => {
    const p = plane(2);
    const settings = { ...HA_SETTINGS, availabilityZoneRebalancing: 'ENABLED' };
    p.world.service.networkConfiguration = { awsvpcConfiguration: { subnets: ['subnet-aaa', 'subnet-bbb', 'subnet-ccc'], assignPublicIp: 'ENABLED' } };
    await steady(p, settings);
    await moveTo(p, ['subnet-bbb', 'subnet-ccc']);
    await complete(p);
    // Balanced over the AZs the service has now: no move.
    await p.pass();
    expect(p.events().some((e) => e.includes('AZ balanced'))).toBe(false);

    await moveTo(p, ['subnet-aaa', 'subnet-bbb', 'subnet-ccc']);
    expect(zonesOf(p.ofDeployment(p.primary()))).toEqual(['us-east-1a', 'us-east-1a']);
    await complete(p);
    const [a1, a2] = p.live();
    // Steady and bunched: the move starts (the pass that completed the deployment also looked).
    const added = p.live().find((t) => t !== a1 && t !== a2);
    expect(added).toMatchObject({ availabilityZone: 'us-east-1b', deploymentId: p.primary().id, lastStatus: 'PROVISIONING' });
    expect(p.events().slice(0, 2)).toEqual([
      `demo has started 1 tasks in us-east-1b to AZ Rebalance: ${added!.id}.`,
      'service (demo) is not AZ balanced with 2 tasks in us-east-1a, 0 tasks in us-east-1b, 0 tasks in us-east-1c. AZ Rebalancing in progress.',
    ]);
    // maximumPercent allows more, but one move at a time; nothing stops before the new task serves.
    const stopsBefore = p.life.stops.length;
    p.life.up(added!);
    p.targets.set(added!.ip, 'initial');
    await p.pass();
    expect(p.life.stops).toHaveLength(stopsBefore);
    expect(p.live()).toHaveLength(3);

    p.healthy(added!);
    await p.pass();
    const stopped = p.life.stops.slice(stopsBefore);
    expect(stopped).toHaveLength(1);
    expect(stopped[0]).toMatchObject({ code: 'ServiceSchedulerInitiated', reason: `Availability Zone rebalancing initiated by (deployment ${p.primary().id})` });
    expect([a1, a2]).toContain(stopped[0]!.task);
    expect(p.events()).toContain(`demo has stopped 1 running tasks in us-east-1a due to AZ rebalancing: ${stopped[0]!.task.id}.`);
    expect(zonesOf(p.live()).sort()).toEqual(['us-east-1a', 'us-east-1b']);
    expect(p.events()[0]).toBe('service (demo) is AZ balanced with 1 tasks in us-east-1a, 1 tasks in us-east-1b, 0 tasks in us-east-1c.');
    p.life.finish(stopped[0]!.task);
    await p.settle();
    await p.pass();
    expect(p.local().steady).toBe(true);
    // Balanced: nothing more moves.
    await p.pass();
    expect(p.tasks().filter((t) => t.desiredStatus === 'RUNNING')).toHaveLength(2);
  });

  it('rebalancing waits for room under maximumPercent, and starts once the setting allows the extra task', async () => {
    const p = plane(2);
    p.world.service.networkConfiguration = { awsvpcConfiguration: { subnets: ['subnet-bbb', 'subnet-ccc'], assignPublicIp: 'ENABLED' } };
    await steady(p);
    await moveTo(p, ['subnet-aaa', 'subnet-bbb', 'subnet-ccc']);
    await complete(p);
    expect(zonesOf(p.live())).toEqual(['us-east-1a', 'us-east-1a']);

    // Turned on with maximumPercent 100: two tasks are already the most allowed.
    p.scheduler.serviceUpdated('demo', structuredClone(p.world.service), { availabilityZoneRebalancing: 'ENABLED', maximumPercent: 100, minimumHealthyPercent: 50 }, false);
    await p.settle();
    await p.pass();
    expect(p.live()).toHaveLength(2);
    expect(p.events().some((e) => e.includes('AZ Rebalanc'))).toBe(false);

    p.scheduler.serviceUpdated('demo', structuredClone(p.world.service), { maximumPercent: 150 }, false);
    await p.settle();
    expect(zonesOf(p.live())).toEqual(['us-east-1a', 'us-east-1a', 'us-east-1b']);
    expect(p.events()[0]).toMatch(/^demo has started 1 tasks in us-east-1b to AZ Rebalance: [0-9a-f]{32}\.$/);
  });
});

describe('Scheduler: deployment circuit breaker', () => {
  it('fails a deployment after 3 failed tasks and rolls back to the previous one, whose tasks keep running', async () => {
    const p = plane(2);
    const [old1, old2] = await steady(p);
    const first = p.primary();
    await deployNew(p);
    const second = p.primary();
    const [n1, n2] = p.ofDeployment(second);
    expect(p.ofDeployment(second)).toHaveLength(2);

    p.fail(n1!);
    p.fail(n2!);
    await p.settle();
    // Two failures: still in progress, and replaced.
    expect(second).toMatchObject({ rolloutState: 'IN_PROGRESS', failedTasks: 2 });
    const [n3, n4] = p.ofDeployment(second);
    expect(p.ofDeployment(second)).toHaveLength(2);
    expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(0);

    // Hold moto's answer to the rollback's UpdateService: until it comes, a pass must not act on
    // what moto still says (TD2) by starting yet another deployment of it.
    const answer = holdUpdateService(p);
    p.fail(n3!);
    await p.settle();
    expect(p.local().rollingBack).toBe(true);
    await p.pass();
    expect(p.deployments().map((d) => d.taskDefinition)).toEqual([TD1, TD2]);
    expect(p.life.plans).toHaveLength(6); // nothing started meanwhile
    answer();
    await p.settle();
    expect(p.local().rollingBack).toBe(false);
    expect(second).toMatchObject({ status: 'ACTIVE', rolloutState: 'FAILED', rolloutStateReason: 'ECS deployment circuit breaker: tasks failed to start.', failedTasks: 3 });
    const rollback = p.primary();
    expect(rollback).not.toBe(first);
    expect(rollback).toMatchObject({ status: 'PRIMARY', taskDefinition: TD1 });
    expect(p.deployments()).not.toContain(first);
    // The previous deployment's tasks carry on in it: adopted, not restarted.
    expect(p.ofDeployment(rollback)).toEqual([old1, old2]);
    expect(old1).toMatchObject({ desiredStatus: 'RUNNING', lastStatus: 'RUNNING' });
    expect(p.life.plans.filter((plan) => plan.task.taskDefinitionArn === TD1)).toHaveLength(2);
    expect(p.events()).toContain(`(service demo) (deployment ${second.id}) deployment failed: tasks failed to start.`);
    expect(p.events()).toContain(`(service demo) rolling back to deployment ${first.id}.`);
    // moto is told: the service runs the previous task definition again.
    expect(ecs.commandCalls(UpdateServiceCommand).map((call) => call.args[0].input)).toEqual([{ cluster: 'demo', service: 'demo', taskDefinition: TD1 }]);
    expect(p.world.service.taskDefinition).toBe(TD1);

    // The failed deployment's last task is stopped, nothing of TD2 is started again, and the rollback completes.
    expect(n4!.desiredStatus).toBe('STOPPED');
    expect(p.life.stops.find((s) => s.task === n4)).toMatchObject({ code: 'ServiceSchedulerInitiated', failed: false });
    expect(rollback.rolloutState).toBe('IN_PROGRESS');
    expect(rollback.rolloutStateReason).toBe(`ECS deployment circuit breaker: rolling back to deploymentId ${first.id}.`);
    p.life.finish(n4!);
    await p.settle();
    await p.pass();
    expect(p.deployments()).toEqual([rollback]);
    expect(rollback.rolloutState).toBe('COMPLETED');
    expect(p.live()).toEqual([old1, old2]);
    expect(p.life.plans).toHaveLength(6); // 2 first + 4 failed-deployment tasks, no more
    expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(1);
  });

  it('a pass that read moto before the rollback changed it does not deploy the failed revision again', async () => {
    const p = plane(2);
    await steady(p);
    await deployNew(p);
    const answer = holdUpdateService(p);
    for (let failed = 0; failed < 3; failed++) {
      p.fail(p.ofDeployment(p.primary())[0]!);
      await p.settle();
    }
    expect(p.local().rollingBack).toBe(true);
    // A pass reads moto (still TD2) while the rollback's UpdateService is unanswered, and goes on after it.
    const stale = staleRead(p);
    p.scheduler.poke();
    answer();
    while (p.local().rollingBack) await new Promise((resolve) => setImmediate(resolve));
    stale.release();
    await p.settle();
    expect(stale.reads()).toBeGreaterThan(1);
    expect(p.primary().taskDefinition).toBe(TD1);
    expect(p.deployments().filter((d) => d.taskDefinition === TD2 && d.rolloutState !== 'FAILED')).toEqual([]);
    expect(p.live().filter((t) => t.taskDefinitionArn === TD2)).toEqual([]);
  });

  it('counts only failed launches: tasks stopped by the user or the scheduler do not trip it', async () => {
    const p = plane(2);
    await created(p);
    for (let round = 0; round < 3; round++) {
      for (const task of p.live()) {
        p.scheduler.stopTask(task, 'not a failure');
        p.life.finish(task);
      }
      await p.settle();
    }
    expect(p.life.plans).toHaveLength(8);
    expect(p.primary()).toMatchObject({ rolloutState: 'IN_PROGRESS', failedTasks: 0 });
    expect(p.live()).toHaveLength(2);
  });

  it('with rollback off: FAILED, and no more tasks launched', async () => {
    const p = plane(2);
    const settings = { ...HA_SETTINGS, circuitBreaker: { enable: true, rollback: false } };
    const [old1, old2] = await steady(p, settings);
    const first = p.primary();
    await deployNew(p);
    const second = p.primary();
    for (const task of p.ofDeployment(second)) p.fail(task);
    await p.settle();
    const [n3, n4] = p.ofDeployment(second);
    p.fail(n3!);
    p.fail(n4!);
    await p.settle();
    expect(second).toMatchObject({ status: 'PRIMARY', rolloutState: 'FAILED', rolloutStateReason: 'ECS deployment circuit breaker: tasks failed to start.', failedTasks: 3 });
    const launched = p.life.plans.length;
    await p.pass();
    await p.pass();
    expect(p.life.plans).toHaveLength(launched);
    expect(p.ofDeployment(second)).toHaveLength(0);
    // The old tasks keep serving, under the old deployment.
    expect(p.live()).toEqual([old1, old2]);
    expect(p.deployments()).toEqual([second, first]);
    expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(0);
    expect(p.events().some((e) => e.includes('rolling back'))).toBe(false);
  });

  it('a failing first deployment has nothing to roll back to: FAILED, nothing sent to moto', async () => {
    const p = plane(2);
    await created(p);
    const first = p.primary();
    for (const task of p.live()) p.fail(task);
    await p.settle();
    p.fail(p.live()[0]!);
    await p.settle();
    expect(first).toMatchObject({ status: 'PRIMARY', rolloutState: 'FAILED', failedTasks: 3 });
    expect(p.deployments()).toEqual([first]);
    expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(0);
    const launched = p.life.plans.length;
    await p.pass();
    expect(p.life.plans).toHaveLength(launched);
  });

  it('without the circuit breaker, failed tasks are just replaced', async () => {
    const p = plane(2);
    await created(p, { ...HA_SETTINGS, circuitBreaker: { enable: false, rollback: false } });
    for (let round = 0; round < 3; round++) {
      for (const task of p.live()) p.fail(task);
      await p.settle();
    }
    expect(p.primary()).toMatchObject({ rolloutState: 'IN_PROGRESS', failedTasks: 6 });
    expect(p.live()).toHaveLength(2);
  });

  it('survives a rollback whose UpdateService moto refuses: the failure is logged, not thrown', async () => {
    const p = plane(2);
    await steady(p);
    ecs.on(UpdateServiceCommand).rejects(Object.assign(new Error('Service not found.'), { name: 'ServiceNotFoundException' }));
    await deployNew(p);
    const second = p.primary();
    for (const task of p.ofDeployment(second)) p.fail(task);
    await p.settle();
    p.fail(p.ofDeployment(second)[0]!);
    await p.settle();
    expect(second.rolloutState).toBe('FAILED');
    expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(1);
    expect(p.logs.some((line) => line.includes('Service not found.'))).toBe(true);
    expect(p.local().rollingBack).toBe(false);
  });

  it('threshold: half the desired count, at least 3, at most 200', () => {
    expect(circuitBreakerThreshold(0)).toBe(3);
    expect(circuitBreakerThreshold(1)).toBe(3);
    expect(circuitBreakerThreshold(2)).toBe(3);
    expect(circuitBreakerThreshold(7)).toBe(4);
    expect(circuitBreakerThreshold(10)).toBe(5);
    expect(circuitBreakerThreshold(400)).toBe(200);
    expect(circuitBreakerThreshold(1000)).toBe(200);
  });
});

describe('Scheduler: deleting the service', () => {
  it('stops every task, starting and serving, and starts none again', async () => {
    const p = plane(2);
    const [a, b] = await steady(p);
    p.world.service.desiredCount = 3;
    await p.pass();
    const c = p.live().find((t) => t !== a && t !== b);
    expect(c!.lastStatus).toBe('PROVISIONING');
    const id = p.primary().id;

    p.scheduler.serviceDeleted('demo', 'demo');
    expect(p.local().deleted).toBe(true);
    await p.settle();
    expect(p.live()).toHaveLength(0);
    for (const task of [a, b, c]) {
      expect(p.life.stops.find((s) => s.task === task)).toMatchObject({ code: 'ServiceSchedulerInitiated', reason: `Scaling activity initiated by (deployment ${id})`, failed: false });
    }
    expect(a!.lastStatus).toBe('DEACTIVATING');

    // moto still lists it for a moment (and then no more): nothing starts again.
    for (const task of [a!, b!, c!]) p.life.finish(task);
    await p.pass();
    p.world.listed = false;
    await p.pass();
    expect(p.tasks()).toHaveLength(3);
    expect(p.tasks().every((t) => t.lastStatus === 'STOPPED')).toBe(true);
  });

  it('a service created while a pass is reading moto is not taken for deleted by that pass', async () => {
    const p = plane(2);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const listed = p.world.services.bind(p.world);
    // The pass under way read moto before CreateService: it lists nothing; later passes list the service.
    let reads = 0;
    p.world.services = async () => {
      if (reads++ > 0) return listed();
      await gate;
      return [];
    };
    p.scheduler.poke();
    p.scheduler.serviceCreated('demo', structuredClone(p.world.service), HA_SETTINGS);
    release();
    await p.settle();
    expect(reads).toBeGreaterThan(1);
    expect(p.local().deleted).toBe(false);
    expect(p.live()).toHaveLength(2);
  });

  it('a service moto stops listing is drained the same way', async () => {
    const p = plane(2);
    await steady(p);
    p.world.listed = false;
    await p.pass();
    expect(p.local().deleted).toBe(true);
    expect(p.live()).toHaveLength(0);
  });
});
