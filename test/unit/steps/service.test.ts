import {
  CreateServiceCommand,
  DeleteServiceCommand,
  DescribeServicesCommand,
  DescribeTasksCommand,
  ECSClient,
  ListTasksCommand,
  UpdateServiceCommand,
  type Service,
} from '@aws-sdk/client-ecs';
import { DescribeTargetHealthCommand, ElasticLoadBalancingV2Client, type TargetHealthStateEnum } from '@aws-sdk/client-elastic-load-balancing-v2';
import { mockClient } from 'aws-sdk-client-mock';
import type { DeploymentSettings } from '../../../src/deploy/strategy.js';
import { beforeEach, describe, expect, it } from 'vitest';
import { isMutatingOperation } from '../../../src/aws/clients.js';
import { EnvironmentError, ExitCode, OperationError } from '../../../src/errors.js';
import { serviceStep, waitUntilServiceHealthy } from '../../../src/steps/service.js';
import { awsError, testContext, type TestContext } from '../../helpers/context.js';
import { planContext, planThenEnsure, writesOf } from '../core/planAgreement.js';

const ecs = mockClient(ECSClient);
const elbv2 = mockClient(ElasticLoadBalancingV2Client);
const serviceArn = 'arn:aws:ecs:us-east-1:123456789012:service/demo/demo';
const taskDefinitionArn = 'arn:aws:ecs:us-east-1:123456789012:task-definition/demo:3';
const targetGroupArn = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/demo-tg/abc';
const registryArn = 'arn:aws:servicediscovery:us-east-1:123456789012:service/srv-12345678';
const ourTags = [{ key: 'ecs-ha:stack', value: 'demo' }];
const missing = { services: [], failures: [{ arn: serviceArn, reason: 'MISSING' }] };

function service(overrides: Partial<Service> = {}): Service {
  return {
    serviceArn,
    serviceName: 'demo',
    status: 'ACTIVE',
    taskDefinition: taskDefinitionArn,
    desiredCount: 2,
    runningCount: 2,
    pendingCount: 0,
    healthCheckGracePeriodSeconds: 30,
    deployments: [{ status: 'PRIMARY', rolloutState: 'COMPLETED', runningCount: 2, desiredCount: 2 }],
    tags: ourTags,
    ...overrides,
  };
}

function mutatingCalls(): string[] {
  return [...ecs.calls(), ...elbv2.calls()]
    .map((call) => (call.args[0] as object).constructor.name.replace(/Command$/, ''))
    .filter(isMutatingOperation);
}

function withDependencies(config: Parameters<typeof testContext>[0] = {}): TestContext {
  const ctx = testContext(config);
  ctx.state.record('cluster', { id: 'demo', arn: 'arn:cluster', origin: 'created' });
  ctx.state.record('taskDefinition', { id: taskDefinitionArn, arn: taskDefinitionArn, origin: 'created', details: { family: 'demo' } });
  ctx.state.record('network', { id: 'vpc-1', origin: 'adopted', details: { subnetIds: ['subnet-a', 'subnet-b'], availabilityZones: ['us-east-1a', 'us-east-1b'] } });
  ctx.state.record('taskSecurityGroup', { id: 'sg-tasks', origin: 'created' });
  ctx.state.record('targetGroup', { id: targetGroupArn, arn: targetGroupArn, origin: 'created', details: { name: 'demo-tg' } });
  ctx.state.record('listener', { id: 'arn:listener', arn: 'arn:listener', origin: 'created' });
  ctx.state.record('discoveryService', { id: 'srv-12345678', arn: registryArn, origin: 'created', details: { name: 'app' } });
  ctx.state.record('logGroup', { id: '/ecs/demo', arn: 'arn:logs', origin: 'created' });
  return ctx;
}

function recordService(ctx: TestContext): void {
  ctx.state.record('service', { id: 'demo', arn: serviceArn, origin: 'created', details: { cluster: 'demo' } });
}

beforeEach(() => {
  ecs.reset();
  elbv2.reset();
});

