/**
 * `ecs-ha status`: what it reads (read calls only, every part at once, a failed part shown as
 * unavailable), how it renders the screen, and the command's output and exit code.
 */
import {
  ApplicationAutoScalingClient,
  DescribeScalableTargetsCommand,
  DescribeScalingActivitiesCommand,
  DescribeScalingPoliciesCommand,
} from '@aws-sdk/client-application-auto-scaling';
import { DescribeServicesCommand, DescribeTaskDefinitionCommand, DescribeTasksCommand, ECSClient, ListTasksCommand, type Service, type Task } from '@aws-sdk/client-ecs';
import { DescribeTargetHealthCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { GetInstancesHealthStatusCommand, ListInstancesCommand, ServiceDiscoveryClient } from '@aws-sdk/client-servicediscovery';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AwsClients, isMutatingOperation } from '../../../src/aws/clients.js';
import { statusAction, type StatusCliOptions } from '../../../src/commands/status.js';
import { ExitCode } from '../../../src/errors.js';
import { stackRefs } from '../../../src/inspect/stack.js';
import { readStateFile, StateStore } from '../../../src/state/store.js';
import { readAutoScaling } from '../../../src/status/autoScaling.js';
import { deploymentStrategy, gatherStatus, type StackStatus } from '../../../src/status/gather.js';
import { formatStatus } from '../../../src/status/render.js';
import { ACCOUNT, awsError, REGION } from '../../helpers/context.js';

const ecs = mockClient(ECSClient);
const elbv2 = mockClient(ElasticLoadBalancingV2Client);
const cloudMap = mockClient(ServiceDiscoveryClient);
const autoScaling = mockClient(ApplicationAutoScalingClient);
const sts = mockClient(STSClient);
const MOCKS = [ecs, elbv2, cloudMap, autoScaling, sts];

const TG_ARN = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/demo-tg/73e2d6bc24d8a067';
const TASK_DEFINITION_ARN = 'arn:aws:ecs:us-east-1:123456789012:task-definition/demo:4';
const ZONES = ['us-east-1a', 'us-east-1b', 'us-east-1c'];

/** A state folder holding the stack's state file, as `up` wrote it. */
function stackStateDir(options: { serviceOrigin?: 'created' | 'adopted' } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'ecs-ha-status-'));
  const state = StateStore.open(dir, 'demo', ACCOUNT, REGION);
  state.record('cluster', { id: 'demo', arn: 'arn:aws:ecs:us-east-1:123456789012:cluster/demo', origin: 'created' });
  state.record('network', { id: 'vpc-1', origin: 'adopted', details: { subnetIds: ['subnet-a', 'subnet-b', 'subnet-c'], availabilityZones: ZONES } });
  state.record('targetGroup', { id: TG_ARN, arn: TG_ARN, origin: 'created' });
  state.record('loadBalancer', { id: 'arn:lb', arn: 'arn:lb', origin: 'created', details: { dnsName: 'demo-alb-1.us-east-1.elb.amazonaws.com' } });
  state.record('namespace', { id: 'ns-1', origin: 'created', details: { name: 'demo.local' } });
  state.record('discoveryService', { id: 'srv-1', origin: 'created', details: { name: 'app' } });
  state.record('service', { id: 'demo', arn: 'arn:aws:ecs:us-east-1:123456789012:service/demo/demo', origin: options.serviceOrigin ?? 'created', details: { cluster: 'demo' } });
  return dir;
}

function serviceOf(overrides: Partial<Service> = {}): Service {
  return {
    serviceName: 'demo',
    serviceArn: 'arn:aws:ecs:us-east-1:123456789012:service/demo/demo',
    status: 'ACTIVE',
    taskDefinition: TASK_DEFINITION_ARN,
    desiredCount: 2,
    runningCount: 2,
    pendingCount: 0,
    deployments: [{ id: 'ecs-svc/1', status: 'PRIMARY', rolloutState: 'COMPLETED', taskDefinition: TASK_DEFINITION_ARN, desiredCount: 2, runningCount: 2, pendingCount: 0, failedTasks: 0 }],
    ...overrides,
  };
}

