import {
  DeleteTaskDefinitionsCommand,
  DeregisterTaskDefinitionCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  ListTaskDefinitionsCommand,
  RegisterTaskDefinitionCommand,
  type TaskDefinition,
} from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { isMutatingOperation } from '../../../src/aws/clients.js';
import { taskDefinitionStep } from '../../../src/steps/taskDefinition.js';
import { awsError, testContext, type TestContext } from '../../helpers/context.js';
import { planContext, planThenEnsure, writesOf } from '../core/planAgreement.js';

const ecs = mockClient(ECSClient);
const base = 'arn:aws:ecs:us-east-1:123456789012:task-definition';
const arn1 = `${base}/demo:1`;
const arn2 = `${base}/demo:2`;
const image = '123456789012.dkr.ecr.us-east-1.amazonaws.com/demo:abc123';
const roleArn = 'arn:aws:iam::123456789012:role/demo-task-execution';
const ourTags = [{ key: 'ecs-ha:stack', value: 'demo' }];
const notFound = () => awsError('ClientException', 'Unable to describe task definition.');

/** What ECS answers for a revision ecs-ha registered: our fields plus the defaults ECS fills in. */
function described(overrides: Partial<TaskDefinition> = {}): TaskDefinition {
  return {
    taskDefinitionArn: arn1,
    family: 'demo',
    revision: 1,
    status: 'ACTIVE',
    networkMode: 'awsvpc',
    requiresCompatibilities: ['FARGATE'],
    compatibilities: ['EC2', 'FARGATE'],
    cpu: '256',
    memory: '512',
    runtimePlatform: { operatingSystemFamily: 'LINUX', cpuArchitecture: 'X86_64' },
    executionRoleArn: roleArn,
    containerDefinitions: [
      {
        name: 'app',
        image,
        cpu: 0,
        essential: true,
        portMappings: [{ containerPort: 8080, hostPort: 8080, protocol: 'tcp' }],
        environment: [
          { name: 'PORT', value: '8080' },
          { name: 'APP_VERSION', value: '1.0' },
        ],
        mountPoints: [],
        volumesFrom: [],
        logConfiguration: {
          logDriver: 'awslogs',
          options: { 'awslogs-stream-prefix': 'ecs', 'awslogs-region': 'us-east-1', 'awslogs-group': '/ecs/demo' },
        },
        stopTimeout: 30,
      },
    ],
    ...overrides,
  };
}

function mutatingCalls(): string[] {
  return ecs
    .calls()
    .map((call) => (call.args[0] as object).constructor.name.replace(/Command$/, ''))
    .filter(isMutatingOperation);
}

function withDependencies(config: Parameters<typeof testContext>[0] = {}): TestContext {
  const ctx = testContext(config);
  ctx.state.record('image', { id: image, origin: 'created', details: { tag: 'abc123', pushed: true } });
  ctx.state.record('executionRole', { id: 'demo-task-execution', arn: roleArn, origin: 'created' });
  ctx.state.record('logGroup', { id: '/ecs/demo', arn: 'arn:logs', origin: 'created' });
  return ctx;
}

beforeEach(() => ecs.reset());

