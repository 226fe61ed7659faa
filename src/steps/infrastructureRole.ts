import { AttachRolePolicyCommand, CreateRoleCommand } from '@aws-sdk/client-iam';
import { existingResource, type ReadContext } from '../engine/plan.js';
import type { Step } from '../engine/step.js';
import { stackTag } from '../engine/tags.js';
import { NOT_NATIVE, wantsNativeStrategy } from './alternateTargetGroup.js';
import { partitionOf } from './logGroup.js';
import { attachedPolicyArns, deleteRoleWithPolicies, getRole, isStackRole, proveRoleOwnership, REGION_TAG_KEY } from './roles.js';


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
    const origin = known ?? (isStackRole(existing, ctx) ? 'created' : 'adopted');
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
    const origin = known ?? (isStackRole(existing, ctx) ? 'created' : 'adopted');
    if (!(recorded?.id === name && recorded.arn === existing.Arn && recorded.origin === origin)) ctx.state.foresee('infrastructureRole', { id: name, arn: existing.Arn!, origin });
    const attached = (await attachedPolicyArns(ctx, name)).includes(infrastructurePolicyArn(partitionOf(ctx.state.region)));
    if (origin === 'created' && !attached) return { action: 'update', resource, detail: 'attach AmazonECSInfrastructureRolePolicyForLoadBalancers' };
    return existingResource(resource, known !== undefined, origin, attached ? undefined : 'lacks AmazonECSInfrastructureRolePolicyForLoadBalancers, left as it is');
  },

  async proveOwnership(ctx, record) {
    return proveRoleOwnership(ctx, record, [nameOf(ctx)]);
  },

  async destroy(ctx) {
    const recorded = ctx.state.get('infrastructureRole');
    if (!recorded) return 'no ECS infrastructure role recorded';
    if (recorded.origin === 'adopted') {
      ctx.state.forget('infrastructureRole');
      return `kept role ${recorded.id} (adopted)`;
    }
    const name = recorded.id;
    const summary = (await deleteRoleWithPolicies(ctx, name)) ? `deleted role ${name}` : `role ${name} was already gone`;
    ctx.state.forget('infrastructureRole');
    return summary;
  },

  async discover(ctx) {
    const name = nameOf(ctx);
    const existing = await getRole(ctx, name);
    if (existing && isStackRole(existing, ctx)) ctx.state.record('infrastructureRole', { id: name, arn: existing.Arn!, origin: 'created' });
  },
};
