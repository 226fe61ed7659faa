import { AttachRolePolicyCommand, CreateRoleCommand, DeleteRoleCommand, DetachRolePolicyCommand, GetRoleCommand, ListAttachedRolePoliciesCommand, type Role } from '@aws-sdk/client-iam';
import { isAwsError } from '../aws/errors.js';
import { retryWhile } from '../aws/poll.js';
import { existingResource, type ReadContext } from '../engine/plan.js';
import type { Step } from '../engine/step.js';
import { arnProblem, GONE, judge, nameProblem, recordProblem, tagProblem } from '../engine/ownership.js';
import { hasStackTag, stackTag } from '../engine/tags.js';
import { NOT_NATIVE, wantsNativeStrategy } from './alternateTargetGroup.js';
import { REGION_TAG_KEY } from './executionRole.js';
import { partitionOf } from './logGroup.js';

const NO_SUCH_ENTITY = ['NoSuchEntity', 'NoSuchEntityException'];
const STILL_IN_USE = ['DeleteConflict', 'DeleteConflictException', 'ConcurrentModification', 'ConcurrentModificationException'];

/** ECS assumes the role to shift the listener rule's weights (developer guide: infrastructure IAM role for load balancers). */
export const INFRASTRUCTURE_TRUST_POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'ecs.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});
const LOAD_BALANCER_POLICY = 'policy/AmazonECSInfrastructureRolePolicyForLoadBalancers';

export function infrastructurePolicyArn(partition: string): string {
  return `arn:${partition}:iam::aws:${LOAD_BALANCER_POLICY}`;
}

/** Regional, as the execution role's name: a stack of the same name in another region has its own. */
export function infrastructureRoleName(stack: string, region: string): string {
  return `${stack}-${region}-ecs-infra`;
}

async function getRole(ctx: ReadContext, name: string): Promise<Role | undefined> {
  try {
    return (await ctx.aws.iam.send(new GetRoleCommand({ RoleName: name }))).Role;
  } catch (error) {
    if (isAwsError(error, ...NO_SUCH_ENTITY)) return undefined;
    throw error;
  }
}

async function attachedPolicyArns(ctx: ReadContext, name: string): Promise<string[]> {
  const { AttachedPolicies = [] } = await ctx.aws.iam.send(new ListAttachedRolePoliciesCommand({ RoleName: name }));
  return AttachedPolicies.map((p) => p.PolicyArn ?? '');
}

function isOurs(role: Role, ctx: ReadContext): boolean {
  const region = role.Tags?.find((t) => t.Key === REGION_TAG_KEY)?.Value;
  return hasStackTag(role.Tags, ctx.config.stack) && (region === undefined || region === ctx.state.region);
}

const nameOf = (ctx: ReadContext): string => infrastructureRoleName(ctx.config.stack, ctx.state.region);

/**
 * The infrastructure role ECS assumes to change the load balancer during a blue/green, linear or
 * canary deployment. Only a stack that deploys with one of those has it.
 */