describe('ECS service step', () => {
  it('creates a tagged Fargate service wired to the target group and Cloud Map, and records it at once', async () => {
    const ctx = withDependencies();
    ecs.on(DescribeServicesCommand).resolves(missing);
    ecs.on(CreateServiceCommand).resolves({ service: service() });

    expect(await serviceStep.ensure(ctx)).toBe('created service demo (2 tasks)');

    expect(ecs.commandCalls(DescribeServicesCommand)[0]!.args[0].input).toEqual({ cluster: 'demo', services: ['demo'], include: ['TAGS'] });
    expect(ecs.commandCalls(CreateServiceCommand)[0]!.args[0].input).toEqual({
      cluster: 'demo',
      serviceName: 'demo',
      taskDefinition: taskDefinitionArn,
      desiredCount: 2,
      launchType: 'FARGATE',
      platformVersion: 'LATEST',
      networkConfiguration: {
        awsvpcConfiguration: { subnets: ['subnet-a', 'subnet-b'], securityGroups: ['sg-tasks'], assignPublicIp: 'ENABLED' },
      },
      loadBalancers: [{ targetGroupArn, containerName: 'app', containerPort: 8080 }],
      serviceRegistries: [{ registryArn }],
      healthCheckGracePeriodSeconds: 30,
      availabilityZoneRebalancing: 'ENABLED',
      deploymentConfiguration: {
        minimumHealthyPercent: 100,
        maximumPercent: 200,
        deploymentCircuitBreaker: { enable: true, rollback: true },
      },
      propagateTags: 'SERVICE',
      enableECSManagedTags: true,
      tags: ourTags,
    });
    expect(ctx.state.get('service')).toEqual({ id: 'demo', arn: serviceArn, origin: 'created', details: { cluster: 'demo' } });
  });

  describe('with a native strategy (up --strategy)', () => {
    const alternateArn = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/demo-tg2/def';
    const ruleArn = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/demo-alb/1/2/3';
    const roleArn = 'arn:aws:iam::123456789012:role/demo-us-east-1-ecs-infra';
    function native(deployment: DeploymentSettings): TestContext {
      const ctx = withDependencies({ config: { deployment } });
      ctx.state.record('alternateTargetGroup', { id: alternateArn, arn: alternateArn, origin: 'created' });
      ctx.state.record('listenerRule', { id: ruleArn, arn: ruleArn, origin: 'created' });
      ctx.state.record('infrastructureRole', { id: 'demo-us-east-1-ecs-infra', arn: roleArn, origin: 'created' });
      return ctx;
    }
    const advancedConfiguration = { alternateTargetGroupArn: alternateArn, productionListenerRule: ruleArn, roleArn };

    it.each([
      [{ strategy: 'blue-green', bakeMinutes: 5 }, { strategy: 'BLUE_GREEN', bakeTimeInMinutes: 5 }],
      [{ strategy: 'linear', bakeMinutes: 2, stepPercent: 25, stepBakeMinutes: 3 }, { strategy: 'LINEAR', bakeTimeInMinutes: 2, linearConfiguration: { stepPercent: 25, stepBakeTimeInMinutes: 3 } }],
      [{ strategy: 'canary', bakeMinutes: 2, canaryPercent: 10, canaryBakeMinutes: 3 }, { strategy: 'CANARY', bakeTimeInMinutes: 2, canaryConfiguration: { canaryPercent: 10, canaryBakeTimeInMinutes: 3 } }],
    ] as const)('%o: CreateService carries the deployment configuration and the advanced load balancer configuration the API reference names', async (settings, deploymentConfiguration) => {
      const ctx = native(settings);
      ecs.on(DescribeServicesCommand).resolves(missing);
      ecs.on(CreateServiceCommand).resolves({ service: service() });

      await serviceStep.ensure(ctx);

      const input = ecs.commandCalls(CreateServiceCommand)[0]!.args[0].input;
      expect(input.deploymentConfiguration).toEqual(deploymentConfiguration);
      expect(input.loadBalancers).toEqual([{ targetGroupArn, containerName: 'app', containerPort: 8080, advancedConfiguration }]);
      expect(ctx.state.get('service')?.details).toEqual({ cluster: 'demo', deployment: settings });
    });

    it('a service that deploys ROLLING is switched to the stack\'s strategy in one UpdateService', async () => {
      const ctx = native({ strategy: 'blue-green', bakeMinutes: 2 });
      ctx.state.record('service', { id: 'demo', arn: serviceArn, origin: 'created', details: { cluster: 'demo' } });
      ecs.on(DescribeServicesCommand).resolves({
        services: [service({ deploymentConfiguration: { strategy: 'ROLLING', minimumHealthyPercent: 100, maximumPercent: 200 }, loadBalancers: [{ targetGroupArn, containerName: 'app', containerPort: 8080 }] })],
      });
      ecs.on(UpdateServiceCommand).resolves({ service: service() });

      expect(await serviceStep.ensure(ctx)).toContain('deployment strategy');

      expect(ecs.commandCalls(UpdateServiceCommand)[0]!.args[0].input).toMatchObject({
        deploymentConfiguration: { strategy: 'BLUE_GREEN', bakeTimeInMinutes: 2 },
        loadBalancers: [{ targetGroupArn, containerName: 'app', containerPort: 8080, advancedConfiguration }],
      });
    });

    it('makes no write when the service already deploys as the stack says', async () => {
      const ctx = native({ strategy: 'canary', bakeMinutes: 2, canaryPercent: 10, canaryBakeMinutes: 3 });
      ctx.state.record('service', { id: 'demo', arn: serviceArn, origin: 'created', details: { cluster: 'demo', deployment: { strategy: 'canary', bakeMinutes: 2, canaryPercent: 10, canaryBakeMinutes: 3 } } });
      ecs.on(DescribeServicesCommand).resolves({
        services: [
          service({
            deploymentConfiguration: { strategy: 'CANARY', bakeTimeInMinutes: 2, canaryConfiguration: { canaryPercent: 10, canaryBakeTimeInMinutes: 3 } },
            loadBalancers: [{ targetGroupArn, containerName: 'app', containerPort: 8080, advancedConfiguration }],
          }),
        ],
      });

      await serviceStep.ensure(ctx);

      expect(mutatingCalls()).toEqual([]);
    });
  });

  it('makes one read call and nothing else when the recorded service matches', async () => {
    const ctx = withDependencies();
    recordService(ctx);
    ecs.on(DescribeServicesCommand).resolves({ services: [service()] });

    expect(await serviceStep.ensure(ctx)).toBe('service demo exists');

    expect(ecs.calls()).toHaveLength(1);
    expect(mutatingCalls()).toEqual([]);
  });

  it('does not count a grace period the emulator does not report as a change', async () => {
    const ctx = withDependencies();
    recordService(ctx);
    ecs.on(DescribeServicesCommand).resolves({ services: [service({ healthCheckGracePeriodSeconds: undefined })] });

    await serviceStep.ensure(ctx);

    expect(mutatingCalls()).toEqual([]);
  });

  it('updates only what differs: a new task definition', async () => {
    const ctx = withDependencies();
    recordService(ctx);
    ecs.on(DescribeServicesCommand).resolves({ services: [service({ taskDefinition: taskDefinitionArn.replace(':3', ':2') })] });
    ecs.on(UpdateServiceCommand).resolves({ service: service() });

    expect(await serviceStep.ensure(ctx)).toBe('updated service demo (task definition)');

    expect(ecs.commandCalls(UpdateServiceCommand)[0]!.args[0].input).toEqual({ cluster: 'demo', service: 'demo', taskDefinition: taskDefinitionArn });
  });

  it('starts a new deployment when the last one FAILED (circuit breaker), saying why, instead of waiting on it', async () => {
    const ctx = withDependencies();
    recordService(ctx);
    const failed = { id: 'ecs-svc/111', status: 'PRIMARY', rolloutState: 'FAILED' as const, rolloutStateReason: 'ECS deployment circuit breaker: tasks failed to start.', runningCount: 0, desiredCount: 2 };
    ecs.on(DescribeServicesCommand).resolves({ services: [service({ runningCount: 0, deployments: [failed] })] });
    ecs.on(UpdateServiceCommand).resolves({ service: service() });

    expect(await serviceStep.ensure(ctx)).toBe('updated service demo (a new deployment, as the last one FAILED)');

    expect(ecs.commandCalls(UpdateServiceCommand)[0]!.args[0].input).toEqual({ cluster: 'demo', service: 'demo', forceNewDeployment: true });
    expect(ctx.notices).toEqual(['the last deployment of service demo (ecs-svc/111) FAILED: ECS deployment circuit breaker: tasks failed to start.; starting a new one']);
  });

  it('updates only what differs: the desired count (--count given) and grace period', async () => {
    const ctx = withDependencies({ config: { updateDesiredCount: true } });
    recordService(ctx);
    ecs.on(DescribeServicesCommand).resolves({ services: [service({ desiredCount: 3, healthCheckGracePeriodSeconds: 0 })] });
    ecs.on(UpdateServiceCommand).resolves({ service: service() });

    await serviceStep.ensure(ctx);

    expect(ecs.commandCalls(UpdateServiceCommand)[0]!.args[0].input).toEqual({
      cluster: 'demo',
      service: 'demo',
      desiredCount: 2,
      healthCheckGracePeriodSeconds: 30,
    });
  });

  it('turns Availability Zone rebalancing on when the service reports it off (set explicitly, not left to the default)', async () => {
    const ctx = withDependencies();
    recordService(ctx);
    ecs.on(DescribeServicesCommand).resolves({ services: [service({ availabilityZoneRebalancing: 'DISABLED' })] });
    ecs.on(UpdateServiceCommand).resolves({ service: service() });

    expect(await serviceStep.ensure(ctx)).toBe('updated service demo (Availability Zone rebalancing)');
    expect(ecs.commandCalls(UpdateServiceCommand)[0]!.args[0].input).toEqual({ cluster: 'demo', service: 'demo', availabilityZoneRebalancing: 'ENABLED' });
  });

  it("gives back the subnets a killed zone drill left out: the stack's subnets again, security groups and public IP as they are", async () => {
    const ctx = withDependencies();
    recordService(ctx);
    const awsvpc = { subnets: ['subnet-b'], securityGroups: ['sg-tasks', 'sg-extra'], assignPublicIp: 'ENABLED' as const };
    ecs.on(DescribeServicesCommand).resolves({ services: [service({ networkConfiguration: { awsvpcConfiguration: awsvpc } })] });
    ecs.on(UpdateServiceCommand).resolves({ service: service() });

    expect(await serviceStep.ensure(ctx)).toBe('updated service demo (restored the subnets of a zone a chaos drill left out)');
    expect(ecs.commandCalls(UpdateServiceCommand)[0]!.args[0].input).toEqual({
      cluster: 'demo',
      service: 'demo',
      networkConfiguration: { awsvpcConfiguration: { subnets: ['subnet-a', 'subnet-b'], securityGroups: ['sg-tasks', 'sg-extra'], assignPublicIp: 'ENABLED' } },
    });
  });

  it("leaves the subnets alone when the service has the stack's, in any order", async () => {
    const ctx = withDependencies();
    recordService(ctx);
    const awsvpcConfiguration = { subnets: ['subnet-b', 'subnet-a'], securityGroups: ['sg-tasks'], assignPublicIp: 'ENABLED' as const };
    ecs.on(DescribeServicesCommand).resolves({ services: [service({ networkConfiguration: { awsvpcConfiguration } })] });

    expect(await serviceStep.ensure(ctx)).toBe('service demo exists');
    expect(mutatingCalls()).toEqual([]);
  });

  it('adopts an untagged service of the same name without changing it, and never deletes it', async () => {
    const ctx = withDependencies();
    ecs.on(DescribeServicesCommand).resolves({ services: [service({ tags: [], desiredCount: 5, taskDefinition: 'theirs:1' })] });

    expect(await serviceStep.ensure(ctx)).toContain('adopted');
    expect(ctx.state.get('service')?.origin).toBe('adopted');
    expect(ctx.notices.join('\n')).toContain('not updated');

    expect(await serviceStep.destroy(ctx)).toContain('kept');
    expect(mutatingCalls()).toEqual([]);
    expect(ctx.state.get('service')).toBeUndefined();
  });

  it('treats a tagged service missing from the state as its own and brings it up to date', async () => {
    const ctx = withDependencies();
    ecs.on(DescribeServicesCommand).resolves({ services: [service({ desiredCount: 1, taskDefinition: taskDefinitionArn.replace(':3', ':2') })] });
    ecs.on(UpdateServiceCommand).resolves({ service: service() });

    await serviceStep.ensure(ctx);

    expect(ctx.state.get('service')).toEqual({ id: 'demo', arn: serviceArn, origin: 'created', details: { cluster: 'demo' } });
    // Its task definition is brought up to date; its count is not `up`'s to change without --count.
    expect(ecs.commandCalls(UpdateServiceCommand)[0]!.args[0].input).toEqual({ cluster: 'demo', service: 'demo', taskDefinition: taskDefinitionArn });
  });

  it('keeps the desired count `scale 3` set when `up` runs again without --count', async () => {
    const ctx = withDependencies();
    recordService(ctx);
    // `ecs-ha scale 3` left the service at 3; `up` alone has its default count, 2.
    ecs.on(DescribeServicesCommand).resolves({ services: [service({ desiredCount: 3, runningCount: 3 })] });

    expect(ctx.config.count).toBe(2);
    expect(await serviceStep.ensure(ctx)).toBe('service demo exists');
    expect(mutatingCalls()).toEqual([]);
  });

  it('sets the desired count of a running service when --count is given', async () => {
    const ctx = withDependencies({ config: { count: 2, updateDesiredCount: true } });
    recordService(ctx);
    ecs.on(DescribeServicesCommand).resolves({ services: [service({ desiredCount: 3, runningCount: 3 })] });
    ecs.on(UpdateServiceCommand).resolves({ service: service() });

    expect(await serviceStep.ensure(ctx)).toBe('updated service demo (desired count)');
    expect(ecs.commandCalls(UpdateServiceCommand)[0]!.args[0].input).toEqual({ cluster: 'demo', service: 'demo', desiredCount: 2 });
  });

  it('creates a new service with the count it is given, --count or not', async () => {
    const ctx = withDependencies({ config: { count: 3 } });
    ecs.on(DescribeServicesCommand).resolves(missing);
    ecs.on(CreateServiceCommand).resolves({ service: service({ desiredCount: 3 }) });

    expect(await serviceStep.ensure(ctx)).toBe('created service demo (3 tasks)');
    expect(ecs.commandCalls(CreateServiceCommand)[0]!.args[0].input.desiredCount).toBe(3);
  });

  it('recreates a service deleted behind its back (INACTIVE)', async () => {
    const ctx = withDependencies();
    recordService(ctx);
    ecs.on(DescribeServicesCommand).resolves({ services: [service({ status: 'INACTIVE' })] });
    ecs.on(CreateServiceCommand).resolves({ service: service() });

    await serviceStep.ensure(ctx);

    expect(ecs.commandCalls(CreateServiceCommand)).toHaveLength(1);
    expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(0);
  });

  it('waits for a DRAINING service to become INACTIVE before creating it again', async () => {
    const ctx = withDependencies();
    ecs.on(DescribeServicesCommand)
      .resolvesOnce({ services: [service({ status: 'DRAINING' })] })
      .resolvesOnce({ services: [service({ status: 'DRAINING', runningCount: 1 })] })
      .resolves({ services: [service({ status: 'INACTIVE' })] });
    ecs.on(CreateServiceCommand).resolves({ service: service() });

    await serviceStep.ensure(ctx);

    expect(ecs.commandCalls(DescribeServicesCommand)).toHaveLength(3);
    expect(ctx.clock.slept).toEqual([2_000]);
    expect(ecs.commandCalls(CreateServiceCommand)).toHaveLength(1);
  });

  it('retries the create while the target group is not yet attached to the load balancer', async () => {
    const ctx = withDependencies();
    ecs.on(DescribeServicesCommand).resolves(missing);
    ecs.on(CreateServiceCommand)
      .rejectsOnce(
        awsError('InvalidParameterException', `The target group with targetGroupArn ${targetGroupArn} does not have an associated load balancer.`),
      )
      .resolves({ service: service() });

    await serviceStep.ensure(ctx);

    expect(ecs.commandCalls(CreateServiceCommand)).toHaveLength(2);
    expect(ctx.clock.slept).toHaveLength(1);
    expect(ctx.state.get('service')?.origin).toBe('created');
  });

  it('does not retry other invalid parameters', async () => {
    const ctx = withDependencies();
    ecs.on(DescribeServicesCommand).resolves(missing);
    ecs.on(CreateServiceCommand).rejects(awsError('InvalidParameterException', 'subnets can not be empty.'));

    await expect(serviceStep.ensure(ctx)).rejects.toThrow('subnets can not be empty');
    expect(ecs.commandCalls(CreateServiceCommand)).toHaveLength(1);
    expect(ctx.state.get('service')).toBeUndefined();
  });

  it('scales to zero, deletes with force, waits until INACTIVE and forgets it', async () => {
    const ctx = withDependencies();
    recordService(ctx);
    ecs.on(DescribeServicesCommand)
      .resolvesOnce({ services: [service()] })
      .resolvesOnce({ services: [service({ status: 'DRAINING', desiredCount: 0, runningCount: 2 })] })
      .resolvesOnce({ services: [service({ status: 'DRAINING', desiredCount: 0, runningCount: 1 })] })
      .resolves({ services: [service({ status: 'INACTIVE', desiredCount: 0, runningCount: 0 })] });
    ecs.on(UpdateServiceCommand).resolves({});
    ecs.on(DeleteServiceCommand).resolves({});

    expect(await serviceStep.destroy(ctx)).toBe('deleted service demo');

    expect(ecs.commandCalls(UpdateServiceCommand)[0]!.args[0].input).toEqual({ cluster: 'demo', service: 'demo', desiredCount: 0 });
    expect(ecs.commandCalls(DeleteServiceCommand)[0]!.args[0].input).toEqual({ cluster: 'demo', service: 'demo', force: true });
    expect(ctx.clock.slept).toEqual([2_000, 2_000]);
    expect(ctx.progressLines).toEqual(['service demo DRAINING, 2 running (0s)', 'service demo DRAINING, 1 running (2s)']);
    expect(ctx.state.get('service')).toBeUndefined();
  });

  it('skips the scale-down when the service already wants zero tasks', async () => {
    const ctx = withDependencies();
    recordService(ctx);
    ecs.on(DescribeServicesCommand).resolvesOnce({ services: [service({ desiredCount: 0 })] }).resolves(missing);
    ecs.on(DeleteServiceCommand).resolves({});

    await serviceStep.destroy(ctx);

    expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(0);
    expect(ecs.commandCalls(DeleteServiceCommand)).toHaveLength(1);
  });

  it('counts a service or cluster already gone as removed', async () => {
    for (const answer of [missing, awsError('ClusterNotFoundException'), { services: [service({ status: 'INACTIVE' })] }]) {
      ecs.reset();
      const ctx = withDependencies();
      recordService(ctx);
      if (answer instanceof Error) ecs.on(DescribeServicesCommand).rejects(answer);
      else ecs.on(DescribeServicesCommand).resolves(answer);

      await serviceStep.destroy(ctx);

      expect(mutatingCalls()).toEqual([]);
      expect(ctx.state.get('service')).toBeUndefined();
    }
  });

  it('counts a service that vanishes between the lookup and the delete as removed', async () => {
    const ctx = withDependencies();
    recordService(ctx);
    ecs.on(DescribeServicesCommand).resolvesOnce({ services: [service()] }).resolves(missing);
    ecs.on(UpdateServiceCommand).rejects(awsError('ServiceNotActiveException'));

    await serviceStep.destroy(ctx);

    expect(ctx.state.get('service')).toBeUndefined();
  });

  it('stops on a permanent error and keeps the record', async () => {
    const ctx = withDependencies();
    recordService(ctx);
    ecs.on(DescribeServicesCommand).resolves({ services: [service()] });
    ecs.on(UpdateServiceCommand).rejects(awsError('AccessDeniedException'));

    await expect(serviceStep.destroy(ctx)).rejects.toThrow('AccessDeniedException');
    expect(ecs.commandCalls(DeleteServiceCommand)).toHaveLength(0);
    expect(ctx.state.get('service')).toBeDefined();
  });

  it('gives up waiting for the deletion after the wait timeout, keeping the record', async () => {
    const ctx = withDependencies();
    ctx.waitTimeoutMs = 30_000;
    recordService(ctx);
    ecs.on(DescribeServicesCommand).resolves({ services: [service({ status: 'DRAINING' })] });

    await expect(serviceStep.destroy(ctx)).rejects.toThrow(/timed out after 30s/);
    expect(ctx.state.get('service')).toBeDefined();
  });

  it('discovers only a live service carrying the stack tag', async () => {
    const tagged = withDependencies();
    ecs.on(DescribeServicesCommand).resolves({ services: [service()] });
    await serviceStep.discover(tagged);
    expect(tagged.state.get('service')).toEqual({ id: 'demo', arn: serviceArn, origin: 'created', details: { cluster: 'demo' } });

    for (const answer of [{ services: [service({ tags: [] })] }, { services: [service({ status: 'INACTIVE' })] }, missing]) {
      ecs.reset();
      const ctx = testContext();
      ecs.on(DescribeServicesCommand).resolves(answer);
      await serviceStep.discover(ctx);
      expect(ctx.state.get('service')).toBeUndefined();
    }
  });
});