describe('task definition step', () => {
  it('registers a tagged Fargate task definition when the family has none and records it at once', async () => {
    const ctx = withDependencies();
    ecs.on(DescribeTaskDefinitionCommand).rejects(notFound());
    ecs.on(RegisterTaskDefinitionCommand).resolves({ taskDefinition: { taskDefinitionArn: arn1 } });

    expect(await taskDefinitionStep.ensure(ctx)).toBe('registered task definition demo:1');

    expect(ecs.commandCalls(DescribeTaskDefinitionCommand)[0]!.args[0].input).toEqual({ taskDefinition: 'demo', include: ['TAGS'] });
    expect(ecs.commandCalls(RegisterTaskDefinitionCommand)[0]!.args[0].input).toEqual({
      family: 'demo',
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
          portMappings: [{ containerPort: 8080, protocol: 'tcp' }],
          environment: [
            { name: 'APP_VERSION', value: '1.0' },
            { name: 'PORT', value: '8080' },
          ],
          logConfiguration: {
            logDriver: 'awslogs',
            options: { 'awslogs-group': '/ecs/demo', 'awslogs-region': 'us-east-1', 'awslogs-stream-prefix': 'ecs' },
          },
          stopTimeout: 30,
        },
      ],
      tags: ourTags,
    });
    expect(ctx.state.get('taskDefinition')).toEqual({ id: arn1, arn: arn1, origin: 'created', details: { family: 'demo' } });
  });

  it('asks for ARM64 when the stack is built for arm64', async () => {
    const ctx = withDependencies({ config: { arch: 'arm64', cpu: 512, memory: 1024 } });
    ecs.on(DescribeTaskDefinitionCommand).rejects(notFound());
    ecs.on(RegisterTaskDefinitionCommand).resolves({ taskDefinition: { taskDefinitionArn: arn1 } });

    await taskDefinitionStep.ensure(ctx);

    const input = ecs.commandCalls(RegisterTaskDefinitionCommand)[0]!.args[0].input;
    expect(input.runtimePlatform).toEqual({ operatingSystemFamily: 'LINUX', cpuArchitecture: 'ARM64' });
    expect([input.cpu, input.memory]).toEqual(['512', '1024']);
  });

  it('reuses an identical recorded revision with a single read call, despite the defaults ECS adds', async () => {
    const ctx = withDependencies();
    ctx.state.record('taskDefinition', { id: arn1, arn: arn1, origin: 'created', details: { family: 'demo' } });
    ecs.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: described(), tags: ourTags });

    expect(await taskDefinitionStep.ensure(ctx)).toBe('task definition demo:1 exists');

    expect(ecs.calls()).toHaveLength(1);
    expect(mutatingCalls()).toEqual([]);
  });

  it('registers a new revision when a setting changed (a new image)', async () => {
    const ctx = withDependencies();
    ctx.state.record('taskDefinition', { id: arn1, arn: arn1, origin: 'created', details: { family: 'demo' } });
    ctx.state.record('image', { id: `${image}-new`, origin: 'created' });
    ecs.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: described(), tags: ourTags });
    ecs.on(RegisterTaskDefinitionCommand).resolves({ taskDefinition: { taskDefinitionArn: arn2 } });

    expect(await taskDefinitionStep.ensure(ctx)).toContain('settings changed');

    expect(ecs.commandCalls(RegisterTaskDefinitionCommand)[0]!.args[0].input.containerDefinitions![0]!.image).toBe(`${image}-new`);
    expect(ctx.state.get('taskDefinition')?.id).toBe(arn2);
  });

  it('adopts an identical untagged revision and never deregisters it', async () => {
    const ctx = withDependencies();
    ecs.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: described(), tags: [] });

    expect(await taskDefinitionStep.ensure(ctx)).toContain('adopted');
    expect(ctx.state.get('taskDefinition')?.origin).toBe('adopted');
    expect(ecs.commandCalls(RegisterTaskDefinitionCommand)).toHaveLength(0);

    expect(await taskDefinitionStep.destroy(ctx)).toContain('kept');
    expect(mutatingCalls()).toEqual([]);
    expect(ctx.state.get('taskDefinition')).toBeUndefined();
  });

  it('treats a tagged revision missing from the state as its own', async () => {
    const ctx = withDependencies();
    ecs.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: described(), tags: ourTags });

    expect(await taskDefinitionStep.ensure(ctx)).toBe('task definition demo:1 found');

    expect(ctx.state.get('taskDefinition')).toEqual({ id: arn1, arn: arn1, origin: 'created', details: { family: 'demo' } });
    expect(mutatingCalls()).toEqual([]);
  });

  it('registers again when the recorded revision was deregistered behind its back', async () => {
    const ctx = withDependencies();
    ctx.state.record('taskDefinition', { id: arn1, arn: arn1, origin: 'created', details: { family: 'demo' } });
    // The emulator answers a bare family with its latest revision even when INACTIVE.
    ecs.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: described({ status: 'INACTIVE' }), tags: ourTags });
    ecs.on(RegisterTaskDefinitionCommand).resolves({ taskDefinition: { taskDefinitionArn: arn2 } });

    await taskDefinitionStep.ensure(ctx);

    expect(ecs.commandCalls(RegisterTaskDefinitionCommand)).toHaveLength(1);
    expect(ctx.state.get('taskDefinition')?.id).toBe(arn2);
  });

  it('retries registration while the new execution role is not usable yet', async () => {
    const ctx = withDependencies();
    ecs.on(DescribeTaskDefinitionCommand).rejects(notFound());
    ecs.on(RegisterTaskDefinitionCommand)
      .rejectsOnce(awsError('ClientException', 'Role is not valid'))
      .rejectsOnce(awsError('ClientException', `ECS was unable to assume the role '${roleArn}'; not authorized to perform sts:AssumeRole`))
      .resolves({ taskDefinition: { taskDefinitionArn: arn1 } });

    await taskDefinitionStep.ensure(ctx);

    expect(ecs.commandCalls(RegisterTaskDefinitionCommand)).toHaveLength(3);
    expect(ctx.clock.slept).toEqual([2_000, 4_000]);
    expect(ctx.progressLines.join('\n')).toContain('Role is not valid');
    expect(ctx.state.get('taskDefinition')?.id).toBe(arn1);
  });

  it('does not retry a ClientException about something else', async () => {
    const ctx = withDependencies();
    ecs.on(DescribeTaskDefinitionCommand).rejects(notFound());
    ecs.on(RegisterTaskDefinitionCommand).rejects(awsError('ClientException', 'Invalid setting for container app'));

    await expect(taskDefinitionStep.ensure(ctx)).rejects.toThrow('Invalid setting');
    expect(ecs.commandCalls(RegisterTaskDefinitionCommand)).toHaveLength(1);
    expect(ctx.state.get('taskDefinition')).toBeUndefined();
  });

  it('deregisters and deletes only the tagged revisions of exactly its family', async () => {
    const ctx = withDependencies();
    ctx.state.record('taskDefinition', { id: arn2, arn: arn2, origin: 'created', details: { family: 'demo' } });
    const foreign = `${base}/demo:3`;
    const otherFamily = `${base}/demo-worker:1`;
    const oldInactive = `${base}/demo:0`;
    ecs.on(ListTaskDefinitionsCommand, { status: 'ACTIVE' })
      .resolvesOnce({ taskDefinitionArns: [arn1, otherFamily], nextToken: 'n2' })
      .resolves({ taskDefinitionArns: [arn2, foreign] });
    ecs.on(ListTaskDefinitionsCommand, { status: 'INACTIVE' }).resolves({ taskDefinitionArns: [oldInactive, arn1, arn2] });
    ecs.on(DescribeTaskDefinitionCommand, { taskDefinition: arn1 }).resolves({ taskDefinition: described(), tags: ourTags });
    ecs.on(DescribeTaskDefinitionCommand, { taskDefinition: arn2 }).resolves({ taskDefinition: described(), tags: ourTags });
    ecs.on(DescribeTaskDefinitionCommand, { taskDefinition: foreign }).resolves({ taskDefinition: described(), tags: [] });
    ecs.on(DescribeTaskDefinitionCommand, { taskDefinition: oldInactive }).resolves({ taskDefinition: described(), tags: ourTags });
    ecs.on(DeregisterTaskDefinitionCommand).resolves({});
    ecs.on(DeleteTaskDefinitionsCommand).callsFake((input: { taskDefinitions: string[] }) => ({
      taskDefinitions: input.taskDefinitions.map((taskDefinitionArn) => ({ taskDefinitionArn })),
      failures: [],
    }));

    expect(await taskDefinitionStep.destroy(ctx)).toBe('deregistered 2 and deleted 3 revision(s) of task definition demo');

    expect(ecs.commandCalls(ListTaskDefinitionsCommand)[0]!.args[0].input).toEqual({ familyPrefix: 'demo', status: 'ACTIVE' });
    expect(ecs.commandCalls(ListTaskDefinitionsCommand)[1]!.args[0].input.nextToken).toBe('n2');
    expect(ecs.commandCalls(DeregisterTaskDefinitionCommand).map((c) => c.args[0].input.taskDefinition)).toEqual([arn1, arn2]);
    expect(ecs.commandCalls(DeleteTaskDefinitionsCommand).map((c) => c.args[0].input.taskDefinitions)).toEqual([[arn1, arn2, oldInactive]]);
    expect(ctx.state.get('taskDefinition')).toBeUndefined();
  });

  it('deletes in batches of ten', async () => {
    const ctx = withDependencies();
    ctx.state.record('taskDefinition', { id: arn1, arn: arn1, origin: 'created' });
    const arns = Array.from({ length: 12 }, (_, i) => `${base}/demo:${i + 1}`);
    ecs.on(ListTaskDefinitionsCommand, { status: 'ACTIVE' }).resolves({ taskDefinitionArns: arns });
    ecs.on(ListTaskDefinitionsCommand, { status: 'INACTIVE' }).resolves({ taskDefinitionArns: [] });
    ecs.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: described(), tags: ourTags });
    ecs.on(DeregisterTaskDefinitionCommand).resolves({});
    ecs.on(DeleteTaskDefinitionsCommand).resolves({ taskDefinitions: [], failures: [] });

    await taskDefinitionStep.destroy(ctx);

    expect(ecs.commandCalls(DeleteTaskDefinitionsCommand).map((c) => c.args[0].input.taskDefinitions!.length)).toEqual([10, 2]);
  });

  it('counts revisions already gone as removed', async () => {
    const ctx = withDependencies();
    ctx.state.record('taskDefinition', { id: arn1, arn: arn1, origin: 'created' });
    ecs.on(ListTaskDefinitionsCommand, { status: 'ACTIVE' }).resolves({ taskDefinitionArns: [arn1] });
    ecs.on(ListTaskDefinitionsCommand, { status: 'INACTIVE' }).resolves({ taskDefinitionArns: [] });
    ecs.on(DescribeTaskDefinitionCommand).rejects(notFound());

    await taskDefinitionStep.destroy(ctx);

    expect(mutatingCalls()).toEqual([]);
    expect(ctx.state.get('taskDefinition')).toBeUndefined();
  });

  it('leaves revisions INACTIVE when the endpoint lacks DeleteTaskDefinitions', async () => {
    const ctx = withDependencies();
    ctx.state.record('taskDefinition', { id: arn1, arn: arn1, origin: 'created' });
    ecs.on(ListTaskDefinitionsCommand, { status: 'ACTIVE' }).resolves({ taskDefinitionArns: [arn1] });
    ecs.on(ListTaskDefinitionsCommand, { status: 'INACTIVE' }).resolves({ taskDefinitionArns: [] });
    ecs.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: described(), tags: ourTags });
    ecs.on(DeregisterTaskDefinitionCommand).resolves({});
    ecs.on(DeleteTaskDefinitionsCommand).rejects(awsError('UnknownOperationException', 'Unknown operation'));

    expect(await taskDefinitionStep.destroy(ctx)).toContain('deregistered 1 and deleted 0');
    expect(ctx.notices.join('\n')).toContain('INACTIVE');
    expect(ctx.state.get('taskDefinition')).toBeUndefined();
  });

  it('stops on a permanent error and keeps the record', async () => {
    const ctx = withDependencies();
    ctx.state.record('taskDefinition', { id: arn1, arn: arn1, origin: 'created' });
    ecs.on(ListTaskDefinitionsCommand).resolves({ taskDefinitionArns: [arn1] });
    ecs.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: described(), tags: ourTags });
    ecs.on(DeregisterTaskDefinitionCommand).rejects(awsError('AccessDeniedException'));

    await expect(taskDefinitionStep.destroy(ctx)).rejects.toThrow('AccessDeniedException');
    expect(ctx.state.get('taskDefinition')).toBeDefined();
  });

  it('discovers only a latest revision carrying the stack tag', async () => {
    const tagged = testContext();
    ecs.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: described(), tags: ourTags });
    await taskDefinitionStep.discover(tagged);
    expect(tagged.state.get('taskDefinition')).toEqual({ id: arn1, arn: arn1, origin: 'created', details: { family: 'demo' } });

    ecs.reset();
    const untagged = testContext();
    ecs.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: described(), tags: [{ key: 'ecs-ha:stack', value: 'other' }] });
    await taskDefinitionStep.discover(untagged);
    expect(untagged.state.get('taskDefinition')).toBeUndefined();

    ecs.reset();
    const none = testContext();
    ecs.on(DescribeTaskDefinitionCommand).rejects(notFound());
    await taskDefinitionStep.discover(none);
    expect(none.state.get('taskDefinition')).toBeUndefined();
  });
});

