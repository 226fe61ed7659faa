/**
 * `ecs-ha scale N`: N validated before any AWS call, kept within the autoscaling range, set with
 * one UpdateService under the stack's lock, then the same wait as `up`, then the spread over AZs.
 */
import { ApplicationAutoScalingClient, DescribeScalableTargetsCommand, type ScalableTarget } from '@aws-sdk/client-application-auto-scaling';
import { DescribeServicesCommand, DescribeTasksCommand, ECSClient, ListTasksCommand, UpdateServiceCommand, type Service, type Task } from '@aws-sdk/client-ecs';
import { DescribeTargetHealthCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AwsClients, isMutatingOperation } from '../../../src/aws/clients.js';
import { parseCount, runScale, scaleAction, type ScaleCliOptions } from '../../../src/commands/scale.js';
import { ExitCode, OperationError, UsageError } from '../../../src/errors.js';
import type { Session } from '../../../src/session.js';
import { acquireLock, StateStore } from '../../../src/state/store.js';
import { createReporter } from '../../../src/ui/reporter.js';
import { ACCOUNT, fakeClock, REGION, scriptedRunner } from '../../helpers/context.js';

const ecs = mockClient(ECSClient);
const elbv2 = mockClient(ElasticLoadBalancingV2Client);
const autoScaling = mockClient(ApplicationAutoScalingClient);
const sts = mockClient(STSClient);
const MOCKS = [ecs, elbv2, autoScaling, sts];

const TG_ARN = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/demo-tg/73e2d6bc24d8a067';
const ZONES = ['us-east-1a', 'us-east-1b', 'us-east-1c'];

function stackStateDir(options: { serviceOrigin?: 'created' | 'adopted' } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'ecs-ha-scale-'));
  const state = StateStore.open(dir, 'demo', ACCOUNT, REGION);
  state.record('cluster', { id: 'demo', arn: 'arn:aws:ecs:us-east-1:123456789012:cluster/demo', origin: 'created' });
  state.record('network', { id: 'vpc-1', origin: 'adopted', details: { subnetIds: ['subnet-a', 'subnet-b', 'subnet-c'], availabilityZones: ZONES } });
  state.record('targetGroup', { id: TG_ARN, arn: TG_ARN, origin: 'created' });
  state.record('loadBalancer', { id: 'arn:lb', arn: 'arn:lb', origin: 'created', details: { dnsName: 'demo-alb-1.us-east-1.elb.amazonaws.com' } });
  state.record('service', { id: 'demo', arn: 'arn:aws:ecs:us-east-1:123456789012:service/demo/demo', origin: options.serviceOrigin ?? 'created', details: { cluster: 'demo' } });
  return dir;
}

interface CapturedSession extends Session {
  stderr: string[];
}

function testSession(stateDir: string): CapturedSession {
  const stderr: string[] = [];
  const sink = (lines: string[]) => ({ write: (chunk: string) => (lines.push(String(chunk)), true) }) as unknown as NodeJS.WritableStream;
  return {
    stack: 'demo',
    stateDir,
    local: false,
    json: false,
    aws: new AwsClients({ region: REGION, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 }),
    reporter: createReporter({ json: false, interactive: false, stdout: sink([]), stderr: sink(stderr) }),
    clock: fakeClock(),
    runner: scriptedRunner(),
    signal: new AbortController().signal,
    stderr,
  };
}

function taskOf(n: number, az: string): Task {
  return {
    taskArn: `arn:aws:ecs:us-east-1:123456789012:task/demo/t${n}`,
    lastStatus: 'RUNNING',
    desiredStatus: 'RUNNING',
    availabilityZone: az,
    attachments: [{ type: 'ElasticNetworkInterface', details: [{ name: 'privateIPv4Address', value: `10.0.${n}.10` }] }],
  };
}

/**
 * A service that behaves as ECS does on a scale: UpdateService sets the desired count; the next
 * look shows the new tasks pending, the one after it running; their targets pass their health
 * checks one look later (or at once, with `settlesAtOnce`). Tasks go round the three zones.
 */
