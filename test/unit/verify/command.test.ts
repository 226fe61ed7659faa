/**
 * `verifyAction` end to end inside the process: options, state file, mocked AWS (every client
 * instance), a real loopback server as the load balancer, rendering, and the exit code.
 */
import { ApplicationAutoScalingClient, DescribeScalableTargetsCommand, DescribeScalingPoliciesCommand } from '@aws-sdk/client-application-auto-scaling';
import { DescribeClustersCommand, DescribeServicesCommand, DescribeTasksCommand, ECSClient, ListTasksCommand } from '@aws-sdk/client-ecs';
import { DescribeListenersCommand, DescribeTargetHealthCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { GetInstancesHealthStatusCommand, ListInstancesCommand, ServiceDiscoveryClient } from '@aws-sdk/client-servicediscovery';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { verifyAction, type VerifyCliOptions } from '../../../src/commands/verify.js';
import { ExitCode } from '../../../src/errors.js';
import { StateStore } from '../../../src/state/store.js';
import { listen, type Listening } from '../../fixtures/probe/servers.js';
import { ACCOUNT, REGION } from '../../helpers/context.js';

const ecs = mockClient(ECSClient);
const elbv2 = mockClient(ElasticLoadBalancingV2Client);
const cloudMap = mockClient(ServiceDiscoveryClient);
const sts = mockClient(STSClient);
const autoScaling = mockClient(ApplicationAutoScalingClient);

const TG_ARN = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/demo-tg/73e2d6bc24d8a067';
const LISTENER_ARN = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/demo-alb/50dc/f2f7';

let alb: Listening;
let served = 0;
beforeAll(async () => {
  const hosts = [
    { hostname: 'ip-10-0-1-10', az: 'us-east-1a' },
    { hostname: 'ip-10-0-2-20', az: 'us-east-1b' },
  ];
  alb = await listen(
    createServer((req, res) => {
      const host = hosts[served++ % 2]!;
      if (req.url === '/health') res.end(JSON.stringify({ status: 'healthy', version: '1.0', ...host }));
      else res.end(`Hello from ${host.hostname} - Version 1.0`);
    }),
  );
});
afterAll(() => alb.closeHard());

/** A state file as `up` leaves it, with the load balancer's "DNS name" pointing at the loopback server. */
function stateDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ecs-ha-verify-'));
  const state = StateStore.open(dir, 'demo', ACCOUNT, REGION);
  state.record('service', { id: 'demo', arn: 'arn:aws:ecs:us-east-1:123456789012:service/demo/demo', origin: 'created', details: { cluster: 'demo' } });
  state.record('targetGroup', { id: TG_ARN, arn: TG_ARN, origin: 'created' });
  state.record('loadBalancer', { id: 'arn:lb', arn: 'arn:lb', origin: 'created', details: { dnsName: `127.0.0.1:${alb.port}` } });
  state.record('listener', { id: LISTENER_ARN, arn: LISTENER_ARN, origin: 'created' });
  state.record('namespace', { id: 'ns-1', origin: 'created' });
  state.record('discoveryService', { id: 'srv-1', origin: 'created' });
  return dir;
}

function options(overrides: Partial<VerifyCliOptions> = {}): VerifyCliOptions {
  return { stack: 'demo', region: REGION, stateDir: stateDir(), requests: '6', timeout: '120', ...overrides };
}