export const infrastructureRoleStep: Step = {
  id: 'infrastructureRole',
  title: 'ECS infrastructure role',
  dependsOn: [],

  async ensure(ctx) {
    const name = nameOf(ctx);
    if (!wantsNativeStrategy(ctx)) return `no ECS infrastructure role (${NOT_NATIVE})${ctx.state.get('infrastructureRole') ? `; the recorded ${name} is kept until \`down\`` : ''}`;
    const recorded = ctx.state.get('infrastructureRole');
    const existing = await getRole(ctx, name);
    if (!existing) {
      const { Role: role } = await ctx.aws.iam.send(
        new CreateRoleCommand({
          RoleName: name,
          AssumeRolePolicyDocument: INFRASTRUCTURE_TRUST_POLICY,
          Description: `ECS infrastructure role of ecs-ha stack ${ctx.config.stack} (shifts load balancer traffic in blue/green, linear and canary deployments)`,
          Tags: [stackTag(ctx.config.stack), { Key: REGION_TAG_KEY, Value: ctx.state.region }],
        }),
      );
      ctx.state.record('infrastructureRole', { id: name, arn: role!.Arn!, origin: 'created' });
      await ctx.aws.iam.send(new AttachRolePolicyCommand({ RoleName: name, PolicyArn: infrastructurePolicyArn(partitionOf(ctx.state.region)) }));
      return `created role ${name}`;
    }
    const known = recorded?.id === name ? recorded.origin : undefined;
    const origin = known ?? (isOurs(existing, ctx) ? 'created' : 'adopted');
    if (recorded?.id !== name || recorded.arn !== existing.Arn || recorded.origin !== origin) ctx.state.record('infrastructureRole', { id: name, arn: existing.Arn!, origin });
    const policyArn = infrastructurePolicyArn(partitionOf(ctx.state.region));
    const attached = (await attachedPolicyArns(ctx, name)).includes(policyArn);
    if (origin === 'adopted') {
      if (!attached) ctx.notice(`role ${name} was not created by ecs-ha and lacks AmazonECSInfrastructureRolePolicyForLoadBalancers; it was left as it is, so ECS may fail to shift traffic`);
      return `adopted role ${name} (not created by ecs-ha, will be kept)`;
    }
    if (!attached) {
      await ctx.aws.iam.send(new AttachRolePolicyCommand({ RoleName: name, PolicyArn: policyArn }));
      return `role ${name} exists; attached AmazonECSInfrastructureRolePolicyForLoadBalancers`;
    }
    return known ? `role ${name} exists` : `found role ${name}`;
  },

  async plan(ctx) {
    const name = nameOf(ctx);
    const resource = `ECS infrastructure role ${name}`;
    if (!wantsNativeStrategy(ctx)) return { action: 'none', resource, detail: NOT_NATIVE };
    const recorded = ctx.state.get('infrastructureRole');
    const existing = await getRole(ctx, name);
    if (!existing) {
      const arn = `arn:${partitionOf(ctx.state.region)}:iam::${ctx.state.account}:role/${name}`;
      ctx.state.foreseeNew('infrastructureRole', 'ECS infrastructure role', { id: name, arn, origin: 'created' });
      return { action: 'create', resource, detail: 'trusts ecs.amazonaws.com; AmazonECSInfrastructureRolePolicyForLoadBalancers attached' };
    }
    const known = recorded?.id === name ? recorded.origin : undefined;
    const origin = known ?? (isOurs(existing, ctx) ? 'created' : 'adopted');
    if (!(recorded?.id === name && recorded.arn === existing.Arn && recorded.origin === origin)) ctx.state.foresee('infrastructureRole', { id: name, arn: existing.Arn!, origin });
    const attached = (await attachedPolicyArns(ctx, name)).includes(infrastructurePolicyArn(partitionOf(ctx.state.region)));
    if (origin === 'created' && !attached) return { action: 'update', resource, detail: 'attach AmazonECSInfrastructureRolePolicyForLoadBalancers' };
    return existingResource(resource, known !== undefined, origin, attached ? undefined : 'lacks AmazonECSInfrastructureRolePolicyForLoadBalancers, left as it is');
  },

  async proveOwnership(ctx, record) {
    const early = judge(nameProblem(record.id, nameOf(ctx)), recordProblem(record, ctx.state, { global: true }));
    if (early.kind !== 'ours') return early;
    const role = await getRole(ctx, record.id);
    if (!role) return GONE;
    const region = role.Tags?.find((t) => t.Key === REGION_TAG_KEY)?.Value;
    return judge(
      arnProblem(role.Arn, ctx.state, { global: true }),
      tagProblem(hasStackTag(role.Tags, ctx.config.stack), ctx.config.stack),
      region !== undefined && region !== ctx.state.region && `it is tagged ${REGION_TAG_KEY}=${region}: the stack of that region uses it`,
    );
  },

  async destroy(ctx) {
    const recorded = ctx.state.get('infrastructureRole');
    if (!recorded) return 'no ECS infrastructure role recorded';
    if (recorded.origin === 'adopted') {
      ctx.state.forget('infrastructureRole');
      return `kept role ${recorded.id} (adopted)`;
    }
    const name = recorded.id;
    let summary = `deleted role ${name}`;
    try {
      await retryWhile(
        async () => {
          for (const arn of await attachedPolicyArns(ctx, name)) {
            try {
              await ctx.aws.iam.send(new DetachRolePolicyCommand({ RoleName: name, PolicyArn: arn }));
            } catch (error) {
              if (!isAwsError(error, ...NO_SUCH_ENTITY)) throw error;
            }
          }
          await ctx.aws.iam.send(new DeleteRoleCommand({ RoleName: name }));
        },
        { clock: ctx.clock, what: `role ${name} to be free`, retryOn: STILL_IN_USE, timeoutMs: ctx.waitTimeoutMs, onRetry: (seconds, code) => ctx.progress(`still in use (${code}) after ${seconds}s, retrying`) },
      );
    } catch (error) {
      if (!isAwsError(error, ...NO_SUCH_ENTITY)) throw error;
      summary = `role ${name} was already gone`;
    }
    ctx.state.forget('infrastructureRole');
    return summary;
  },

  async discover(ctx) {
    const name = nameOf(ctx);
    const existing = await getRole(ctx, name);
    if (existing && isOurs(existing, ctx)) ctx.state.record('infrastructureRole', { id: name, arn: existing.Arn!, origin: 'created' });
  },
};
