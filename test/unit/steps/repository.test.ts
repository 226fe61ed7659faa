import {
  CreateRepositoryCommand,
  DeleteRepositoryCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  ListTagsForResourceCommand,
} from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { repositoryStep } from '../../../src/steps/repository.js';
import { awsError, testContext } from '../../helpers/context.js';
import { planThenEnsure, writesOf } from '../core/planAgreement.js';

const ecr = mockClient(ECRClient);
const arn = 'arn:aws:ecr:us-east-1:123456789012:repository/demo';
const uri = '123456789012.dkr.ecr.us-east-1.amazonaws.com/demo';
const repository = { repositoryName: 'demo', repositoryArn: arn, repositoryUri: uri };
const record = { id: 'demo', arn, origin: 'created' as const, details: { uri } };
const stackTag = { Key: 'ecs-ha:stack', Value: 'demo' };

beforeEach(() => ecr.reset());

describe('repository step', () => {
  it('creates a tagged, scanned repository when none exists and records it at once', async () => {
    const ctx = testContext();
    ecr.on(DescribeRepositoriesCommand).rejects(awsError('RepositoryNotFoundException'));
    ecr.on(CreateRepositoryCommand).resolves({ repository });

    expect(await repositoryStep.ensure(ctx)).toBe('created repository demo');

    expect(ecr.commandCalls(DescribeRepositoriesCommand)[0]!.args[0].input).toEqual({ repositoryNames: ['demo'] });
    expect(ecr.commandCalls(CreateRepositoryCommand)[0]!.args[0].input).toEqual({
      repositoryName: 'demo',
      tags: [stackTag],
      imageScanningConfiguration: { scanOnPush: true },
      imageTagMutability: 'MUTABLE',
    });
    expect(ctx.state.get('repository')).toEqual(record);
  });

  it('makes no call but the lookup when the recorded repository exists', async () => {
    const ctx = testContext();
    ctx.state.record('repository', { id: 'demo', arn, origin: 'created', details: { uri } });
    ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [repository] });

    expect(await repositoryStep.ensure(ctx)).toBe('repository demo exists');

    expect(ecr.calls()).toHaveLength(1);
    expect(ctx.state.get('repository')).toEqual(record);
  });

  it('adopts an untagged repository of the same name and never deletes it', async () => {
    const ctx = testContext();
    ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [repository] });
    ecr.on(ListTagsForResourceCommand).resolves({ tags: [{ Key: 'team', Value: 'web' }] });

    expect(await repositoryStep.ensure(ctx)).toContain('adopted');
    expect(ecr.commandCalls(ListTagsForResourceCommand)[0]!.args[0].input).toEqual({ resourceArn: arn });
    expect(ecr.commandCalls(CreateRepositoryCommand)).toHaveLength(0);
    expect(ctx.state.get('repository')).toEqual({ ...record, origin: 'adopted' });

    expect(await repositoryStep.destroy(ctx)).toContain('kept');
    expect(ecr.commandCalls(DeleteRepositoryCommand)).toHaveLength(0);
    expect(ctx.state.get('repository')).toBeUndefined();
  });

  it('treats a tagged repository missing from the state as its own (a run died before recording it)', async () => {
    const ctx = testContext();
    ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [repository] });
    ecr.on(ListTagsForResourceCommand).resolves({ tags: [stackTag] });

    await repositoryStep.ensure(ctx);

    expect(ctx.state.get('repository')).toEqual(record);
    expect(ecr.commandCalls(CreateRepositoryCommand)).toHaveLength(0);
  });

  it('recreates a repository deleted behind its back', async () => {
    const ctx = testContext();
    ctx.state.record('repository', { id: 'demo', arn, origin: 'created', details: { uri } });
    ecr.on(DescribeRepositoriesCommand).rejects(awsError('RepositoryNotFoundException'));
    ecr.on(CreateRepositoryCommand).resolves({ repository });

    expect(await repositoryStep.ensure(ctx)).toContain('created');

    expect(ecr.commandCalls(CreateRepositoryCommand)).toHaveLength(1);
    expect(ctx.state.get('repository')).toEqual(record);
  });

  it('deletes its own repository together with its images, then forgets it', async () => {
    const ctx = testContext();
    ctx.state.record('repository', { id: 'demo', arn, origin: 'created', details: { uri } });
    ecr.on(DeleteRepositoryCommand).resolves({});

    await repositoryStep.destroy(ctx);

    expect(ecr.commandCalls(DeleteRepositoryCommand)[0]!.args[0].input).toEqual({ repositoryName: 'demo', force: true });
    expect(ctx.state.get('repository')).toBeUndefined();
  });

  it('counts a repository already gone as removed', async () => {
    const ctx = testContext();
    ctx.state.record('repository', { id: 'demo', arn, origin: 'created', details: { uri } });
    ecr.on(DeleteRepositoryCommand).rejects(awsError('RepositoryNotFoundException'));

    expect(await repositoryStep.destroy(ctx)).toBe('repository demo was already gone');

    expect(ctx.state.get('repository')).toBeUndefined();
  });

  it('stops on a permanent error and keeps the record', async () => {
    const ctx = testContext();
    ctx.state.record('repository', { id: 'demo', arn, origin: 'created', details: { uri } });
    ecr.on(DeleteRepositoryCommand).rejects(awsError('AccessDeniedException'));

    await expect(repositoryStep.destroy(ctx)).rejects.toThrow('AccessDeniedException');
    expect(ctx.state.get('repository')).toBeDefined();
  });

  it('stops on an unexpected lookup error instead of creating a duplicate', async () => {
    const ctx = testContext();
    ecr.on(DescribeRepositoriesCommand).rejects(awsError('AccessDeniedException'));

    await expect(repositoryStep.ensure(ctx)).rejects.toThrow('AccessDeniedException');
    expect(ecr.commandCalls(CreateRepositoryCommand)).toHaveLength(0);
  });

  it('discovers only a repository carrying the stack tag', async () => {
    const tagged = testContext();
    ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [repository] });
    ecr.on(ListTagsForResourceCommand).resolves({ tags: [stackTag] });
    await repositoryStep.discover(tagged);
    expect(tagged.state.get('repository')).toEqual(record);

    ecr.reset();
    const untagged = testContext();
    ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [repository] });
    ecr.on(ListTagsForResourceCommand).resolves({ tags: [{ Key: 'ecs-ha:stack', Value: 'other' }] });
    await repositoryStep.discover(untagged);
    expect(untagged.state.get('repository')).toBeUndefined();

    ecr.reset();
    const missing = testContext();
    ecr.on(DescribeRepositoriesCommand).rejects(awsError('RepositoryNotFoundException'));
    await repositoryStep.discover(missing);
    expect(missing.state.get('repository')).toBeUndefined();
  });
});

