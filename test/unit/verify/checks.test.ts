/**
 * `verify`'s checks over scripted AWS answers (aws-sdk-client-mock) and a real HTTP server on
 * 127.0.0.1 standing in for the load balancer, answering `/` and `/health` as the app does.
 */
import { DescribeClustersCommand, DescribeServicesCommand, DescribeTasksCommand, ECSClient, ListTasksCommand, type Task } from '@aws-sdk/client-ecs';
import { DescribeListenersCommand, DescribeTargetHealthCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { GetInstancesHealthStatusCommand, ListInstancesCommand, ServiceDiscoveryClient } from '@aws-sdk/client-servicediscovery';
import {
  ApplicationAutoScalingClient,
  DescribeScalableTargetsCommand,
  DescribeScalingPoliciesCommand,
  type ScalingPolicy,
} from '@aws-sdk/client-application-auto-scaling';
import { mockClient } from 'aws-sdk-client-mock';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AwsClients } from '../../../src/aws/clients.js';
import type { Clock } from '../../../src/clock.js';
import type { Session } from '../../../src/session.js';
import type { StackRefs } from '../../../src/inspect/stack.js';
import { StateStore } from '../../../src/state/store.js';
import { createReporter } from '../../../src/ui/reporter.js';
import { formatVerify, runVerify, type VerifyResult } from '../../../src/verify/run.js';
import { listen, type Listening } from '../../fixtures/probe/servers.js';
import { ACCOUNT, awsError, fakeClock, REGION, scriptedRunner } from '../../helpers/context.js';

const ecs = mockClient(ECSClient);
const elbv2 = mockClient(ElasticLoadBalancingV2Client);
const cloudMap = mockClient(ServiceDiscoveryClient);
const autoScaling = mockClient(ApplicationAutoScalingClient);

const TG_ARN = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/demo-tg/73e2d6bc24d8a067';
const LB_ARN = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/demo-alb/50dc6c495c0c9188';
const LISTENER_ARN = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/demo-alb/50dc6c495c0c9188/f2f7dc8efc522ab2';
const TASK_A = 'aaaa1111';
const TASK_B = 'bbbb2222';

interface Backend {
  hostname: string;
  az?: string;
}
const BACKEND_A: Backend = { hostname: 'ip-10-0-1-10', az: 'us-east-1a' };
const BACKEND_B: Backend = { hostname: 'ip-10-0-2-20', az: 'us-east-1b' };

/** The fake load balancer: answers like the app, taking turns over `backends`. */
let backends: Backend[] = [];
let served = 0;
let alb: Listening;
function appLikeServer() {
  return createServer((req, res) => {
    const backend = backends[served++ % backends.length]!;
    if (req.url === '/health') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ status: 'healthy', hostname: backend.hostname, version: '1.0', az: backend.az ?? null }));
    } else if (req.url === '/') res.end(`Hello from ${backend.hostname} - Version 1.0`);
    else res.writeHead(404).end('not found');
  });
}
beforeAll(async () => {
  alb = await listen(appLikeServer());
});
afterAll(() => alb.closeHard());

function refs(url = `http://127.0.0.1:${alb.port}`): StackRefs {
  return {
    stack: 'demo',
    account: '123456789012',
    region: 'us-east-1',
    cluster: 'demo',
    service: 'demo',
    targetGroupArn: TG_ARN,
    loadBalancerArn: LB_ARN,
    listenerArn: LISTENER_ARN,
    url,
    discoveryServiceId: 'srv-abc',
    namespaceName: 'demo.local',
    discoveryServiceName: 'app',
  };
}

function session(options: { emulatorEndpoint?: string; clock?: Clock; stateDir?: string } = {}): Session {
  const sink = { write: () => true } as unknown as NodeJS.WritableStream;
  return {
    stack: 'demo',
    stateDir: options.stateDir ?? '/nonexistent',
    local: false,
    ...(options.emulatorEndpoint ? { emulatorEndpoint: options.emulatorEndpoint } : {}),
    json: true,
    aws: new AwsClients({ region: REGION, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 }),
    reporter: createReporter({ json: true, interactive: false, stdout: sink, stderr: sink }),
    clock: options.clock ?? fakeClock(),
    runner: scriptedRunner(),
    signal: new AbortController().signal,
  };
}