function targets(...states: TargetHealthStateEnum[]) {
  return {
    TargetHealthDescriptions: states.map((State, i) => ({
      Target: { Id: `10.0.0.${i + 1}`, Port: 8080 },
      TargetHealth: { State, ...(State === 'unhealthy' ? { Description: 'Health checks failed with these codes: [500]' } : {}) },
    })),
  };
}

describe('waitUntilServiceHealthy', () => {
  it('follows tasks from pending to running and targets from initial to healthy, then reports the AZs', async () => {
    const ctx = withDependencies();
    recordService(ctx);
    ecs.on(DescribeServicesCommand)
      .resolvesOnce({ services: [service({ runningCount: 0, pendingCount: 2, deployments: [{ rolloutState: 'IN_PROGRESS' }] })] })
      .resolvesOnce({ services: [service({ runningCount: 1, pendingCount: 1, deployments: [{ rolloutState: 'IN_PROGRESS' }] })] })
      .resolves({ services: [service()] });
    elbv2
      .on(DescribeTargetHealthCommand)
      .resolvesOnce(targets('initial', 'initial'))
      .resolvesOnce(targets('healthy', 'initial'))
      .resolves(targets('healthy', 'healthy'));
    ecs.on(ListTasksCommand).resolves({ taskArns: ['arn:task/1', 'arn:task/2'] });
    ecs.on(DescribeTasksCommand).resolves({
      tasks: [
        { taskArn: 'arn:task/1', availabilityZone: 'us-east-1b' },
        { taskArn: 'arn:task/2', availabilityZone: 'us-east-1a' },
      ],
    });

    const health = await waitUntilServiceHealthy(ctx, 600_000);

    expect(health).toEqual({ runningCount: 2, healthyTargets: 2, availabilityZones: ['us-east-1a', 'us-east-1b'] });
    expect(ctx.progressLines).toEqual([
      '0/2 running, 2 pending (0s)',
      '1/2 running, 1 pending (2s)',
      '2/2 running, 0/2 targets healthy (4s)',
      '2/2 running, 1/2 targets healthy (6s)',
    ]);
    expect(elbv2.commandCalls(DescribeTargetHealthCommand)[0]!.args[0].input).toEqual({ TargetGroupArn: targetGroupArn });
    expect(ecs.commandCalls(ListTasksCommand)[0]!.args[0].input).toEqual({ cluster: 'demo', serviceName: 'demo', desiredStatus: 'RUNNING' });
    expect(ecs.commandCalls(DescribeTasksCommand)[0]!.args[0].input).toEqual({ cluster: 'demo', tasks: ['arn:task/1', 'arn:task/2'] });
    expect(mutatingCalls()).toEqual([]);
  });

  it('waits while a second deployment is still replacing the first', async () => {
    const ctx = withDependencies();
    recordService(ctx);
    ecs.on(DescribeServicesCommand)
      .resolvesOnce({ services: [service({ deployments: [{ rolloutState: 'IN_PROGRESS' }, { rolloutState: 'COMPLETED' }] })] })
      .resolves({ services: [service({ deployments: [{ status: 'PRIMARY' }] })] }); // no rolloutState: fine once counts match
    elbv2.on(DescribeTargetHealthCommand).resolves(targets('healthy', 'healthy'));
    ecs.on(ListTasksCommand).resolves({ taskArns: [] });

    const health = await waitUntilServiceHealthy(ctx, 600_000);

    expect(ctx.progressLines).toEqual(['2/2 running, 2 deployments (0s)']);
    expect(health.availabilityZones).toEqual([]);
    expect(ecs.commandCalls(DescribeTasksCommand)).toHaveLength(0);
  });

  it('fails fast on a failed rollout, quoting the latest service events and pointing at the logs', async () => {
    const ctx = withDependencies();
    recordService(ctx);
    const events = ['e1: task stopped: exec format error', 'e2', 'e3', 'e4', 'e5-too-old'].map((message) => ({ message }));
    ecs.on(DescribeServicesCommand).resolves({
      services: [
        service({
          runningCount: 0,
          deployments: [{ status: 'PRIMARY', rolloutState: 'FAILED', rolloutStateReason: 'ECS deployment circuit breaker: tasks failed to start.' }],
          events,
        }),
      ],
    });

    const error = await waitUntilServiceHealthy(ctx, 600_000).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(OperationError);
    const { message, hint } = error as OperationError;
    expect(message).toContain('circuit breaker: tasks failed to start');
    expect(message).toContain('e1: task stopped: exec format error');
    expect(message).toContain('e4');
    expect(message).not.toContain('e5-too-old');
    expect(hint).toContain('/ecs/demo');
    expect(elbv2.calls()).toHaveLength(0);
  });

  it('is not healthy while a target is still draining after a scale-in, even with enough healthy ones', async () => {
    const ctx = withDependencies();
    recordService(ctx);
    ecs.on(DescribeServicesCommand).resolves({ services: [service()] });
    const draining = { TargetHealthDescriptions: [...targets('healthy', 'healthy').TargetHealthDescriptions!, { Target: { Id: '10.0.3.30', Port: 8080 }, TargetHealth: { State: 'draining' as const } }] };
    elbv2.on(DescribeTargetHealthCommand).resolvesOnce(draining).resolves(targets('healthy', 'healthy'));
    ecs.on(ListTasksCommand).resolves({ taskArns: [] });

    await waitUntilServiceHealthy(ctx, 600_000);

    expect(elbv2.commandCalls(DescribeTargetHealthCommand)).toHaveLength(2);
    expect(ctx.progressLines).toEqual(['2/2 running, 2/2 targets healthy, 1 draining (0s)']);
  });

  it('waits on the new deployment while the FAILED one it replaces is still listed', async () => {
    const ctx = withDependencies();
    recordService(ctx);
    const oldFailed = { id: 'ecs-svc/111', status: 'ACTIVE', rolloutState: 'FAILED' as const, rolloutStateReason: 'ECS deployment circuit breaker: tasks failed to start.' };
    ecs.on(DescribeServicesCommand)
      .resolvesOnce({ services: [service({ runningCount: 0, pendingCount: 2, deployments: [{ id: 'ecs-svc/222', status: 'PRIMARY', rolloutState: 'IN_PROGRESS' as const }, oldFailed] })] })
      .resolves({ services: [service()] });
    elbv2.on(DescribeTargetHealthCommand).resolves(targets('healthy', 'healthy'));
    ecs.on(ListTasksCommand).resolves({ taskArns: [] });

    expect(await waitUntilServiceHealthy(ctx, 600_000)).toMatchObject({ runningCount: 2, healthyTargets: 2 });
  });

  it('shows the failure events ECS adds while it waits (not the older ones), and ends at a FAILED deployment with its reason', async () => {
    const ctx = withDependencies();
    recordService(ctx);
    const old = { id: 'ev-0', message: '(service demo) (task 0) failed ELB health checks in (target-group x)' };
    const pull = { id: 'ev-1', message: '(service demo) failed to launch a task with (error CannotPullContainerError: pull image manifest has been retried 1 time(s))' };
    const started = { id: 'ev-2', message: '(service demo) has started 1 tasks: (task 1).' };
    const inProgress = [{ id: 'ecs-svc/3', status: 'PRIMARY', rolloutState: 'IN_PROGRESS' as const }];
    ecs.on(DescribeServicesCommand)
      .resolvesOnce({ services: [service({ runningCount: 0, pendingCount: 2, deployments: inProgress, events: [old] })] })
      .resolvesOnce({ services: [service({ runningCount: 0, pendingCount: 2, deployments: inProgress, events: [pull, started, old] })] })
      .resolves({
        services: [service({ runningCount: 0, deployments: [{ id: 'ecs-svc/3', status: 'PRIMARY', rolloutState: 'FAILED', rolloutStateReason: 'ECS deployment circuit breaker: tasks failed to start.' }], events: [pull, started, old] })],
      });

    await expect(waitUntilServiceHealthy(ctx, 600_000)).rejects.toThrow('circuit breaker: tasks failed to start');
    expect(ctx.notices).toEqual([`ECS: ${pull.message}`]);
  });

  it('keeps waiting while a target is unhealthy, showing why, and times out in the end', async () => {
    const ctx = withDependencies();
    recordService(ctx);
    ecs.on(DescribeServicesCommand).resolves({ services: [service()] });
    elbv2.on(DescribeTargetHealthCommand).resolves(targets('healthy', 'healthy', 'unhealthy'));

    await expect(waitUntilServiceHealthy(ctx, 30_000)).rejects.toThrow(/timed out after 30s waiting for the targets of service demo/);
    expect(ctx.progressLines[0]).toBe('2/2 running, 2/2 targets healthy, 1 unhealthy (Health checks failed with these codes: [500]) (0s)');
  });
});