/** A task as DescribeTasks gives it: its AZ and its ENI's private IP. */
function taskOf(id: string, az: string, ip: string, lastStatus = 'RUNNING'): Task {
  return {
    taskArn: `arn:aws:ecs:us-east-1:123456789012:task/demo/${id}`,
    lastStatus,
    desiredStatus: 'RUNNING',
    availabilityZone: az,
    attachments: [{ type: 'ElasticNetworkInterface', details: [{ name: 'privateIPv4Address', value: ip }] }],
  };
}

const NOW = Date.parse('2026-11-05T12:00:00Z');

/** Every AWS call the mocks saw, as operation names. */
function operationsCalled(): string[] {
  return MOCKS.flatMap((mock) => mock.calls().map((call) => (call.args[0] as object).constructor.name.replace(/Command$/, '')));
}

/** A healthy stack of two tasks in two of its three AZs, no autoscaling. */
function healthyStack(): void {
  ecs.on(DescribeServicesCommand).resolves({ services: [serviceOf()] });
  ecs.on(ListTasksCommand).resolves({ taskArns: ['arn:aws:ecs:us-east-1:123456789012:task/demo/t1', 'arn:aws:ecs:us-east-1:123456789012:task/demo/t2'] });
  ecs.on(DescribeTasksCommand).resolves({ tasks: [taskOf('t1', 'us-east-1a', '10.0.1.10'), taskOf('t2', 'us-east-1b', '10.0.2.20')] });
  ecs.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: { cpu: '256', memory: '512', runtimePlatform: { cpuArchitecture: 'X86_64' } } });
  elbv2.on(DescribeTargetHealthCommand).resolves({
    TargetHealthDescriptions: ['10.0.1.10', '10.0.2.20'].map((ip) => ({ Target: { Id: ip, Port: 8080 }, TargetHealth: { State: 'healthy' } })),
  });
  cloudMap.on(ListInstancesCommand).resolves({
    Instances: [
      { Id: 't1', Attributes: { AWS_INSTANCE_IPV4: '10.0.1.10', AVAILABILITY_ZONE: 'us-east-1a' } },
      { Id: 't2', Attributes: { AWS_INSTANCE_IPV4: '10.0.2.20', AVAILABILITY_ZONE: 'us-east-1b' } },
    ],
  });
  cloudMap.on(GetInstancesHealthStatusCommand).resolves({ Status: { t1: 'HEALTHY', t2: 'HEALTHY' } });
  autoScaling.on(DescribeScalableTargetsCommand).resolves({ ScalableTargets: [] });
}