function task(id: string, az: string, ip: string, lastStatus = 'RUNNING'): Task {
  return {
    taskArn: `arn:aws:ecs:us-east-1:123456789012:task/demo/${id}`,
    lastStatus,
    desiredStatus: 'RUNNING',
    availabilityZone: az,
    attachments: [{ type: 'ElasticNetworkInterface', details: [{ name: 'privateIPv4Address', value: ip }] }],
  };
}

/** A healthy stack: 2 tasks in 2 AZs, targets and Cloud Map instances matching them and healthy. */
function scriptHealthyStack(overrides: { tasks?: Task[]; desiredCount?: number } = {}): void {
  const tasks = overrides.tasks ?? [task(TASK_A, 'us-east-1a', '10.0.1.10'), task(TASK_B, 'us-east-1b', '10.0.2.20')];
  const desired = overrides.desiredCount ?? 2;
  ecs.on(DescribeClustersCommand).resolves({ clusters: [{ clusterName: 'demo', status: 'ACTIVE', activeServicesCount: 1, runningTasksCount: 2 }] });
  ecs.on(DescribeServicesCommand).resolves({
    services: [
      {
        serviceName: 'demo',
        status: 'ACTIVE',
        desiredCount: desired,
        runningCount: desired,
        pendingCount: 0,
        deployments: [{ id: 'ecs-svc/1', status: 'PRIMARY', rolloutState: 'COMPLETED', runningCount: desired }],
      },
    ],
  });
  ecs.on(ListTasksCommand).resolves({ taskArns: tasks.map((t) => t.taskArn!) });
  ecs.on(DescribeTasksCommand).resolves({ tasks });
  elbv2.on(DescribeTargetHealthCommand).resolves({
    TargetHealthDescriptions: [
      { Target: { Id: '10.0.1.10', Port: 8080 }, TargetHealth: { State: 'healthy' } },
      { Target: { Id: '10.0.2.20', Port: 8080 }, TargetHealth: { State: 'healthy' } },
    ],
  });
  elbv2.on(DescribeListenersCommand).resolves({
    Listeners: [{ ListenerArn: LISTENER_ARN, Protocol: 'HTTP', Port: 80, DefaultActions: [{ Type: 'forward', TargetGroupArn: TG_ARN }] }],
  });
  cloudMap.on(ListInstancesCommand).resolves({
    Instances: [
      { Id: TASK_A, Attributes: { AWS_INSTANCE_IPV4: '10.0.1.10', AVAILABILITY_ZONE: 'us-east-1a' } },
      { Id: TASK_B, Attributes: { AWS_INSTANCE_IPV4: '10.0.2.20', AVAILABILITY_ZONE: 'us-east-1b' } },
    ],
  });
  cloudMap.on(GetInstancesHealthStatusCommand).resolves({ Status: { [TASK_A]: 'HEALTHY', [TASK_B]: 'HEALTHY' } });
}

const OPTIONS = { requests: 20, timeoutMs: 120_000 };
const byName = (result: VerifyResult) => Object.fromEntries(result.checks.map((c) => [c.name, { status: c.status, evidence: c.evidence }]));
const statuses = (result: VerifyResult) => Object.fromEntries(result.checks.map((c) => [c.name, c.status]));
/** A healthy stack without autoscaling: every check OK, and autoscaling SKIP (off). */
const HEALTHY = {
  'cluster active': 'OK',
  'service active': 'OK',
  'service steady': 'OK',
  listener: 'OK',
  autoscaling: 'SKIP',
  'tasks across AZs': 'OK',
  'targets healthy': 'OK',
  'cloud map': 'OK',
  'url answers': 'OK',
  'url across tasks': 'OK',
  'url across AZs': 'OK',
};

beforeEach(() => {
  ecs.reset();
  elbv2.reset();
  cloudMap.reset();
  autoScaling.reset();
  backends = [BACKEND_A, BACKEND_B];
  served = 0;
});