function scriptedService(initialDesired: number, options: { settlesAtOnce?: boolean } = {}): { desired: () => number } {
  let desired = initialDesired;
  let running = initialDesired;
  let healthyTargets = initialDesired;
  ecs.on(UpdateServiceCommand).callsFake((input: { desiredCount: number }) => {
    desired = input.desiredCount;
    // The command's own tests run on the real clock: nothing for the wait to poll for there.
    if (options.settlesAtOnce) running = healthyTargets = desired;
    return { service: { serviceName: 'demo', desiredCount: desired } };
  });
  ecs.on(DescribeServicesCommand).callsFake((): { services: Service[] } => {
    const pending = running < desired ? desired - running : 0;
    const service: Service = {
      serviceName: 'demo',
      status: 'ACTIVE',
      desiredCount: desired,
      runningCount: running,
      pendingCount: pending,
      deployments: [{ status: 'PRIMARY', rolloutState: 'COMPLETED', desiredCount: desired, runningCount: running }],
    };
    running = desired; // the pending tasks are running by the next look
    return { services: [service] };
  });
  elbv2.on(DescribeTargetHealthCommand).callsFake(() => {
    const states = Array.from({ length: desired }, (_, i) => (i < healthyTargets ? 'healthy' : 'initial'));
    healthyTargets = desired;
    return { TargetHealthDescriptions: states.map((State, i) => ({ Target: { Id: `10.0.${i + 1}.10`, Port: 8080 }, TargetHealth: { State } })) };
  });
  ecs.on(ListTasksCommand).callsFake(() => ({ taskArns: Array.from({ length: desired }, (_, i) => `arn:aws:ecs:us-east-1:123456789012:task/demo/t${i + 1}`) }));
  ecs.on(DescribeTasksCommand).callsFake((input: { tasks: string[] }) => ({ tasks: input.tasks.map((_, i) => taskOf(i + 1, ZONES[i % ZONES.length]!)) }));
  return { desired: () => desired };
}

function autoscalingRange(min: number, max: number): void {
  const target: ScalableTarget = { ServiceNamespace: 'ecs', ResourceId: 'service/demo/demo', ScalableDimension: 'ecs:service:DesiredCount', MinCapacity: min, MaxCapacity: max, RoleARN: 'arn:role', CreationTime: new Date() };
  autoScaling.on(DescribeScalableTargetsCommand).resolves({ ScalableTargets: [target] });
}

function operationsCalled(): string[] {
  return MOCKS.flatMap((mock) => mock.calls().map((call) => (call.args[0] as object).constructor.name.replace(/Command$/, '')));
}

beforeEach(() => {
  for (const mock of MOCKS) mock.reset();
  sts.on(GetCallerIdentityCommand).resolves({ Account: ACCOUNT });
  autoScaling.on(DescribeScalableTargetsCommand).resolves({ ScalableTargets: [] });
});

describe('parseCount', () => {
  it('takes a whole number from 1 to 100', () => {
    expect(['1', '3', '100'].map(parseCount)).toEqual([1, 3, 100]);
  });

  it.each(['0', '101', 'abc', '2.5', '', '-3', '3x'])('refuses %j, naming N and the range', (raw) => {
    expect(() => parseCount(raw)).toThrow(new UsageError(`invalid N (the desired count) "${raw}": expected a whole number from 1 to 100`));
  });
});

