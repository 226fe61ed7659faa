import {
  CreateRepositoryCommand,
  DeleteRepositoryCommand,
  DescribeRepositoriesCommand,
  ListTagsForResourceCommand,
  type Repository,
} from '@aws-sdk/client-ecr';
import { isAwsError } from '../aws/errors.js';
import { arnProblem, GONE, judge, nameProblem, recordProblem, tagProblem } from '../engine/ownership.js';
import { existingResource, type ReadContext } from '../engine/plan.js';
import type { Step } from '../engine/step.js';
import { hasStackTag, stackTag } from '../engine/tags.js';
import type { Origin, ResourceRecord } from '../state/store.js';

async function findRepository(ctx: ReadContext): Promise<Repository | undefined> {
  try {
    const { repositories = [] } = await ctx.aws.ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [ctx.names.repository] }));
    return repositories.find((r) => r.repositoryName === ctx.names.repository);
  } catch (error) {
    if (isAwsError(error, 'RepositoryNotFoundException')) return undefined;
    throw error;
  }
}

/** DescribeRepositories does not return tags; this costs one more read, made only when the state does not know. */
async function carriesStackTag(ctx: ReadContext, repository: Repository): Promise<boolean> {
  const { tags } = await ctx.aws.ecr.send(new ListTagsForResourceCommand({ resourceArn: repository.repositoryArn! }));
  return hasStackTag(tags, ctx.config.stack);
}

function recordFor(repository: Repository, origin: Origin): ResourceRecord {
  return { id: repository.repositoryName!, arn: repository.repositoryArn!, origin, details: { uri: repository.repositoryUri! } };
}

function sameRecord(a: ResourceRecord, b: ResourceRecord): boolean {
  return a.id === b.id && a.arn === b.arn && a.origin === b.origin && a.details?.uri === b.details?.uri;
}

export const repositoryStep: Step = {
  id: 'repository',
  title: 'ECR repository',
  dependsOn: [],

  async ensure(ctx) {
    const name = ctx.names.repository;
    const recorded = ctx.state.get('repository');
    // A prebuilt image needs no repository of ours; one an earlier run made stays recorded for `down`.
    if (ctx.config.image && !recorded) return 'no repository needed (--image given)';
    const existing = await findRepository(ctx);
    if (existing) {
      const origin = recorded?.origin ?? ((await carriesStackTag(ctx, existing)) ? 'created' : 'adopted');
      const record = recordFor(existing, origin);
      if (!recorded || !sameRecord(recorded, record)) ctx.state.record('repository', record);
      if (recorded) return `repository ${name} exists`;
      return origin === 'adopted' ? `adopted repository ${name} (not created by ecs-ha, will be kept)` : `found repository ${name}`;
    }
    const { repository } = await ctx.aws.ecr.send(
      new CreateRepositoryCommand({
        repositoryName: name,
        tags: [stackTag(ctx.config.stack)],
        imageScanningConfiguration: { scanOnPush: true },
        imageTagMutability: 'MUTABLE',
      }),
    );
    ctx.state.record('repository', recordFor(repository!, 'created'));
    return `created repository ${name}`;
  },

  async plan(ctx) {
    const name = ctx.names.repository;
    const resource = `ECR repository ${name}`;
    const recorded = ctx.state.get('repository');
    if (ctx.config.image && !recorded) return { action: 'none', resource, detail: 'not needed (--image given)' };
    const existing = await findRepository(ctx);
    if (existing) {
      const origin = recorded?.origin ?? ((await carriesStackTag(ctx, existing)) ? 'created' : 'adopted');
      ctx.state.foresee('repository', recordFor(existing, origin));
      return existingResource(resource, recorded !== undefined, origin);
    }
    ctx.state.foreseeNew('repository', 'ECR repository');
    return { action: 'create', resource, detail: 'tagged, scan on push' };
  },

  async proveOwnership(ctx, record) {
    const early = judge(nameProblem(record.id, ctx.names.repository), recordProblem(record, ctx.state));
    if (early.kind !== 'ours') return early;
    const existing = await findRepository(ctx);
    if (!existing) return GONE;
    return judge(arnProblem(existing.repositoryArn, ctx.state), tagProblem(await carriesStackTag(ctx, existing), ctx.config.stack));
  },

  async destroy(ctx) {
    const recorded = ctx.state.get('repository');
    if (!recorded) return 'no repository recorded';
    if (recorded.origin === 'adopted') {
      ctx.state.forget('repository');
      return `kept repository ${recorded.id} (adopted)`;
    }
    let summary = `deleted repository ${recorded.id} and its images`;
    try {
      // force: the images pushed by `up` go with the repository.
      await ctx.aws.ecr.send(new DeleteRepositoryCommand({ repositoryName: recorded.id, force: true }));
    } catch (error) {
      if (!isAwsError(error, 'RepositoryNotFoundException')) throw error;
      summary = `repository ${recorded.id} was already gone`;
    }
    ctx.state.forget('repository');
    return summary;
  },

  async discover(ctx) {
    const existing = await findRepository(ctx);
    if (existing && (await carriesStackTag(ctx, existing))) {
      ctx.state.record('repository', recordFor(existing, 'created'));
    }
  },
};
