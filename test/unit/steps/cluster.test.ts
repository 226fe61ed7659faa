import { CreateClusterCommand, DeleteClusterCommand, DescribeClustersCommand, ECSClient } from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { EnvironmentError, ExitCode } from '../../../src/errors.js';
import { clusterStep } from '../../../src/steps/cluster.js';
import { awsError, testContext } from '../../helpers/context.js';
import { planThenEnsure, writesOf } from '../core/planAgreement.js';

const ecs = mockClient(ECSClient);
const arn = 'arn:aws:ecs:us-east-1:123456789012:cluster/demo';

beforeEach(() => ecs.reset());

describe('cluster step', () => {
  it('creates a tagged cluster when none exists and records it at once', async () => {
    const ctx = testContext();
    ecs.on(DescribeClustersCommand).resolves({ clusters: [], failures: [{ reason: 'MISSING' }] });
    ecs.on(CreateClusterCommand).resolves({ cluster: { clusterArn: arn } });

    expect(await clusterStep.ensure(ctx)).toContain('created');

    const create = ecs.commandCalls(CreateClusterCommand)[0]!.args[0].input;
    expect(create.clusterName).toBe('demo');
    expect(create.tags).toContainEqual({ key: 'ecs-ha:stack', value: 'demo' });
    expect(ctx.state.get('cluster')).toEqual({ id: 'demo', arn, origin: 'created' });
  });

  it('makes no call but the lookup when the recorded cluster exists', async () => {
    const ctx = testContext();
    ctx.state.record('cluster', { id: 'demo', arn, origin: 'created' });
    ecs.on(DescribeClustersCommand).resolves({ clusters: [{ clusterArn: arn, status: 'ACTIVE' }] });

    await clusterStep.ensure(ctx);

    expect(ecs.commandCalls(CreateClusterCommand)).toHaveLength(0);
  });

  it('adopts an untagged cluster of the same name and never deletes it', async () => {
    const ctx = testContext();
    ecs.on(DescribeClustersCommand).resolves({ clusters: [{ clusterArn: arn, status: 'ACTIVE', tags: [] }] });

    expect(await clusterStep.ensure(ctx)).toContain('adopted');
    expect(ctx.state.get('cluster')?.origin).toBe('adopted');

    await clusterStep.destroy(ctx);
    expect(ecs.commandCalls(DeleteClusterCommand)).toHaveLength(0);
    expect(ctx.state.get('cluster')).toBeUndefined();
  });

  it('treats a tagged cluster missing from the state as its own (a run died before recording it)', async () => {
    const ctx = testContext();
    ecs.on(DescribeClustersCommand).resolves({ clusters: [{ clusterArn: arn, status: 'ACTIVE', tags: [{ key: 'ecs-ha:stack', value: 'demo' }] }] });

    await clusterStep.ensure(ctx);

    expect(ctx.state.get('cluster')?.origin).toBe('created');
  });

  it('recreates a cluster deleted behind its back', async () => {
    const ctx = testContext();
    ctx.state.record('cluster', { id: 'demo', arn, origin: 'created' });
    ecs.on(DescribeClustersCommand).resolves({ clusters: [{ clusterArn: arn, status: 'INACTIVE' }] });
    ecs.on(CreateClusterCommand).resolves({ cluster: { clusterArn: arn } });

    await clusterStep.ensure(ctx);

    expect(ecs.commandCalls(CreateClusterCommand)).toHaveLength(1);
  });

  it('retries deletion while the cluster still holds tasks, then forgets it', async () => {
    const ctx = testContext();
    ctx.state.record('cluster', { id: 'demo', arn, origin: 'created' });
    ecs
      .on(DeleteClusterCommand)
      .rejectsOnce(awsError('ClusterContainsTasksException'))
      .rejectsOnce(awsError('ClusterContainsTasksException'))
      .resolves({});

    await clusterStep.destroy(ctx);

    expect(ecs.commandCalls(DeleteClusterCommand)).toHaveLength(3);
    expect(ctx.clock.slept.length).toBe(2);
    expect(ctx.progressLines.join('\n')).toContain('ClusterContainsTasksException');
    expect(ctx.state.get('cluster')).toBeUndefined();
  });

  it('counts a cluster already gone as removed', async () => {
    const ctx = testContext();
    ctx.state.record('cluster', { id: 'demo', arn, origin: 'created' });
    ecs.on(DeleteClusterCommand).rejects(awsError('ClusterNotFoundException'));

    await clusterStep.destroy(ctx);

    expect(ctx.state.get('cluster')).toBeUndefined();
  });

  it('stops on a permanent error and keeps the record', async () => {
    const ctx = testContext();
    ctx.state.record('cluster', { id: 'demo', arn, origin: 'created' });
    ecs.on(DeleteClusterCommand).rejects(awsError('AccessDeniedException'));

    await expect(clusterStep.destroy(ctx)).rejects.toThrow('AccessDeniedException');
    expect(ctx.state.get('cluster')).toBeDefined();
  });

  it('discovers only a cluster carrying the stack tag', async () => {
    const tagged = testContext();
    ecs.on(DescribeClustersCommand).resolves({ clusters: [{ clusterArn: arn, status: 'ACTIVE', tags: [{ key: 'ecs-ha:stack', value: 'demo' }] }] });
    await clusterStep.discover(tagged);
    expect(tagged.state.get('cluster')?.origin).toBe('created');

    ecs.reset();
    const untagged = testContext();
    ecs.on(DescribeClustersCommand).resolves({ clusters: [{ clusterArn: arn, status: 'ACTIVE', tags: [{ key: 'ecs-ha:stack', value: 'other' }] }] });
    await clusterStep.discover(untagged);
    expect(untagged.state.get('cluster')).toBeUndefined();
  });
});