describe('runVerify', () => {
  it('passes every check on a healthy stack, reading each AWS fact once', async () => {
    scriptHealthyStack();
    const result = await runVerify(session(), refs(), { ...OPTIONS, baseUrl: refs().url });

    expect(result.passed).toBe(true);
    const lines = formatVerify(result, { colour: false });
    expect(lines).toEqual([
      `Stack "demo" in us-east-1: http://127.0.0.1:${alb.port}`,
      'OK    cluster active    cluster demo ACTIVE, 1 active service, 2 running tasks',
      'OK    service active    service demo ACTIVE in cluster demo',
      'OK    service steady    2/2 running, 0 pending, 1 deployment COMPLETED',
      'OK    listener          listener HTTP:80 (f2f7dc8efc522ab2) forwards to target group demo-tg',
      'SKIP  autoscaling       autoscaling is off: the state records no scalable target (`ecs-ha up --autoscale MIN:MAX` turns it on)',
      `OK    tasks across AZs  2 running tasks in 2 AZs: us-east-1a (${TASK_A}), us-east-1b (${TASK_B})`,
      "OK    targets healthy   2/2 targets healthy; IPs = the 2 running tasks' (10.0.1.10, 10.0.2.20)",
      "OK    cloud map         2 instances in app.demo.local, all 2 HEALTHY; IPs = the 2 running tasks' (10.0.1.10, 10.0.2.20)",
      'OK    url answers       / 20/20 greeting Version 1.0; /health 20/20 healthy',
      'OK    url across tasks  2 tasks answered 40/40 requests: ip-10-0-1-10 (20), ip-10-0-2-20 (20)',
      'OK    url across AZs    2 AZs answered 20/20 /health requests: us-east-1a (10), us-east-1b (10)',
      'verify: 10 OK, 0 FAIL, 1 SKIP',
    ]);
    expect(formatVerify(result, { colour: true })[1]).toBe('\u001b[32mOK  \u001b[0m  cluster active    cluster demo ACTIVE, 1 active service, 2 running tasks');
    // The shared reads are made once although three checks use the tasks and two the service.
    expect(ecs.commandCalls(ListTasksCommand)).toHaveLength(1);
    expect(ecs.commandCalls(DescribeServicesCommand)).toHaveLength(1);
    expect(elbv2.commandCalls(DescribeListenersCommand)[0]!.args[0].input).toEqual({ ListenerArns: [LISTENER_ARN] });
  });

  it('fails the targets check naming the unhealthy target and its reason', async () => {
    scriptHealthyStack();
    elbv2.on(DescribeTargetHealthCommand).resolves({
      TargetHealthDescriptions: [
        { Target: { Id: '10.0.1.10' }, TargetHealth: { State: 'healthy' } },
        { Target: { Id: '10.0.2.20' }, TargetHealth: { State: 'unhealthy', Reason: 'Target.FailedHealthChecks' } },
      ],
    });
    const result = await runVerify(session(), refs(), { ...OPTIONS, baseUrl: refs().url });

    expect(result.passed).toBe(false);
    expect(statuses(result)).toEqual({ ...HEALTHY, 'targets healthy': 'FAIL' });
    expect(byName(result)['targets healthy']!.evidence).toBe(
      "1/2 targets healthy: 10.0.2.20 unhealthy (Target.FailedHealthChecks); IPs = the 2 running tasks' (10.0.1.10, 10.0.2.20)",
    );
  });

  it('fails the targets check when the target IPs are not the running tasks, naming both sides', async () => {
    scriptHealthyStack();
    elbv2.on(DescribeTargetHealthCommand).resolves({
      TargetHealthDescriptions: [
        { Target: { Id: '10.0.1.10' }, TargetHealth: { State: 'healthy' } },
        { Target: { Id: '10.0.9.99' }, TargetHealth: { State: 'healthy' } },
      ],
    });
    const result = await runVerify(session(), refs(), { ...OPTIONS, baseUrl: refs().url });

    expect(statuses(result)).toEqual({ ...HEALTHY, 'targets healthy': 'FAIL' });
    expect(byName(result)['targets healthy']!.evidence).toBe(
      `2/2 targets healthy; targets not a running task: 10.0.9.99; running tasks not registered: 10.0.2.20 (task ${TASK_B})`,
    );
  });

  it('fails the AZ check when every running task is in one AZ', async () => {
    scriptHealthyStack({ tasks: [task(TASK_A, 'us-east-1a', '10.0.1.10'), task(TASK_B, 'us-east-1a', '10.0.2.20')] });
    const result = await runVerify(session(), refs(), { ...OPTIONS, baseUrl: refs().url });

    expect(byName(result)['tasks across AZs']).toEqual({ status: 'FAIL', evidence: `2 running tasks in 1 AZ: us-east-1a (${TASK_A}, ${TASK_B})` });
    expect(result.passed).toBe(false);
  });

  it('fails service steady while a deployment is IN_PROGRESS beside the old one', async () => {
    scriptHealthyStack();
    ecs.on(DescribeServicesCommand).resolves({
      services: [
        {
          serviceName: 'demo',
          status: 'ACTIVE',
          desiredCount: 2,
          runningCount: 3,
          pendingCount: 1,
          deployments: [
            { id: 'ecs-svc/2', status: 'PRIMARY', rolloutState: 'IN_PROGRESS', runningCount: 1 },
            { id: 'ecs-svc/1', status: 'ACTIVE', rolloutState: 'COMPLETED', runningCount: 2 },
          ],
        },
      ],
    });
    const result = await runVerify(session(), refs(), { ...OPTIONS, baseUrl: refs().url });

    expect(byName(result)['service steady']).toEqual({
      status: 'FAIL',
      evidence: '3/2 running, 1 pending, 2 deployments: PRIMARY IN_PROGRESS, ACTIVE COMPLETED',
    });
    expect(statuses(result)).toEqual({ ...HEALTHY, 'service steady': 'FAIL' });
  });

  it('fails the Cloud Map check when a running task has no instance', async () => {
    scriptHealthyStack();
    cloudMap.on(ListInstancesCommand).resolves({ Instances: [{ Id: TASK_A, Attributes: { AWS_INSTANCE_IPV4: '10.0.1.10' } }] });
    cloudMap.on(GetInstancesHealthStatusCommand).resolves({ Status: { [TASK_A]: 'HEALTHY' } });
    const result = await runVerify(session(), refs(), { ...OPTIONS, baseUrl: refs().url });

    expect(byName(result)['cloud map']).toEqual({
      status: 'FAIL',
      evidence: `1 instance in app.demo.local, all 1 HEALTHY; running tasks not registered: 10.0.2.20 (task ${TASK_B})`,
    });
    expect(statuses(result)).toEqual({ ...HEALTHY, 'cloud map': 'FAIL' });
  });

  it('against an endpoint that lists no task (plain moto) skips every check that needs containers, never OK, and sends no request', async () => {
    scriptHealthyStack();
    ecs.on(ListTasksCommand).resolves({ taskArns: [] });
    const reason = 'the endpoint http://127.0.0.1:5000 lists no task for the service: it runs no containers';
    const result = await runVerify(session({ emulatorEndpoint: 'http://127.0.0.1:5000' }), refs(), { ...OPTIONS, baseUrl: refs().url });

    for (const name of ['tasks across AZs', 'targets healthy', 'cloud map', 'url answers', 'url across tasks', 'url across AZs']) {
      expect(byName(result)[name], name).toEqual({ status: 'SKIP', evidence: reason });
    }
    expect(formatVerify(result, { colour: false }).at(-1)).toBe('verify: 4 OK, 0 FAIL, 7 SKIP');
    expect(result.passed).toBe(true);
    // Both lists were asked: the tasks wanted running, and the recently stopped ones.
    expect(ecs.commandCalls(ListTasksCommand).map((c) => c.args[0].input.desiredStatus)).toEqual(['RUNNING', 'STOPPED']);
    expect(elbv2.commandCalls(DescribeTargetHealthCommand)).toHaveLength(0);
    expect(cloudMap.commandCalls(ListInstancesCommand)).toHaveLength(0);
    expect(served).toBe(0);
  });

  it('against an endpoint override that lists tasks (the local data plane, LocalStack) runs every check for real', async () => {
    scriptHealthyStack();
    const result = await runVerify(session({ emulatorEndpoint: 'http://127.0.0.1:5000' }), refs(), { ...OPTIONS, baseUrl: refs().url });

    expect(statuses(result)).toEqual(HEALTHY);
    expect(served).toBeGreaterThan(0);
  });

  it('fails only the check whose AWS call failed', async () => {
    scriptHealthyStack();
    elbv2.on(DescribeTargetHealthCommand).rejects(awsError('AccessDenied', 'User: arn:aws:iam::123456789012:user/ci is not authorized to perform: elasticloadbalancing:DescribeTargetHealth'));
    const result = await runVerify(session(), refs(), { ...OPTIONS, baseUrl: refs().url });

    expect(byName(result)['targets healthy']).toEqual({
      status: 'FAIL',
      evidence: 'AccessDenied: User: arn:aws:iam::123456789012:user/ci is not authorized to perform: elasticloadbalancing:DescribeTargetHealth',
    });
    expect(statuses(result)).toEqual({ ...HEALTHY, 'targets healthy': 'FAIL' });
  });

  it('with one desired task skips the spread checks and says why', async () => {
    scriptHealthyStack({ desiredCount: 1, tasks: [task(TASK_A, 'us-east-1a', '10.0.1.10')] });
    elbv2.on(DescribeTargetHealthCommand).resolves({ TargetHealthDescriptions: [{ Target: { Id: '10.0.1.10' }, TargetHealth: { State: 'healthy' } }] });
    cloudMap.on(ListInstancesCommand).resolves({ Instances: [{ Id: TASK_A, Attributes: { AWS_INSTANCE_IPV4: '10.0.1.10' } }] });
    cloudMap.on(GetInstancesHealthStatusCommand).resolves({ Status: { [TASK_A]: 'HEALTHY' } });
    backends = [BACKEND_A];
    const result = await runVerify(session(), refs(), { ...OPTIONS, baseUrl: refs().url });

    expect(statuses(result)).toEqual({ ...HEALTHY, 'tasks across AZs': 'SKIP', 'url across tasks': 'SKIP', 'url across AZs': 'SKIP' });
    expect(byName(result)['tasks across AZs']!.evidence).toBe('desired count is 1: one task cannot span two AZs');
  });
});

