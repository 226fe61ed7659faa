import { CreateClusterCommand, DeleteClusterCommand, DescribeClustersCommand, type Cluster } from '@aws-sdk/client-ecs';
import { isAwsError } from '../aws/errors.js';
import { retryWhile } from '../aws/poll.js';
import { existingResource, type ReadContext } from '../engine/plan.js';
import { lookedUp, type Step } from '../engine/step.js';
import { arnProblem, GONE, judge, lastSegment, nameProblem, recordProblem, tagProblem } from '../engine/ownership.js';
import { ecsStackTag, hasStackTag } from '../engine/tags.js';
import { retryWhileServiceLinkedRoleSettles, SERVICE_LINKED_ROLE_STEP } from './serviceLinkedRole.js';

async function findCluster(ctx: ReadContext): Promise<Cluster | undefined> {
  const { clusters = [] } = await ctx.aws.ecs.send(new DescribeClustersCommand({ clusters: [ctx.names.cluster], include: ['TAGS'] }));
  return clusters.find((c) => c.status === 'ACTIVE' || c.status === 'PROVISIONING');
}

export const clusterStep: Step = {
  id: 'cluster',
  title: 'ECS cluster',
  // A brand-new account's first CreateCluster fails until ECS's service-linked role exists.
  dependsOn: [SERVICE_LINKED_ROLE_STEP],
  // The lookup needs nothing the role step makes: it runs while that step does.
  lookup: (ctx) => findCluster(ctx),

  async ensure(ctx) {
    const name = ctx.names.cluster;
    const recorded = ctx.state.get('cluster');
    const existing = await lookedUp(ctx, findCluster);
    if (existing) {
      const origin = recorded?.origin ?? (hasStackTag(existing.tags, ctx.config.stack) ? 'created' : 'adopted');
      if (!recorded) ctx.state.record('cluster', { id: name, arn: existing.clusterArn!, origin });
      return `cluster ${name} ${recorded ? 'exists' : origin === 'adopted' ? 'adopted (not created by ecs-ha, will be kept)' : 'found'}`;
    }
    const { cluster } = await retryWhileServiceLinkedRoleSettles(ctx, { what: 'creating the ECS cluster', operation: 'CreateCluster' }, () =>
      ctx.aws.ecs.send(
        new CreateClusterCommand({
          clusterName: name,
          tags: [ecsStackTag(ctx.config.stack)],
          settings: [{ name: 'containerInsights', value: 'disabled' }],
        }),
      ),
    );
    ctx.state.record('cluster', { id: name, arn: cluster!.clusterArn!, origin: 'created' });
    return `created cluster ${name}`;
  },

  async plan(ctx) {
    const name = ctx.names.cluster;
    const resource = `ECS cluster ${name}`;
    const recorded = ctx.state.get('cluster');
    const existing = await findCluster(ctx);
    if (existing) {
      const origin = recorded?.origin ?? (hasStackTag(existing.tags, ctx.config.stack) ? 'created' : 'adopted');
      if (!recorded) ctx.state.foresee('cluster', { id: name, arn: existing.clusterArn!, origin });
      return existingResource(resource, recorded !== undefined, origin);
    }
    // Its ARN is AWS's to give; the service step needs only to know it is new.
    ctx.state.foreseeNew('cluster', 'ECS cluster', { id: name, origin: 'created' });
    return { action: 'create', resource, detail: 'Container Insights off' };
  },

  async proveOwnership(ctx, record) {
    const early = judge(nameProblem(lastSegment(record.id), ctx.names.cluster), recordProblem(record, ctx.state));
    if (early.kind !== 'ours') return early;
    const existing = await findCluster(ctx);
    if (!existing) return GONE;
    return judge(arnProblem(existing.clusterArn, ctx.state), tagProblem(hasStackTag(existing.tags, ctx.config.stack), ctx.config.stack));
  },

  async destroy(ctx) {
    const recorded = ctx.state.get('cluster');
    if (!recorded) return 'no cluster recorded';
    if (recorded.origin === 'adopted') {
      ctx.state.forget('cluster');
      return `kept cluster ${recorded.id} (adopted)`;
    }
    try {
      // Tasks of a deleted service can hold the cluster for a little while after the service is gone.
      await retryWhile(() => ctx.aws.ecs.send(new DeleteClusterCommand({ cluster: recorded.id })), {
        clock: ctx.clock,
        what: `cluster ${recorded.id} to be free`,
        retryOn: ['ClusterContainsTasksException', 'ClusterContainsServicesException', 'UpdateInProgressException'],
        timeoutMs: ctx.waitTimeoutMs,
        onRetry: (seconds, code) => ctx.progress(`still in use (${code}) after ${seconds}s, retrying`),
      });
    } catch (error) {
      if (!isAwsError(error, 'ClusterNotFoundException')) throw error;
    }
    ctx.state.forget('cluster');
    return `deleted cluster ${recorded.id}`;
  },

  async discover(ctx) {
    const existing = await findCluster(ctx);
    if (existing && hasStackTag(existing.tags, ctx.config.stack)) {
      ctx.state.record('cluster', { id: ctx.names.cluster, arn: existing.clusterArn!, origin: 'created' });
    }
  },
};