describe('cluster step: ECS service-linked role not usable yet', () => {
  // AWS's answer on a brand-new account, until AWSServiceRoleForECS exists and ECS can use it.
  const noServiceLinkedRole = () =>
    awsError('InvalidParameterException', 'Unable to assume the service linked role. Please verify that the ECS service linked role exists.');

  it('retries CreateCluster, showing each retry, until ECS can use the role', async () => {
    const ctx = testContext();
    ecs.on(DescribeClustersCommand).resolves({ clusters: [], failures: [{ reason: 'MISSING' }] });
    ecs.on(CreateClusterCommand).rejectsOnce(noServiceLinkedRole()).rejectsOnce(noServiceLinkedRole()).resolves({ cluster: { clusterArn: arn } });

    expect(await clusterStep.ensure(ctx)).toBe('created cluster demo');

    expect(ecs.commandCalls(CreateClusterCommand)).toHaveLength(3);
    expect(ctx.clock.slept).toHaveLength(2);
    expect(ctx.progressLines).toHaveLength(2);
    expect(ctx.progressLines[0]).toContain('Unable to assume the service linked role');
    expect(ctx.state.get('cluster')).toEqual({ id: 'demo', arn, origin: 'created' });
  });

  it('gives up after about two minutes: exit 3 with AWS message and how to create the role', async () => {
    const ctx = testContext();
    ecs.on(DescribeClustersCommand).resolves({ clusters: [], failures: [{ reason: 'MISSING' }] });
    ecs.on(CreateClusterCommand).rejects(noServiceLinkedRole());

    const error = await clusterStep.ensure(ctx).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(EnvironmentError);
    expect((error as EnvironmentError).exitCode).toBe(ExitCode.environment);
    expect((error as EnvironmentError).message).toContain(
      'CreateCluster failed: InvalidParameterException: Unable to assume the service linked role. Please verify that the ECS service linked role exists.',
    );
    expect((error as EnvironmentError).hint).toContain('aws iam create-service-linked-role --aws-service-name ecs.amazonaws.com');
    const waited = ctx.clock.slept.reduce((a, b) => a + b, 0);
    expect(waited).toBeGreaterThanOrEqual(120_000);
    expect(waited).toBeLessThanOrEqual(135_000);
    expect(ecs.commandCalls(CreateClusterCommand).length).toBeGreaterThan(3);
    expect(ctx.state.get('cluster')).toBeUndefined();
  });

  it('does not retry other invalid parameters', async () => {
    const ctx = testContext();
    ecs.on(DescribeClustersCommand).resolves({ clusters: [], failures: [{ reason: 'MISSING' }] });
    ecs.on(CreateClusterCommand).rejects(awsError('InvalidParameterException', 'Tag keys must be unique.'));

    await expect(clusterStep.ensure(ctx)).rejects.toThrow('Tag keys must be unique.');
    expect(ecs.commandCalls(CreateClusterCommand)).toHaveLength(1);
  });

  it('waits for the service-linked role step', () => {
    expect(clusterStep.dependsOn).toContain('serviceLinkedRole');
  });
});

describe('cluster plan', () => {
  const writes = writesOf(ecs);

  it('create: no cluster of the name (a later step sees it new)', async () => {
    const ctx = testContext();
    ecs.on(DescribeClustersCommand).resolves({ clusters: [], failures: [{ reason: 'MISSING' }] });
    ecs.on(CreateClusterCommand).resolves({ cluster: { clusterArn: arn } });

    expect(await planThenEnsure(clusterStep, ctx, writes)).toMatchObject({ action: 'create', resource: 'ECS cluster demo' });
  });

  it('create: the recorded cluster was deleted behind its back', async () => {
    const ctx = testContext();
    ctx.state.record('cluster', { id: 'demo', arn, origin: 'created' });
    ecs.on(DescribeClustersCommand).resolves({ clusters: [{ clusterArn: arn, status: 'INACTIVE' }] });
    ecs.on(CreateClusterCommand).resolves({ cluster: { clusterArn: arn } });

    expect((await planThenEnsure(clusterStep, ctx, writes)).action).toBe('create');
  });

  it('keep: the recorded cluster exists', async () => {
    const ctx = testContext();
    ctx.state.record('cluster', { id: 'demo', arn, origin: 'created' });
    ecs.on(DescribeClustersCommand).resolves({ clusters: [{ clusterArn: arn, status: 'ACTIVE' }] });

    expect(await planThenEnsure(clusterStep, ctx, writes)).toEqual({ action: 'keep', resource: 'ECS cluster demo' });
  });

  it('adopt: an untagged cluster of the name', async () => {
    const ctx = testContext();
    ecs.on(DescribeClustersCommand).resolves({ clusters: [{ clusterArn: arn, status: 'ACTIVE', tags: [] }] });

    expect((await planThenEnsure(clusterStep, ctx, writes)).action).toBe('adopt');
  });

  it('keep: a tagged cluster the state lost', async () => {
    const ctx = testContext();
    ecs.on(DescribeClustersCommand).resolves({ clusters: [{ clusterArn: arn, status: 'ACTIVE', tags: [{ key: 'ecs-ha:stack', value: 'demo' }] }] });

    expect(await planThenEnsure(clusterStep, ctx, writes)).toMatchObject({ action: 'keep', detail: expect.stringContaining('not in the state file') });
  });
});
