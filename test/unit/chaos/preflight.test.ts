/** Preflight: which tasks may be stopped, and when the test is refused and why. */
import { DescribeServicesCommand, DescribeTasksCommand, ECSClient, ListTasksCommand, StopTaskCommand, type Service } from '@aws-sdk/client-ecs';
import { DescribeTargetHealthCommand, ElasticLoadBalancingV2Client, type TargetHealthStateEnum } from '@aws-sdk/client-elastic-load-balancing-v2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { AwsClients } from '../../../src/aws/clients.js';
import { parseChaosOptions, type ChaosOptionInput } from '../../../src/chaos/options.js';
import { preflight } from '../../../src/chaos/preflight.js';
import { ExitCode } from '../../../src/errors.js';
import type { StackRefs } from '../../../src/inspect/stack.js';
import { REGION } from '../../helpers/context.js';

const ecs = mockClient(ECSClient);
const elbv2 = mockClient(ElasticLoadBalancingV2Client);
const aws = new AwsClients({ region: REGION, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
const refs: StackRefs = { stack: 'demo', account: '123456789012', region: REGION, cluster: 'demo', service: 'demo', targetGroupArn: 'arn:tg', loadBalancerArn: 'arn:lb', url: 'http://demo-alb' };

const SERVICE_ARN = 'arn:aws:ecs:us-east-1:123456789012:service/demo/demo';
const id = (c: string): string => c.repeat(32);
const arn = (c: string): string => `arn:aws:ecs:us-east-1:123456789012:task/demo/${id(c)}`;
interface T {
  c: string;
  az: string;
  ip: string;
  last?: string;
  desired?: string;
}
const ipOf = (t: T) => [{ type: 'ElasticNetworkInterface', details: [{ name: 'privateIPv4Address', value: t.ip }] }];

function given(service: Partial<Service>, tasks: T[], targets: Array<[string, string]>): void {
  ecs.on(DescribeServicesCommand).resolves({
    services: [{ serviceName: 'demo', serviceArn: SERVICE_ARN, tags: [{ key: 'ecs-ha:stack', value: 'demo' }], status: 'ACTIVE', desiredCount: 2, runningCount: 2, pendingCount: 0, deployments: [{ status: 'PRIMARY', rolloutState: 'COMPLETED' }], ...service }],
  });
  ecs.on(ListTasksCommand).resolves({ taskArns: tasks.map((t) => arn(t.c)) });
  ecs.on(DescribeTasksCommand).resolves({
    tasks: tasks.map((t) => ({ taskArn: arn(t.c), lastStatus: t.last ?? 'RUNNING', desiredStatus: t.desired ?? 'RUNNING', availabilityZone: t.az, attachments: ipOf(t) })),
  });
  elbv2.on(DescribeTargetHealthCommand).resolves({ TargetHealthDescriptions: targets.map(([Id, State]) => ({ Target: { Id }, TargetHealth: { State: State as TargetHealthStateEnum } })) });
}

const options = (overrides: Partial<ChaosOptionInput> = {}) =>
  parseChaosOptions({ killOne: true, rps: '10', baseline: '0', settle: '0', timeout: '60', maxFailures: '0', ...overrides });
const first = () => 0;
const last = (count: number) => count - 1;

const A: T = { c: 'a', az: 'us-east-1a', ip: '10.0.1.10' };
const B: T = { c: 'b', az: 'us-east-1b', ip: '10.0.2.20' };
const C: T = { c: 'c', az: 'us-east-1a', ip: '10.0.1.30' };
const stoppingA: T = { ...A, last: 'DEACTIVATING', desired: 'STOPPED' };

beforeEach(() => {
  ecs.reset();
  elbv2.reset();
});

describe('preflight', () => {
  it("refuses, even with --force, a service that is not provably the stack's: a state file pointed at the user's prod cluster", async () => {
    given({ tags: [] }, [A, B], [['10.0.1.10', 'healthy'], ['10.0.2.20', 'healthy']]);
    await expect(preflight(aws, refs, options({ force: true }), first)).rejects.toMatchObject({
      exitCode: ExitCode.failed,
      message: expect.stringContaining("is not provably stack \"demo\"'s: it does not carry the tag ecs-ha:stack=demo; nothing was stopped"),
    });
    await expect(preflight(aws, { ...refs, cluster: 'prod' }, options({ force: true }), first)).rejects.toThrow('its cluster is "prod", not "demo"');
    await expect(preflight(aws, { ...refs, account: '999999999999' }, options({ force: true }), first)).rejects.toThrow("not the stack's account 999999999999");
    expect(ecs.commandCalls(ListTasksCommand)).toHaveLength(0);
  });

  it('a steady service with two healthy tasks: picks the task `pick` names, no warnings', async () => {
    given({}, [A, B], [['10.0.1.10', 'healthy'], ['10.0.2.20', 'healthy']]);
    const result = await preflight(aws, refs, options(), last);
    expect(result.victims.map((t) => t.id)).toEqual([id('b')]);
    expect(result.taskArnsBefore).toEqual([arn('a'), arn('b')]);
    expect(result.warnings).toEqual([]);
  });

  it('a task already stopping is never chosen; while its target drains the test is refused without --force', async () => {
    given({}, [stoppingA, B, C], [['10.0.1.10', 'draining'], ['10.0.2.20', 'healthy'], ['10.0.1.30', 'healthy']]);
    await expect(preflight(aws, refs, options(), first)).rejects.toMatchObject({
      exitCode: ExitCode.failed,
      message: 'service demo is not ready for a chaos test: not every target is healthy: 10.0.1.10 draining',
    });
    const forced = await preflight(aws, refs, options({ force: true }), first);
    expect(forced.running.map((t) => t.id)).toEqual([id('b'), id('c')]);
    expect(forced.victims.map((t) => t.id)).toEqual([id('b')]);
    expect((await preflight(aws, refs, options({ force: true }), last)).victims.map((t) => t.id)).toEqual([id('c')]);
    expect(forced.taskArnsBefore).toEqual([arn('a'), arn('b'), arn('c')]);
  });

  it('refuses --task naming a task already stopping (exit 2), listing the running ones', async () => {
    given({}, [stoppingA, B, C], [['10.0.2.20', 'healthy'], ['10.0.1.30', 'healthy']]);
    await expect(preflight(aws, refs, options({ task: id('a'), force: true }), first)).rejects.toMatchObject({
      exitCode: ExitCode.usage,
      message: `invalid --task "${id('a')}": that task is already on its way out (lastStatus DEACTIVATING, desired STOPPED); running tasks: ${id('b')} (us-east-1b), ${id('c')} (us-east-1a)`,
    });
  });

  it('finds --task by ID or ARN, and refuses one that is not a task of the service', async () => {
    given({}, [A, B], [['10.0.1.10', 'healthy'], ['10.0.2.20', 'healthy']]);
    expect((await preflight(aws, refs, options({ task: arn('b') }), first)).victims.map((t) => t.id)).toEqual([id('b')]);
    expect((await preflight(aws, refs, options({ task: id('b') }), first)).victims.map((t) => t.id)).toEqual([id('b')]);
    await expect(preflight(aws, refs, options({ task: id('f') }), first)).rejects.toMatchObject({
      exitCode: ExitCode.usage,
      message: `invalid --task "${id('f')}": not a running task of the service; running tasks: ${id('a')} (us-east-1a), ${id('b')} (us-east-1b)`,
    });
  });

  it('one task only: refused without --force; with it, warns that a user WILL see an outage', async () => {
    given({ desiredCount: 1, runningCount: 1 }, [A], [['10.0.1.10', 'healthy']]);
    await expect(preflight(aws, refs, options(), first)).rejects.toMatchObject({
      exitCode: ExitCode.failed,
      message: 'service demo is not ready for a chaos test: only one task is running: stopping it takes the app down',
      hint: expect.stringContaining('--force'),
    });
    expect((await preflight(aws, refs, options({ force: true }), first)).warnings).toEqual([
      '--force: running anyway although only one task is running: stopping it takes the app down',
      'stopping every running task (1): a user WILL see an outage until a replacement is running and healthy',
    ]);
  });

  it('no running tasks: refused with what it saw, even with --force', async () => {
    const provisioning = [{ ...A, last: 'PROVISIONING' }, { ...B, last: 'PENDING' }];
    given({ runningCount: 0, pendingCount: 2 }, provisioning, []);
    await expect(preflight(aws, refs, options({ force: true }), first)).rejects.toMatchObject({
      exitCode: ExitCode.failed,
      message: `service demo has no running task (desired 2, running 0, pending 2; tasks: ${id('a')} PROVISIONING, ${id('b')} PENDING): there is nothing to stop`,
    });
    given({ runningCount: 0 }, [], []);
    await expect(preflight(aws, refs, options({ force: true }), first)).rejects.toThrow('service demo has no running task (desired 2, running 0, pending 0): there is nothing to stop');
    expect(ecs.commandCalls(StopTaskCommand)).toHaveLength(0);
  });

  it('a service that is not steady: says exactly what is wrong', async () => {
    const deployments = [{ status: 'PRIMARY', rolloutState: 'IN_PROGRESS' as const }, { status: 'ACTIVE', rolloutState: 'COMPLETED' as const }];
    given({ desiredCount: 3, pendingCount: 1, deployments }, [A, B], [['10.0.1.10', 'healthy'], ['10.0.2.20', 'unhealthy']]);
    await expect(preflight(aws, refs, options(), first)).rejects.toThrow(
      'service demo is not ready for a chaos test: 2 of 3 desired tasks are running; 1 task is pending; 2 deployments (PRIMARY IN_PROGRESS, ACTIVE COMPLETED) instead of one COMPLETED; not every target is healthy: 10.0.2.20 unhealthy',
    );
    given({ status: 'DRAINING' }, [A, B], []);
    await expect(preflight(aws, refs, options({ force: true }), first)).rejects.toThrow('service demo is DRAINING, not ACTIVE: there is nothing to test');
  });

  it('--kill-az: the AZ must have running tasks; stopping every task needs --force', async () => {
    given({ desiredCount: 3, runningCount: 3 }, [A, B, C], [['10.0.1.10', 'healthy'], ['10.0.2.20', 'healthy'], ['10.0.1.30', 'healthy']]);
    const az = await preflight(aws, refs, options({ killOne: false, killAz: 'us-east-1a' }), first);
    expect(az.victims.map((t) => t.id)).toEqual([id('a'), id('c')]);
    expect(az.warnings).toEqual([]);
    await expect(preflight(aws, refs, options({ killOne: false, killAz: 'us-east-1c' }), first)).rejects.toMatchObject({
      exitCode: ExitCode.usage,
      message: 'invalid --kill-az "us-east-1c": no running task of the service is in that AZ; AZs with running tasks: us-east-1a (2 tasks), us-east-1b (1 task)',
    });

    given({}, [A, C], [['10.0.1.10', 'healthy'], ['10.0.1.30', 'healthy']]);
    await expect(preflight(aws, refs, options({ killOne: false, killAz: 'us-east-1a' }), first)).rejects.toThrow(
      'service demo is not ready for a chaos test: every running task (2) is in us-east-1a: stopping them takes the app down',
    );
    expect((await preflight(aws, refs, options({ killOne: false, killAz: 'us-east-1a', force: true }), first)).warnings.at(-1)).toBe(
      'stopping every running task (2): a user WILL see an outage until a replacement is running and healthy',
    );
  });
});
