/**
 * After a rollback the service runs an older revision than the family's latest. The task
 * definition step must take that recorded revision as it is, or a plain `up` would register a
 * copy of it and roll the service out again for nothing.
 */
import { DescribeTaskDefinitionCommand, ECSClient, RegisterTaskDefinitionCommand, type TaskDefinition, type TaskDefinitionStatus } from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { taskDefinitionStep } from '../../../src/steps/taskDefinition.js';
import { testContext, type TestContext } from '../../helpers/context.js';

const ecs = mockClient(ECSClient);
const base = 'arn:aws:ecs:us-east-1:123456789012:task-definition';
const image = '123456789012.dkr.ecr.us-east-1.amazonaws.com/demo:abc123';
const roleArn = 'arn:aws:iam::123456789012:role/demo-task-execution';
const ourTags = [{ key: 'ecs-ha:stack', value: 'demo' }];

function revision(n: number, appVersion: string, status: TaskDefinitionStatus = 'ACTIVE'): TaskDefinition {
  return {
    taskDefinitionArn: `${base}/demo:${n}`,
    family: 'demo',
    revision: n,
    status,
    networkMode: 'awsvpc',
    requiresCompatibilities: ['FARGATE'],
    cpu: '256',
    memory: '512',
    runtimePlatform: { operatingSystemFamily: 'LINUX', cpuArchitecture: 'X86_64' },
    executionRoleArn: roleArn,
    containerDefinitions: [
      {
        name: 'app',
        image,
        essential: true,
        portMappings: [{ containerPort: 8080, hostPort: 8080, protocol: 'tcp' }],
        environment: [
          { name: 'APP_VERSION', value: appVersion },
          { name: 'PORT', value: '8080' },
        ],
        logConfiguration: { logDriver: 'awslogs', options: { 'awslogs-group': '/ecs/demo', 'awslogs-region': 'us-east-1', 'awslogs-stream-prefix': 'ecs' } },
        stopTimeout: 30,
      },
    ],
  };
}

function rolledBack(recordedStatus: TaskDefinitionStatus): TestContext {
  const ctx = testContext({ config: { appVersion: '1.0' } });
  ctx.state.record('image', { id: image, origin: 'created' });
  ctx.state.record('executionRole', { id: 'demo-task-execution', arn: roleArn, origin: 'created' });
  ctx.state.record('logGroup', { id: '/ecs/demo', origin: 'created' });
  ctx.state.record('taskDefinition', { id: `${base}/demo:1`, arn: `${base}/demo:1`, origin: 'created', details: { family: 'demo', appVersion: '1.0', image } });
  // The family's latest is the version rolled back from; the recorded one is what the service runs.
  ecs.on(DescribeTaskDefinitionCommand, { taskDefinition: 'demo', include: ['TAGS'] }).resolves({ taskDefinition: revision(2, '2'), tags: ourTags });
  ecs.on(DescribeTaskDefinitionCommand, { taskDefinition: `${base}/demo:1`, include: ['TAGS'] }).resolves({ taskDefinition: revision(1, '1.0', recordedStatus), tags: ourTags });
  ecs.on(RegisterTaskDefinitionCommand).resolves({ taskDefinition: { taskDefinitionArn: `${base}/demo:3` } });
  return ctx;
}

beforeEach(() => ecs.reset());

describe('task definition step after a rollback', () => {
  it('keeps the recorded revision when it still matches, though a later one exists: no registration', async () => {
    const ctx = rolledBack('ACTIVE');
    expect(await taskDefinitionStep.ensure(ctx)).toBe('task definition demo:1 exists');
    expect(ecs.commandCalls(RegisterTaskDefinitionCommand)).toHaveLength(0);
    expect(ctx.state.get('taskDefinition')?.id).toBe(`${base}/demo:1`);
  });

  it('registers anew when the recorded revision was deregistered meanwhile', async () => {
    const ctx = rolledBack('INACTIVE');
    expect(await taskDefinitionStep.ensure(ctx)).toBe('registered task definition demo:3 (settings changed)');
    expect(ctx.state.get('taskDefinition')?.id).toBe(`${base}/demo:3`);
  });

  it('registers anew when the recorded revision does not match what is asked for', async () => {
    const ctx = rolledBack('ACTIVE');
    const asked = { ...ctx, config: { ...ctx.config, appVersion: '3' } };
    expect(await taskDefinitionStep.ensure(asked)).toBe('registered task definition demo:3 (settings changed)');
    expect(ecs.commandCalls(RegisterTaskDefinitionCommand)[0]!.args[0].input.containerDefinitions![0]!.environment).toContainEqual({ name: 'APP_VERSION', value: '3' });
  });
});