let stdout: string[];
beforeEach(() => {
  for (const mock of [ecs, elbv2, cloudMap, sts, autoScaling]) mock.reset();
  served = 0;
  vi.stubEnv('AWS_ENDPOINT_URL', undefined);
  vi.stubEnv('ECS_HA_TRACE', undefined);
  stdout = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => (stdout.push(String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  sts.on(GetCallerIdentityCommand).resolves({ Account: ACCOUNT });
  ecs.on(DescribeClustersCommand).resolves({ clusters: [{ clusterName: 'demo', status: 'ACTIVE', activeServicesCount: 1, runningTasksCount: 2 }] });
  ecs.on(DescribeServicesCommand).resolves({
    services: [{ serviceName: 'demo', status: 'ACTIVE', desiredCount: 2, runningCount: 2, pendingCount: 0, deployments: [{ status: 'PRIMARY', rolloutState: 'COMPLETED' }] }],
  });
  const eni = (ip: string) => [{ type: 'ElasticNetworkInterface', details: [{ name: 'privateIPv4Address', value: ip }] }];
  ecs.on(ListTasksCommand).resolves({ taskArns: ['arn:task/demo/t1', 'arn:task/demo/t2'] });
  ecs.on(DescribeTasksCommand).resolves({
    tasks: [
      { taskArn: 'arn:task/demo/t1', lastStatus: 'RUNNING', availabilityZone: 'us-east-1a', attachments: eni('10.0.1.10') },
      { taskArn: 'arn:task/demo/t2', lastStatus: 'RUNNING', availabilityZone: 'us-east-1b', attachments: eni('10.0.2.20') },
    ],
  });
  elbv2.on(DescribeTargetHealthCommand).resolves({
    TargetHealthDescriptions: ['10.0.1.10', '10.0.2.20'].map((ip) => ({ Target: { Id: ip }, TargetHealth: { State: 'healthy' } })),
  });
  elbv2.on(DescribeListenersCommand).resolves({ Listeners: [{ ListenerArn: LISTENER_ARN, Protocol: 'HTTP', Port: 80, DefaultActions: [{ Type: 'forward', TargetGroupArn: TG_ARN }] }] });
  cloudMap.on(ListInstancesCommand).resolves({
    Instances: [
      { Id: 't1', Attributes: { AWS_INSTANCE_IPV4: '10.0.1.10' } },
      { Id: 't2', Attributes: { AWS_INSTANCE_IPV4: '10.0.2.20' } },
    ],
  });
  cloudMap.on(GetInstancesHealthStatusCommand).resolves({ Status: { t1: 'HEALTHY', t2: 'HEALTHY' } });
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

const awsCalls = () => [ecs, elbv2, cloudMap, sts, autoScaling].reduce((n, mock) => n + mock.calls().length, 0);

describe('verifyAction', () => {
  it('exits 0 (resolves) when no check failed, after printing one line per check and the summary', async () => {
    await expect(verifyAction(options())).resolves.toBeUndefined();

    const lines = stdout.join('').trimEnd().split('\n');
    expect(lines).toHaveLength(13);
    expect(lines[0]).toBe(`Stack "demo" in us-east-1: http://127.0.0.1:${alb.port}`);
    expect(lines[3]).toBe('OK    service steady    2/2 running, 0 pending, 1 deployment COMPLETED');
    expect(lines[5]).toBe('SKIP  autoscaling       autoscaling is off: the state records no scalable target (`ecs-ha up --autoscale MIN:MAX` turns it on)');
    expect(lines[10]).toBe('OK    url across tasks  2 tasks answered 12/12 requests: ip-10-0-1-10 (6), ip-10-0-2-20 (6)');
    expect(lines[12]).toBe('verify: 10 OK, 0 FAIL, 1 SKIP');
    // The AWS calls of a verify with running containers: the identity, then one read per fact.
    const calls = [ecs, elbv2, cloudMap, sts].flatMap((mock) => mock.calls().map((c) => (c.args[0] as object).constructor.name)).sort();
    expect(calls).toEqual([
      'DescribeClustersCommand',
      'DescribeListenersCommand',
      'DescribeServicesCommand',
      'DescribeTargetHealthCommand',
      'DescribeTasksCommand',
      'GetCallerIdentityCommand',
      'GetInstancesHealthStatusCommand',
      'ListInstancesCommand',
      'ListTasksCommand',
    ]);
  });

  it('exits 1 after rendering when a check failed, naming the failed checks', async () => {
    elbv2.on(DescribeTargetHealthCommand).resolves({ TargetHealthDescriptions: [{ Target: { Id: '10.0.1.10' }, TargetHealth: { State: 'draining', Reason: 'Target.DeregistrationInProgress' } }] });

    const error = await verifyAction(options({ json: true })).catch((e: unknown) => e);

    expect(error).toMatchObject({ exitCode: ExitCode.failed, message: '1 of 11 checks failed: targets healthy' });
    const printed = JSON.parse(stdout.join(''));
    expect(printed).toMatchObject({ stack: 'demo', region: 'us-east-1', url: `http://127.0.0.1:${alb.port}`, passed: false });
    expect(printed.checks.find((c: { name: string }) => c.name === 'targets healthy')).toMatchObject({
      status: 'FAIL',
      evidence: '0/1 targets healthy: 10.0.1.10 draining (Target.DeregistrationInProgress); running tasks not registered: 10.0.2.20 (task t2)',
    });
    expect(printed.checks.filter((c: { status: string }) => c.status === 'OK')).toHaveLength(9);
  });

  it('checks the autoscaling the state file records against Application Auto Scaling', async () => {
    const dir = stateDir();
    const targetArn = 'arn:aws:application-autoscaling:us-east-1:123456789012:scalable-target/0123abcd';
    StateStore.open(dir, 'demo', ACCOUNT, REGION).record('autoScaling', {
      id: 'service/demo/demo',
      arn: targetArn,
      origin: 'created',
      details: { min: 2, max: 6, metric: 'requests', target: 500, policyName: 'demo-target-tracking' },
    });
    autoScaling.on(DescribeScalableTargetsCommand).resolves({
      ScalableTargets: [{ ServiceNamespace: 'ecs', ResourceId: 'service/demo/demo', ScalableDimension: 'ecs:service:DesiredCount', MinCapacity: 2, MaxCapacity: 6, RoleARN: 'arn:role', CreationTime: new Date(0), ScalableTargetARN: targetArn }],
    });
    autoScaling.on(DescribeScalingPoliciesCommand).resolves({
      ScalingPolicies: [
        {
          PolicyName: 'demo-target-tracking',
          PolicyARN: 'arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:1:resource/ecs/service/demo/demo:policyName/demo-target-tracking',
          ServiceNamespace: 'ecs',
          ResourceId: 'service/demo/demo',
          ScalableDimension: 'ecs:service:DesiredCount',
          PolicyType: 'TargetTrackingScaling',
          TargetTrackingScalingPolicyConfiguration: {
            TargetValue: 500,
            PredefinedMetricSpecification: { PredefinedMetricType: 'ALBRequestCountPerTarget', ResourceLabel: 'app/demo-alb/50dc/targetgroup/demo-tg/73e2d6bc24d8a067' },
          },
          CreationTime: new Date(0),
        },
      ],
    });

    await expect(verifyAction(options({ stateDir: dir }))).resolves.toBeUndefined();

    const lines = stdout.join('').trimEnd().split('\n');
    expect(lines[5]).toBe('OK    autoscaling       scalable target service/demo/demo 2 to 6 tasks; policy demo-target-tracking 500 requests per target per minute');
    expect(lines.at(-1)).toBe('verify: 11 OK, 0 FAIL, 0 SKIP');
  });

  it('refuses a bad --requests or --timeout before any AWS call (exit 2)', async () => {
    await expect(verifyAction(options({ requests: '0' }))).rejects.toMatchObject({ exitCode: ExitCode.usage, message: 'invalid --requests "0": expected a whole number from 1 to 1000' });
    await expect(verifyAction(options({ requests: '1001' }))).rejects.toMatchObject({ exitCode: ExitCode.usage });
    await expect(verifyAction(options({ timeout: 'soon' }))).rejects.toMatchObject({ exitCode: ExitCode.usage, message: 'invalid --timeout "soon": expected a whole number of at least 1' });
    expect(awsCalls()).toBe(0);
  });

  it('with --local and no emulator running says so and how to start one, without any AWS call', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'ecs-ha-verify-empty-'));
    const error = await verifyAction(options({ local: true, region: undefined, stateDir: empty })).catch((e: unknown) => e);

    expect(error).toMatchObject({
      exitCode: ExitCode.failed,
      message: 'the local AWS emulator for stack "demo" is not running, so there is no local stack',
      hint: 'run `ecs-ha up --local --stack demo` first',
    });
    expect(awsCalls()).toBe(0);
  });

  it('with --local, no emulator running and the state file of one that stopped: says to run down --local first', async () => {
    const error = await verifyAction(options({ local: true, region: undefined })).catch((e: unknown) => e);

    expect(error).toMatchObject({
      exitCode: ExitCode.failed,
      message: expect.stringMatching(/^the local AWS emulator of stack "demo" is not running: the state file .+demo\.json points at resources it held, which are gone with it$/),
      hint: 'run `ecs-ha down --local --stack demo` (it discards that state), then `ecs-ha up --local --stack demo`',
    });
    expect(awsCalls()).toBe(0);
  });

  it('without a state file exits 1 with the hint to run up', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ecs-ha-verify-empty-'));
    const error = await verifyAction(options({ stateDir: dir })).catch((e: unknown) => e);

    expect(error).toMatchObject({ exitCode: ExitCode.failed, hint: 'run `ecs-ha up --stack demo` first, or pass the --stack and --state-dir it used' });
    expect(ecs.calls()).toHaveLength(0);
  });
});