describe('the autoscaling check', () => {
  const TARGET_ARN = 'arn:aws:application-autoscaling:us-east-1:123456789012:scalable-target/0123abcd';

  /** A state folder whose state records autoscaling 2 to 4 tasks at average CPU 60 %, as `up --autoscale 2:4` leaves it. */
  function recordedStateDir(details: Record<string, unknown> = { min: 2, max: 4, metric: 'cpu', target: 60, policyName: 'demo-target-tracking' }): string {
    const dir = mkdtempSync(join(tmpdir(), 'ecs-ha-verify-autoscaling-'));
    StateStore.open(dir, 'demo', ACCOUNT, REGION).record('autoScaling', { id: 'service/demo/demo', arn: TARGET_ARN, origin: 'created', details });
    return dir;
  }

  function cpuPolicy(target: number): ScalingPolicy {
    return {
      PolicyName: 'demo-target-tracking',
      PolicyARN: 'arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:1:resource/ecs/service/demo/demo:policyName/demo-target-tracking',
      ServiceNamespace: 'ecs',
      ResourceId: 'service/demo/demo',
      ScalableDimension: 'ecs:service:DesiredCount',
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingScalingPolicyConfiguration: { TargetValue: target, PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' } },
      CreationTime: new Date(0),
    };
  }

  function scriptAutoScaling(range: { min: number; max: number } | undefined, policy: ScalingPolicy | undefined): void {
    autoScaling.on(DescribeScalableTargetsCommand).resolves({
      ScalableTargets: range
        ? [{ ServiceNamespace: 'ecs', ResourceId: 'service/demo/demo', ScalableDimension: 'ecs:service:DesiredCount', MinCapacity: range.min, MaxCapacity: range.max, RoleARN: 'arn:role', CreationTime: new Date(0), ScalableTargetARN: TARGET_ARN }]
        : [],
    });
    autoScaling.on(DescribeScalingPoliciesCommand).resolves({ ScalingPolicies: policy ? [policy] : [] });
  }

  async function autoscalingCheck(stateDir: string) {
    scriptHealthyStack();
    const result = await runVerify(session({ stateDir }), refs(), { ...OPTIONS, baseUrl: refs().url });
    return { result, check: byName(result).autoscaling! };
  }

  it('is OK when the scalable target and the policy are the recorded ones, reading each once', async () => {
    scriptAutoScaling({ min: 2, max: 4 }, cpuPolicy(60));
    const { result, check } = await autoscalingCheck(recordedStateDir());

    expect(check).toEqual({ status: 'OK', evidence: 'scalable target service/demo/demo 2 to 4 tasks; policy demo-target-tracking average CPU at 60 %' });
    expect(statuses(result)).toEqual({ ...HEALTHY, autoscaling: 'OK' });
    expect(autoScaling.commandCalls(DescribeScalableTargetsCommand).map((c) => c.args[0].input)).toEqual([
      { ServiceNamespace: 'ecs', ResourceIds: ['service/demo/demo'], ScalableDimension: 'ecs:service:DesiredCount' },
    ]);
    expect(autoScaling.commandCalls(DescribeScalingPoliciesCommand).map((c) => c.args[0].input)).toEqual([
      { ServiceNamespace: 'ecs', ResourceId: 'service/demo/demo', ScalableDimension: 'ecs:service:DesiredCount', PolicyNames: ['demo-target-tracking'] },
    ]);
  });

  it('fails when the range is not the recorded one, naming both', async () => {
    scriptAutoScaling({ min: 2, max: 5 }, cpuPolicy(60));
    const { result, check } = await autoscalingCheck(recordedStateDir());

    expect(check).toEqual({
      status: 'FAIL',
      evidence: "scalable target service/demo/demo 2 to 5 tasks (the stack's: 2 to 4 tasks); policy demo-target-tracking average CPU at 60 %",
    });
    expect(result.passed).toBe(false);
  });

  it('fails when the policy tracks another target, or is missing', async () => {
    scriptAutoScaling({ min: 2, max: 4 }, cpuPolicy(75));
    expect((await autoscalingCheck(recordedStateDir())).check).toEqual({
      status: 'FAIL',
      evidence: "scalable target service/demo/demo 2 to 4 tasks; policy demo-target-tracking average CPU at 75 % (the stack's: average CPU at 60 %)",
    });

    autoScaling.reset();
    scriptAutoScaling({ min: 2, max: 4 }, undefined);
    expect((await autoscalingCheck(recordedStateDir())).check).toEqual({
      status: 'FAIL',
      evidence: "scalable target service/demo/demo 2 to 4 tasks; no policy demo-target-tracking (the stack's: average CPU at 60 %)",
    });
  });

  it('fails when the recorded scalable target does not exist (its service was re-created, or it was deregistered)', async () => {
    scriptAutoScaling(undefined, undefined);
    const { check } = await autoscalingCheck(recordedStateDir());

    expect(check).toEqual({ status: 'FAIL', evidence: 'no scalable target for service/demo/demo; the stack records 2 to 4 tasks' });
    expect(autoScaling.commandCalls(DescribeScalingPoliciesCommand)).toHaveLength(0);
  });

  it('is SKIP with the reason, and reads nothing, when the state records no autoscaling', async () => {
    const { check } = await autoscalingCheck(mkdtempSync(join(tmpdir(), 'ecs-ha-verify-no-autoscaling-')));

    expect(check).toEqual({ status: 'SKIP', evidence: 'autoscaling is off: the state records no scalable target (`ecs-ha up --autoscale MIN:MAX` turns it on)' });
    expect(autoScaling.calls()).toHaveLength(0);
  });
});