describe('task definition plan', () => {
  const writes = writesOf(ecs);

  it('create: the family has no revision', async () => {
    const ctx = withDependencies();
    ecs.on(DescribeTaskDefinitionCommand).rejects(notFound());
    ecs.on(RegisterTaskDefinitionCommand).resolves({ taskDefinition: { taskDefinitionArn: arn1 } });

    expect(await planThenEnsure(taskDefinitionStep, ctx, writes)).toEqual({
      action: 'create',
      resource: 'task definition demo',
      detail: 'register a revision: Fargate, 256 CPU units, 512 MiB, X86_64',
    });
  });

  it('keep: the latest revision is as wanted (ECS defaults do not count)', async () => {
    const ctx = withDependencies();
    ctx.state.record('taskDefinition', { id: arn1, arn: arn1, origin: 'created', details: { family: 'demo' } });
    ecs.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: described(), tags: ourTags });

    expect(await planThenEnsure(taskDefinitionStep, ctx, writes)).toEqual({ action: 'keep', resource: 'task definition demo:1' });
  });

  it('update: a new revision, with what differs', async () => {
    const ctx = withDependencies({ config: { cpu: 512, memory: 1024, appVersion: '2.0' } });
    ctx.state.record('taskDefinition', { id: arn1, arn: arn1, origin: 'created', details: { family: 'demo' } });
    ecs.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: described(), tags: ourTags });
    ecs.on(RegisterTaskDefinitionCommand).resolves({ taskDefinition: { taskDefinitionArn: arn2 } });

    expect(await planThenEnsure(taskDefinitionStep, ctx, writes)).toEqual({
      action: 'update',
      resource: 'task definition demo:1',
      detail: 'register a new revision: cpu "256" → "512"; memory "512" → "1024"; environment ["APP_VERSION=1.0","PORT=8080"] → ["APP_VERSION=2.0","PORT=8080"]',
    });
  });

  it('update: a new image up would build (its URI known) or an image whose URI is known only once its repository exists', async () => {
    const ctx = withDependencies();
    ecs.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: described(), tags: ourTags });
    const planCtx = planContext(ctx);
    planCtx.state.foreseeNew('image', 'container image');

    expect(await taskDefinitionStep.plan!(planCtx)).toMatchObject({ action: 'update', detail: `register a new revision: image "${image}" → "(new container image)"` });
    expect(planCtx.state.isNew('taskDefinition')).toBe(true);
  });

  it('keep: after a rollback the recorded, older revision is as wanted', async () => {
    const ctx = withDependencies();
    ctx.state.record('taskDefinition', { id: arn1, arn: arn1, origin: 'created', details: { family: 'demo' } });
    ecs.on(DescribeTaskDefinitionCommand, { taskDefinition: 'demo', include: ['TAGS'] }).resolves({ taskDefinition: described({ taskDefinitionArn: arn2, cpu: '512' }), tags: ourTags });
    ecs.on(DescribeTaskDefinitionCommand, { taskDefinition: arn1, include: ['TAGS'] }).resolves({ taskDefinition: described(), tags: ourTags });

    expect(await planThenEnsure(taskDefinitionStep, ctx, writes)).toMatchObject({ action: 'keep', resource: 'task definition demo:1', detail: expect.stringContaining('after a rollback') });
  });

  it('adopt: a matching revision not registered by ecs-ha', async () => {
    const ctx = withDependencies();
    ecs.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: described(), tags: [] });

    expect((await planThenEnsure(taskDefinitionStep, ctx, writes)).action).toBe('adopt');
  });
});