async function gather(options: { skipActivitiesBecause?: string } = {}): Promise<StackStatus> {
  const state = readStateFile(stackStateDir(), 'demo')!;
  const aws = new AwsClients({ region: REGION, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
  return gatherStatus(aws, stackRefs(state), state, { now: () => NOW, ...options });
}

beforeEach(() => {
  for (const mock of MOCKS) mock.reset();
  healthyStack();
});

describe('gatherStatus', () => {
  it('groups the tasks by AZ with the health of their targets, listing every zone of the stack, and follows ListTasks pages', async () => {
    ecs.on(ListTasksCommand).callsFake((input: { nextToken?: string }) =>
      input.nextToken === 'page-2' ? { taskArns: ['arn:aws:ecs:us-east-1:123456789012:task/demo/t3'] } : { taskArns: ['arn:t1', 'arn:t2'], nextToken: 'page-2' },
    );
    ecs.on(DescribeTasksCommand).resolves({
      tasks: [taskOf('t1', 'us-east-1a', '10.0.1.10'), taskOf('t2', 'us-east-1b', '10.0.2.20'), { ...taskOf('t3', 'us-east-1a', ''), lastStatus: 'PROVISIONING', attachments: [] }],
    });
    elbv2.on(DescribeTargetHealthCommand).resolves({
      TargetHealthDescriptions: [
        { Target: { Id: '10.0.1.10', Port: 8080 }, TargetHealth: { State: 'healthy' } },
        { Target: { Id: '10.0.2.20', Port: 8080 }, TargetHealth: { State: 'initial', Reason: 'Elb.RegistrationInProgress' } },
      ],
    });

    const status = await gather();

    expect(ecs.commandCalls(ListTasksCommand)).toHaveLength(2);
    expect(status.tasks?.total).toBe(3);
    expect(status.tasks?.zones.map((z) => [z.zone, z.tasks.map((t) => `${t.id} ${t.lastStatus} ${t.health}`), z.healthy])).toEqual([
      ['us-east-1a', ['t1 RUNNING healthy', 't3 PROVISIONING no target'], 1],
      ['us-east-1b', ['t2 RUNNING initial'], 0],
      ['us-east-1c', [], 0],
    ]);
    expect(status.targets?.map((t) => `${t.ip}:${t.port} ${t.state}`)).toEqual(['10.0.1.10:8080 healthy', '10.0.2.20:8080 initial']);
    expect(status.url).toBe('http://demo-alb-1.us-east-1.elb.amazonaws.com');
    expect(status.observedAt).toBe('2026-11-05T12:00:00.000Z');
  });

  it('reports the service counts, each deployment with its rollout state, the strategy, and only the newest five events', async () => {
    const events = Array.from({ length: 7 }, (_, i) => ({ id: `e${i}`, createdAt: new Date(NOW - i * 1000), message: `event ${i}` }));
    ecs.on(DescribeServicesCommand).resolves({
      services: [
        serviceOf({
          desiredCount: 3,
          runningCount: 4,
          pendingCount: 1,
          deploymentConfiguration: { strategy: 'CANARY' },
          events,
          deployments: [
            { id: 'ecs-svc/2', status: 'PRIMARY', rolloutState: 'IN_PROGRESS', rolloutStateReason: 'ECS deployment ecs-svc/2 in progress.', taskDefinition: `${TASK_DEFINITION_ARN.replace(':4', ':5')}`, desiredCount: 3, runningCount: 1, pendingCount: 1, failedTasks: 0 },
            { id: 'ecs-svc/1', status: 'ACTIVE', rolloutState: 'COMPLETED', taskDefinition: TASK_DEFINITION_ARN, desiredCount: 3, runningCount: 3, pendingCount: 0, failedTasks: 1 },
          ],
        }),
      ],
    });

    const { service, events: shown } = await gather();

    expect(service).toMatchObject({ name: 'demo', status: 'ACTIVE', desired: 3, running: 4, pending: 1, strategy: 'CANARY', taskDefinition: 'demo:4' });
    expect(service?.deployments.map((d) => [d.id, d.status, d.rolloutState, d.taskDefinition, d.running, d.desired, d.failedTasks])).toEqual([
      ['ecs-svc/2', 'PRIMARY', 'IN_PROGRESS', 'demo:5', 1, 3, 0],
      ['ecs-svc/1', 'ACTIVE', 'COMPLETED', 'demo:4', 3, 3, 1],
    ]);
    expect(shown?.map((e) => e.message)).toEqual(['event 0', 'event 1', 'event 2', 'event 3', 'event 4']);
  });

  it('names the deployment strategy: ROLLING by default, the native strategy, or the external controller', () => {
    expect(deploymentStrategy(serviceOf())).toBe('ROLLING');
    expect(deploymentStrategy(serviceOf({ deploymentConfiguration: { strategy: 'BLUE_GREEN' } }))).toBe('BLUE_GREEN');
    expect(deploymentStrategy(serviceOf({ deploymentController: { type: 'CODE_DEPLOY' } }))).toBe('CODE_DEPLOY');
  });

  it('estimates the cost per hour from the desired count and the size of the task definition the service runs', async () => {
    ecs.on(DescribeServicesCommand).resolves({ services: [serviceOf({ desiredCount: 3 })] });
    ecs.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: { cpu: '512', memory: '1024', runtimePlatform: { cpuArchitecture: 'ARM64' } } });

    const { cost } = await gather();

    expect(ecs.commandCalls(DescribeTaskDefinitionCommand)[0]?.args[0].input).toEqual({ taskDefinition: TASK_DEFINITION_ARN });
    expect(cost).toMatchObject({ estimate: true, tasks: 3, cpu: 512, memory: 1024, arch: 'arm64' });
    // 3 × (0.5 vCPU × $0.03238 + 1 GB × $0.00356) + ALB $0.0225 + 6 public IPv4 (3 tasks, 3 LB nodes) × $0.005 + $0.50/730 h
    expect(cost?.perHour).toBeCloseTo(0.112435, 5);
    expect(cost?.basis).toMatch(/^estimate at us-east-1 on-demand prices/);
  });

  it('shows a part it cannot read as unavailable, with AWS\'s reason, and every other part still', async () => {
    cloudMap.on(ListInstancesCommand).rejects(awsError('AccessDeniedException', 'not authorized to perform: servicediscovery:ListInstances'));

    const status = await gather();

    expect(status.cloudMap).toBeNull();
    expect(status.unavailable).toEqual([{ part: 'cloud map', reason: 'AccessDeniedException: not authorized to perform: servicediscovery:ListInstances' }]);
    expect(status.tasks?.total).toBe(2);
    expect(status.service?.running).toBe(2);
    expect(status.cost).not.toBeNull();
  });

  it('says so when the service is gone, and estimates no cost for it', async () => {
    ecs.on(DescribeServicesCommand).resolves({ services: [], failures: [{ reason: 'MISSING' }] });

    const status = await gather();

    expect(status.service).toBeNull();
    expect(status.cost).toBeNull();
    expect(status.unavailable).toEqual([{ part: 'service', reason: 'service demo not found in cluster demo' }]);
    expect(ecs.commandCalls(DescribeTaskDefinitionCommand)).toHaveLength(0);
  });

  it('makes read calls only', async () => {
    autoScaling.on(DescribeScalableTargetsCommand).resolves({ ScalableTargets: [{ ResourceId: 'service/demo/demo', ScalableDimension: 'ecs:service:DesiredCount', MinCapacity: 2, MaxCapacity: 4 } as never] });
    autoScaling.on(DescribeScalingPoliciesCommand).resolves({ ScalingPolicies: [] });
    autoScaling.on(DescribeScalingActivitiesCommand).resolves({ ScalingActivities: [] });

    await gather();

    const operations = operationsCalled();
    expect(new Set(operations)).toEqual(
      new Set([
        'DescribeServices', 'DescribeTaskDefinition', 'ListTasks', 'DescribeTasks', 'DescribeTargetHealth', 'ListInstances',
        'GetInstancesHealthStatus', 'DescribeScalableTargets', 'DescribeScalingPolicies', 'DescribeScalingActivities',
      ]),
    );
    expect(operations.filter(isMutatingOperation)).toEqual([]);
  });
});