describe('repository plan', () => {
  const writes = writesOf(ecr);

  it('none: a prebuilt image needs no repository, and no call is made', async () => {
    const ctx = testContext({ config: { image: 'public.ecr.aws/x/app:1' } });

    expect(await planThenEnsure(repositoryStep, ctx, writes)).toEqual({ action: 'none', resource: 'ECR repository demo', detail: 'not needed (--image given)' });
    expect(ecr.calls()).toHaveLength(0);
  });

  it('create: no repository of the name', async () => {
    const ctx = testContext();
    ecr.on(DescribeRepositoriesCommand).rejects(awsError('RepositoryNotFoundException'));
    ecr.on(CreateRepositoryCommand).resolves({ repository });

    expect((await planThenEnsure(repositoryStep, ctx, writes)).action).toBe('create');
  });

  it('keep: the recorded repository exists', async () => {
    const ctx = testContext();
    ctx.state.record('repository', record);
    ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [repository] });

    expect(await planThenEnsure(repositoryStep, ctx, writes)).toEqual({ action: 'keep', resource: 'ECR repository demo' });
  });

  it('adopt: an untagged repository of the name', async () => {
    const ctx = testContext();
    ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [repository] });
    ecr.on(ListTagsForResourceCommand).resolves({ tags: [{ Key: 'team', Value: 'web' }] });

    expect((await planThenEnsure(repositoryStep, ctx, writes)).action).toBe('adopt');
  });
});