describe('runScale', () => {
  it('sets the desired count, waits until steady with every target healthy, and reports the spread over the AZs', async () => {
    const service = scriptedService(2);
    const session = testSession(stackStateDir());

    const result = await runScale(session, 3, { timeoutMs: 60_000 });

    expect(ecs.commandCalls(UpdateServiceCommand).map((c) => c.args[0].input)).toEqual([{ cluster: 'demo', service: 'demo', desiredCount: 3 }]);
    expect(service.desired()).toBe(3);
    expect(result).toMatchObject({ previousDesired: 2, desired: 3, changed: true, autoScaling: null });
    expect(result.health).toEqual({ runningCount: 3, healthyTargets: 3, availabilityZones: ZONES });
    expect(result.zones).toEqual(ZONES.map((zone) => ({ zone, tasks: 1, healthy: 1 })));
    // It waited (polled) for the pending task and for the target still in its initial health check.
    expect((session.clock as ReturnType<typeof fakeClock>).slept.length).toBeGreaterThanOrEqual(2);
    expect(operationsCalled().filter(isMutatingOperation)).toEqual(['UpdateService']);
  });

  it('refuses N outside the autoscaling range (exit 2), naming the range, and changes nothing', async () => {
    scriptedService(2);
    autoscalingRange(2, 4);

    for (const count of [5, 1]) {
      const refused = runScale(testSession(stackStateDir()), count, { timeoutMs: 60_000 });
      await expect(refused).rejects.toBeInstanceOf(UsageError);
      await expect(refused).rejects.toMatchObject({
        exitCode: ExitCode.usage,
        message: `invalid N ${count}: autoscaling keeps service demo between 2 and 4 tasks (scalable target service/demo/demo); choose N from 2 to 4`,
      });
    }
    expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(0);
  });

  it('scales within the autoscaling range, and warns that autoscaling may change the count again', async () => {
    scriptedService(2);
    autoscalingRange(2, 4);
    const session = testSession(stackStateDir());

    const result = await runScale(session, 4, { timeoutMs: 60_000 });

    expect(result.autoScaling).toEqual({ min: 2, max: 4 });
    expect(ecs.commandCalls(UpdateServiceCommand)[0]?.args[0].input.desiredCount).toBe(4);
    expect(session.stderr.join('')).toContain('autoscaling is on (min 2, max 4): it may change the desired count again');
  });

  it('accepts any valid N when autoscaling is off', async () => {
    scriptedService(2);

    const result = await runScale(testSession(stackStateDir()), 7, { timeoutMs: 60_000 });

    expect(ecs.commandCalls(UpdateServiceCommand)[0]?.args[0].input.desiredCount).toBe(7);
    expect(result.zones.map((z) => z.tasks)).toEqual([3, 2, 2]);
  });

  it('changes nothing when the service already has N desired, and still checks it is steady and healthy', async () => {
    scriptedService(3);

    const result = await runScale(testSession(stackStateDir()), 3, { timeoutMs: 60_000 });

    expect(result).toMatchObject({ previousDesired: 3, desired: 3, changed: false });
    expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(0);
    expect(elbv2.commandCalls(DescribeTargetHealthCommand).length).toBeGreaterThan(0);
  });

  it('does not change a service the stack adopted', async () => {
    scriptedService(2);

    await expect(runScale(testSession(stackStateDir({ serviceOrigin: 'adopted' })), 3, { timeoutMs: 60_000 })).rejects.toThrow(OperationError);
    expect(operationsCalled().filter(isMutatingOperation)).toEqual([]);
  });

  it('refuses while another command holds the stack\'s lock', async () => {
    scriptedService(2);
    const dir = stackStateDir();
    const release = acquireLock(dir, 'demo', 'up', () => undefined);
    try {
      await expect(runScale(testSession(dir), 3, { timeoutMs: 60_000 })).rejects.toThrow(/locked by `ecs-ha up`/);
    } finally {
      release();
    }
    expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(0);
  });

  it('fails (exit 1) when the service is gone', async () => {
    ecs.on(DescribeServicesCommand).resolves({ services: [], failures: [{ reason: 'MISSING' }] });

    await expect(runScale(testSession(stackStateDir()), 3, { timeoutMs: 60_000 })).rejects.toMatchObject({ exitCode: ExitCode.failed, message: 'service demo is missing in cluster demo' });
    expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(0);
  });
});

describe('scaleAction', () => {
  let stdout: string[];
  let stderr: string[];
  beforeEach(() => {
    vi.stubEnv('AWS_ENDPOINT_URL', undefined);
    vi.stubEnv('ECS_HA_TRACE', undefined);
    stdout = [];
    stderr = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => (stdout.push(String(chunk)), true));
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => (stderr.push(String(chunk)), true));
  });
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });
  const options = (overrides: Partial<ScaleCliOptions> = {}): ScaleCliOptions => ({ stack: 'demo', region: REGION, stateDir: stackStateDir(), timeout: '60', ...overrides });

  it.each(['0', 'abc'])('scale %s: exit 2 before any AWS call', async (raw) => {
    await expect(scaleAction(raw, options())).rejects.toMatchObject({ exitCode: ExitCode.usage, message: expect.stringContaining('N (the desired count)') });
    expect(operationsCalled()).toEqual([]);
  });

  it('scale 1 warns that one task is not highly available, then reports the spread', async () => {
    scriptedService(2, { settlesAtOnce: true });

    await scaleAction('1', options());

    expect(stderr.join('')).toContain('N 1: one task is not highly available; stopping it (a deployment, a failure, chaos) takes the app down. Use 2 or more');
    expect(stdout.join('')).toContain('Service demo scaled from 2 to 1 task in us-east-1: steady, 1 healthy target.');
    expect(stdout.join('')).toContain('Spread: 1 task over 1 of 3 AZs: us-east-1a 1, us-east-1b 0, us-east-1c 0');
  });

  it('--json prints the result as one document', async () => {
    scriptedService(2, { settlesAtOnce: true });

    await scaleAction('3', options({ json: true }));

    const result = JSON.parse(stdout.join(''));
    expect(result).toMatchObject({ stack: 'demo', previousDesired: 2, desired: 3, changed: true });
    expect(result.zones).toEqual(ZONES.map((zone) => ({ zone, tasks: 1, healthy: 1 })));
  });
});