describe('readAutoScaling', () => {
  const refs = { cluster: 'demo', service: 'demo' };
  const aws = () => new AwsClients({ region: REGION, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
  const target = { ServiceNamespace: 'ecs', ResourceId: 'service/demo/demo', ScalableDimension: 'ecs:service:DesiredCount', MinCapacity: 2, MaxCapacity: 6, RoleARN: 'arn:role', CreationTime: new Date(NOW) } as const;

  it('is off when the service has no scalable target, and reads nothing more', async () => {
    expect(await readAutoScaling(aws(), refs)).toEqual({ enabled: false, resourceId: 'service/demo/demo' });
    expect(autoScaling.commandCalls(DescribeScalableTargetsCommand)[0]?.args[0].input).toEqual({
      ServiceNamespace: 'ecs',
      ResourceIds: ['service/demo/demo'],
      ScalableDimension: 'ecs:service:DesiredCount',
    });
    expect(autoScaling.commandCalls(DescribeScalingPoliciesCommand)).toHaveLength(0);
  });

  it('gives the range, what is suspended, every policy (all pages) and the last activity', async () => {
    autoScaling.on(DescribeScalableTargetsCommand).resolves({ ScalableTargets: [{ ...target, SuspendedState: { DynamicScalingInSuspended: true } }] });
    autoScaling.on(DescribeScalingPoliciesCommand).callsFake((input: { NextToken?: string }) =>
      input.NextToken
        ? { ScalingPolicies: [{ PolicyName: 'requests', PolicyType: 'TargetTrackingScaling', TargetTrackingScalingPolicyConfiguration: { TargetValue: 500, PredefinedMetricSpecification: { PredefinedMetricType: 'ALBRequestCountPerTarget' } } }] }
        : { ScalingPolicies: [{ PolicyName: 'cpu', PolicyType: 'TargetTrackingScaling', TargetTrackingScalingPolicyConfiguration: { TargetValue: 70, PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' } } }], NextToken: 'more' },
    );
    autoScaling.on(DescribeScalingActivitiesCommand).resolves({
      ScalingActivities: [{ ActivityId: 'a1', ServiceNamespace: 'ecs', ResourceId: 'service/demo/demo', ScalableDimension: 'ecs:service:DesiredCount', StatusCode: 'Successful', Description: 'Setting desired count to 3.', Cause: 'monitor alarm high', StartTime: new Date(NOW - 60_000) }],
    });

    const view = await readAutoScaling(aws(), refs);

    expect(view).toEqual({
      enabled: true,
      resourceId: 'service/demo/demo',
      min: 2,
      max: 6,
      suspended: ['scale-in'],
      policies: [
        { name: 'cpu', type: 'TargetTrackingScaling', tracks: 'ECSServiceAverageCPUUtilization 70' },
        { name: 'requests', type: 'TargetTrackingScaling', tracks: 'ALBRequestCountPerTarget 500' },
      ],
      lastActivity: { status: 'Successful', description: 'Setting desired count to 3.', cause: 'monitor alarm high', startedAt: '2026-11-05T11:59:00.000Z' },
    });
    expect(autoScaling.commandCalls(DescribeScalingActivitiesCommand)[0]?.args[0].input).toMatchObject({ ResourceId: 'service/demo/demo', MaxResults: 1 });
  });

  it('does not ask an emulator for activities, and says why the last one is missing', async () => {
    autoScaling.on(DescribeScalableTargetsCommand).resolves({ ScalableTargets: [target] });
    autoScaling.on(DescribeScalingPoliciesCommand).resolves({ ScalingPolicies: [] });

    const view = await readAutoScaling(aws(), refs, { skipActivitiesBecause: 'moto does not implement it' });

    expect(view).toMatchObject({ enabled: true, min: 2, max: 6, lastActivity: { unavailable: 'moto does not implement it' } });
    expect(autoScaling.commandCalls(DescribeScalingActivitiesCommand)).toHaveLength(0);
  });

  it('keeps the range and policies when only the activity read fails', async () => {
    autoScaling.on(DescribeScalableTargetsCommand).resolves({ ScalableTargets: [target] });
    autoScaling.on(DescribeScalingPoliciesCommand).resolves({ ScalingPolicies: [] });
    autoScaling.on(DescribeScalingActivitiesCommand).rejects(awsError('AccessDeniedException', 'no DescribeScalingActivities for you'));

    const view = await readAutoScaling(aws(), refs);

    expect(view).toMatchObject({ enabled: true, min: 2, max: 6, lastActivity: { unavailable: 'no DescribeScalingActivities for you' } });
  });
});

describe('formatStatus', () => {
  it('shows the URL, the tasks per AZ with their health, an empty zone, autoscaling off, and the cost labelled an estimate', async () => {
    const lines = formatStatus(await gather(), { local: false });
    const text = lines.join('\n');

    expect(lines[0]).toBe('Stack "demo" in us-east-1 (account 123456789012) at 2026-11-05 12:00:00 UTC');
    expect(text).toContain('URL:         http://demo-alb-1.us-east-1.elb.amazonaws.com');
    expect(text).toContain('Service:     demo ACTIVE: 2 desired, 2 running, 0 pending; strategy ROLLING; task definition demo:4');
    expect(text).toContain('    PRIMARY COMPLETED  demo:4  2/2 running, 0 pending, 0 failed  ecs-svc/1');
    expect(text).toContain('Tasks:       2 tasks in 2 of 3 AZs, 2 healthy');
    expect(lines.slice(lines.indexOf('    us-east-1a  1 task, 1 healthy'), lines.indexOf('    us-east-1c  0 tasks') + 1)).toEqual([
      '    us-east-1a  1 task, 1 healthy',
      '      t1  RUNNING  10.0.1.10  healthy',
      '    us-east-1b  1 task, 1 healthy',
      '      t2  RUNNING  10.0.2.20  healthy',
      '    us-east-1c  0 tasks',
    ]);
    expect(text).toContain('Targets:     2 targets: 2 healthy');
    expect(text).toContain('Cloud Map:   app.demo.local: 2 instances, 2 HEALTHY');
    expect(text).toContain('Autoscaling: off (no scalable target for service/demo/demo)');
    expect(text).toMatch(/Cost: {8}while it is up it costs about \$0\.\d{3}\/hour \(\$\d+\.\d\d\/month\) with 2 tasks of 0\.25 vCPU \/ 0\.5 GB: estimate at us-east-1/);
  });

  it('words the cost as what AWS would charge for a local stack', async () => {
    expect(formatStatus(await gather(), { local: true }).join('\n')).toContain('Cost:        on AWS this stack would cost about $');
  });

  it('gives the reason of a part it could not read in that part\'s line', async () => {
    elbv2.on(DescribeTargetHealthCommand).rejects(awsError('AccessDenied', 'no DescribeTargetHealth'));
    const status = await gather();
    const text = formatStatus(status, { local: false }).join('\n');

    expect(text).toContain('Targets:     unavailable (AccessDenied: no DescribeTargetHealth)');
    // Without target health, a task's health is unknown rather than "no target".
    expect(status.tasks?.zones[0]?.tasks[0]?.health).toBe('unknown');
  });

  it('shows the autoscaling range, its policies and the last activity', async () => {
    autoScaling.on(DescribeScalableTargetsCommand).resolves({ ScalableTargets: [{ ResourceId: 'service/demo/demo', ScalableDimension: 'ecs:service:DesiredCount', MinCapacity: 2, MaxCapacity: 6 } as never] });
    autoScaling.on(DescribeScalingPoliciesCommand).resolves({
      ScalingPolicies: [{ PolicyName: 'cpu', PolicyType: 'TargetTrackingScaling', TargetTrackingScalingPolicyConfiguration: { TargetValue: 70, PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' } } } as never],
    });
    autoScaling.on(DescribeScalingActivitiesCommand).resolves({ ScalingActivities: [{ StatusCode: 'Successful', Description: 'Setting desired count to 3.', StartTime: new Date(NOW - 60_000) } as never] });

    const lines = formatStatus(await gather(), { local: false });
    const at = lines.findIndex((line) => line.startsWith('Autoscaling:'));

    expect(lines.slice(at, at + 3)).toEqual([
      'Autoscaling: on: min 2, max 6',
      '    policy cpu: TargetTrackingScaling, ECSServiceAverageCPUUtilization 70',
      '    last activity: Successful at 2026-11-05 11:59:00: Setting desired count to 3.',
    ]);
  });
});

describe('statusAction', () => {
  let stdout: string[];
  beforeEach(() => {
    sts.on(GetCallerIdentityCommand).resolves({ Account: ACCOUNT });
    vi.stubEnv('AWS_ENDPOINT_URL', undefined);
    vi.stubEnv('ECS_HA_TRACE', undefined);
    stdout = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => (stdout.push(String(chunk)), true));
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  });
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });
  const options = (overrides: Partial<StatusCliOptions> = {}): StatusCliOptions => ({ stack: 'demo', region: REGION, stateDir: stackStateDir(), interval: '5', ...overrides });

  it('--json prints the status as one document, and exits 0', async () => {
    await statusAction(options({ json: true }));

    const document = JSON.parse(stdout.join('')) as StackStatus;
    expect(document.stack).toBe('demo');
    expect(document.tasks?.zones.map((z) => [z.zone, z.tasks.length])).toEqual([['us-east-1a', 1], ['us-east-1b', 1], ['us-east-1c', 0]]);
    expect(document.cost?.estimate).toBe(true);
    expect(document.unavailable).toEqual([]);
  });

  it('exits 1 once the screen is shown when a part could not be read', async () => {
    ecs.on(DescribeTasksCommand).rejects(awsError('AccessDeniedException', 'no DescribeTasks'));

    await expect(statusAction(options())).rejects.toMatchObject({ exitCode: ExitCode.failed, message: 'status could not read: tasks' });
    expect(stdout.join('')).toContain('Tasks:       unavailable (AccessDeniedException: no DescribeTasks)');
  });

  it('refuses a bad --interval before any AWS call', async () => {
    await expect(statusAction(options({ watch: true, interval: '0' }))).rejects.toMatchObject({ exitCode: ExitCode.usage, message: expect.stringContaining('--interval') });
    expect(operationsCalled()).toEqual([]);
  });

  it('refuses a stack without a state file (exit 1) with the command that makes one', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'ecs-ha-status-empty-'));
    await expect(statusAction(options({ stateDir: empty }))).rejects.toMatchObject({ exitCode: ExitCode.failed, hint: expect.stringContaining('ecs-ha up') });
  });
});