describe('ECS service step: ECS service-linked role not usable yet', () => {
  // AWS's answer on a brand-new account, until AWSServiceRoleForECS exists and ECS can use it.
  const noServiceLinkedRole = () =>
    awsError('InvalidParameterException', 'Unable to assume the service linked role. Please verify that the ECS service linked role exists.');

  it('retries CreateService, showing each retry, until ECS can use the role', async () => {
    const ctx = withDependencies();
    ecs.on(DescribeServicesCommand).resolves(missing);
    ecs.on(CreateServiceCommand).rejectsOnce(noServiceLinkedRole()).rejectsOnce(noServiceLinkedRole()).resolves({ service: service() });

    expect(await serviceStep.ensure(ctx)).toBe('created service demo (2 tasks)');

    expect(ecs.commandCalls(CreateServiceCommand)).toHaveLength(3);
    expect(ctx.progressLines.filter((line) => line.includes('Unable to assume the service linked role'))).toHaveLength(2);
    expect(ctx.state.get('service')?.origin).toBe('created');
  });

  it('gives up after about two minutes: exit 3 with AWS message and how to create the role', async () => {
    const ctx = withDependencies();
    ecs.on(DescribeServicesCommand).resolves(missing);
    ecs.on(CreateServiceCommand).rejects(noServiceLinkedRole());

    const error = await serviceStep.ensure(ctx).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(EnvironmentError);
    expect((error as EnvironmentError).exitCode).toBe(ExitCode.environment);
    expect((error as EnvironmentError).message).toContain(
      'CreateService failed: InvalidParameterException: Unable to assume the service linked role. Please verify that the ECS service linked role exists.',
    );
    expect((error as EnvironmentError).hint).toContain('aws iam create-service-linked-role --aws-service-name ecs.amazonaws.com');
    const waited = ctx.clock.slept.reduce((a, b) => a + b, 0);
    expect(waited).toBeGreaterThanOrEqual(120_000);
    expect(waited).toBeLessThanOrEqual(135_000);
    expect(ctx.state.get('service')).toBeUndefined();
  });

  it('still ends a wait on the listener with AWS own error, not the role hint', async () => {
    const ctx = withDependencies();
    ecs.on(DescribeServicesCommand).resolves(missing);
    ecs.on(CreateServiceCommand).rejects(awsError('InvalidParameterException', `The target group with targetGroupArn ${targetGroupArn} does not have an associated load balancer.`));

    const error = await serviceStep.ensure(ctx).catch((e: unknown) => e);

    expect(error).not.toBeInstanceOf(EnvironmentError);
    expect(String(error)).toContain('does not have an associated load balancer');
  });
});

describe('ECS service plan', () => {
  const writes = writesOf(ecs, elbv2);

  it('create: a new cluster has no service, and is not asked', async () => {
    const planCtx = planContext(withDependencies());
    planCtx.state.foreseeNew('cluster', 'ECS cluster', { id: 'demo', origin: 'created' });

    expect(await serviceStep.plan!(planCtx)).toEqual({ action: 'create', resource: 'ECS service demo', detail: '2 tasks on Fargate, behind the load balancer, in Cloud Map' });
    expect(ecs.calls()).toHaveLength(0);
    expect(planCtx.state.get('service')?.details?.desiredCount).toBe(2);
  });

  it('create: no live service of the name (one deleted behind its back is INACTIVE)', async () => {
    const ctx = withDependencies();
    recordService(ctx);
    ecs.on(DescribeServicesCommand).resolves({ services: [service({ status: 'INACTIVE' })] });
    ecs.on(CreateServiceCommand).resolves({ service: service() });

    expect((await planThenEnsure(serviceStep, ctx, writes)).action).toBe('create');
  });

  it('keep: the recorded service matches', async () => {
    const ctx = withDependencies();
    recordService(ctx);
    ecs.on(DescribeServicesCommand).resolves({ services: [service()] });

    expect(await planThenEnsure(serviceStep, ctx, writes)).toEqual({ action: 'keep', resource: 'ECS service demo', detail: '2 tasks' });
  });

  it('keep: without --count, the count `scale` set stays, and is what the cost counts', async () => {
    const ctx = withDependencies();
    recordService(ctx);
    ecs.on(DescribeServicesCommand).resolves({ services: [service({ desiredCount: 5 })] });
    const planCtx = planContext(ctx);

    expect(await serviceStep.plan!(planCtx)).toMatchObject({ action: 'keep', detail: '5 tasks' });
    expect(planCtx.state.get('service')?.details?.desiredCount).toBe(5);
  });

  it('update: --count 3, said with the numbers', async () => {
    const ctx = withDependencies({ config: { count: 3, updateDesiredCount: true } });
    recordService(ctx);
    ecs.on(DescribeServicesCommand).resolves({ services: [service()] });
    ecs.on(UpdateServiceCommand).resolves({ service: service({ desiredCount: 3 }) });

    expect(await planThenEnsure(serviceStep, ctx, writes)).toEqual({ action: 'update', resource: 'ECS service demo', detail: 'desired count 2 → 3' });
  });

  it('update: a task definition revision up would register', async () => {
    const ctx = withDependencies();
    recordService(ctx);
    ecs.on(DescribeServicesCommand).resolves({ services: [service()] });
    const planCtx = planContext(ctx);
    planCtx.state.foreseeNew('taskDefinition', 'task definition revision');

    expect(await serviceStep.plan!(planCtx)).toMatchObject({ action: 'update', detail: 'task definition demo:3 → (new task definition revision)' });
    expect(writes()).toEqual([]);
  });

  it('update: a new deployment after a FAILED one', async () => {
    const ctx = withDependencies();
    recordService(ctx);
    ecs.on(DescribeServicesCommand).resolves({ services: [service({ deployments: [{ status: 'PRIMARY', rolloutState: 'FAILED' }] })] });
    ecs.on(UpdateServiceCommand).resolves({ service: service() });

    expect(await planThenEnsure(serviceStep, ctx, writes)).toMatchObject({ action: 'update', detail: 'a new deployment, as the last one FAILED' });
  });

  it('adopt: an untagged service of the name, never updated', async () => {
    const ctx = withDependencies({ config: { count: 3, updateDesiredCount: true } });
    ecs.on(DescribeServicesCommand).resolves({ services: [service({ tags: [] })] });

    expect(await planThenEnsure(serviceStep, ctx, writes)).toMatchObject({ action: 'adopt', detail: expect.stringContaining('never updated') });
  });
});
