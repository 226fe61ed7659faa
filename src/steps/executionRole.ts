import { AttachRolePolicyCommand, CreateRoleCommand, type Role } from '@aws-sdk/client-iam';
import { existingResource, type PlanContext, type PlannedChange, type ReadContext } from '../engine/plan.js';
import type { Step, StepContext } from '../engine/step.js';
import { stackTag } from '../engine/tags.js';
import { partitionOf } from './logGroup.js';
import { attachedPolicyArns, deleteRoleWithPolicies, getRole, isStackRole, proveRoleOwnership, REGION_TAG_KEY } from './roles.js';

export { REGION_TAG_KEY };
import { UsageError } from '../errors.js';


const TASK_EXECUTION_POLICY = 'policy/service-role/AmazonECSTaskExecutionRolePolicy';

/** The trust policy of the tutorial's step 5: ECS tasks may assume the role. */
const TRUST_POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'ecs-tasks.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});

/** The managed policy's ARN in the role's own partition (aws, aws-cn, aws-us-gov). */
function executionPolicyArn(roleArn: string): string {
  const partition = roleArn.split(':')[1] || 'aws';
  return `arn:${partition}:iam::aws:${TASK_EXECUTION_POLICY}`;
}


/**
 * IAM roles are account-wide but a stack is regional: the stack's role name carries its region, so
 * a stack of the same name in another region makes and deletes its own role, never this one.
 * (Stacks made before this kept `<stack>-task-execution`; their state file still names it.)
 */
export function regionalRoleName(stack: string, region: string): string {
  return `${stack}-${region}-task-execution`;
}

/** The role this stack uses: the one its state recorded as created, else its regional name. */
function ownRoleName(ctx: ReadContext): string {
  const recorded = ctx.state.get('executionRole');
  return recorded?.origin === 'created' ? recorded.id : regionalRoleName(ctx.config.stack, ctx.state.region);
}


/** `arn:aws:iam::123456789012:role/some/path/name` → `name`; a plain name stays as it is. */
export function roleNameOf(ref: string): string {
  return ref.startsWith('arn:') ? (ref.split('/').pop() ?? ref) : ref;
}



function trustsEcsTasks(role: Role): boolean {
  const document = role.AssumeRolePolicyDocument ?? '';
  let decoded = document;
  try {
    decoded = decodeURIComponent(document); // IAM returns the document URL-encoded
  } catch {
    // not encoded after all
  }
  return decoded.includes('ecs-tasks.amazonaws.com');
}

/** The role given with --execution-role, and what it lacks; UsageError when it cannot be used. Reads only. */
async function checkGivenRole(ctx: ReadContext, ref: string): Promise<{ name: string; role: Role; problems: string[] }> {
  const name = roleNameOf(ref);
  const recorded = ctx.state.get('executionRole');
  if (recorded?.origin === 'created' && recorded.id !== name) {
    throw new UsageError(
      `--execution-role "${ref}" was given, but stack "${ctx.config.stack}" already created its own role ${recorded.id}`,
      `run \`ecs-ha down --stack ${ctx.config.stack}\` first, or leave out --execution-role`,
    );
  }
  const role = await getRole(ctx, name);
  if (!role) {
    throw new UsageError(`invalid --execution-role "${ref}": there is no IAM role named ${name} in this account`, 'give the name or ARN of an existing role, or leave the option out and ecs-ha creates one');
  }
  const problems: string[] = [];
  if (!(await attachedPolicyArns(ctx, name)).includes(executionPolicyArn(role.Arn!))) problems.push('AmazonECSTaskExecutionRolePolicy is not attached');
  if (!trustsEcsTasks(role)) problems.push('its trust policy does not name ecs-tasks.amazonaws.com');
  return { name, role, problems };
}

/** A role the user owns: checked, never changed. */
async function adoptGivenRole(ctx: StepContext, ref: string): Promise<string> {
  const { name, role, problems } = await checkGivenRole(ctx, ref);
  const recorded = ctx.state.get('executionRole');
  if (problems.length > 0) {
    ctx.notice(`execution role ${name}: ${problems.join('; ')}; tasks may fail to pull the image or write logs (ecs-ha does not change a role it did not create)`);
  }
  if (recorded?.id !== name || recorded.arn !== role.Arn || recorded.origin !== 'adopted') {
    ctx.state.record('executionRole', { id: name, arn: role.Arn!, origin: 'adopted' });
    ctx.notice(`using the existing role ${name} given with --execution-role; it is adopted and \`down\` keeps it`);
  }
  return `adopted role ${name} (given with --execution-role, will be kept)`;
}

export const executionRoleStep: Step = {
  id: 'executionRole',
  title: 'task execution role',
  dependsOn: [],

  async ensure(ctx) {
    if (ctx.config.executionRole) return adoptGivenRole(ctx, ctx.config.executionRole);
    const name = ownRoleName(ctx);
    const recorded = ctx.state.get('executionRole');
    const existing = await getRole(ctx, name);

    if (!existing) {
      const { Role: role } = await ctx.aws.iam.send(
        new CreateRoleCommand({
          RoleName: name,
          AssumeRolePolicyDocument: TRUST_POLICY,
          Description: `ECS task execution role of ecs-ha stack ${ctx.config.stack} (pulls the image from ECR, writes logs)`,
          Tags: [stackTag(ctx.config.stack), { Key: REGION_TAG_KEY, Value: ctx.state.region }],
        }),
      );
      ctx.state.record('executionRole', { id: name, arn: role!.Arn!, origin: 'created' });
      await ctx.aws.iam.send(new AttachRolePolicyCommand({ RoleName: name, PolicyArn: executionPolicyArn(role!.Arn!) }));
      return `created role ${name}`;
    }

    const knownOrigin = recorded?.id === name ? recorded.origin : undefined;
    const origin = knownOrigin ?? (isStackRole(existing, ctx) ? 'created' : 'adopted');
    if (recorded?.id !== name || recorded.arn !== existing.Arn || recorded.origin !== origin) {
      ctx.state.record('executionRole', { id: name, arn: existing.Arn!, origin });
    }
    const policyArn = executionPolicyArn(existing.Arn!);
    const attached = (await attachedPolicyArns(ctx, name)).includes(policyArn);
    if (origin === 'adopted') {
      if (!attached) {
        ctx.notice(`role ${name} was not created by ecs-ha and lacks AmazonECSTaskExecutionRolePolicy; it was left as it is, so tasks may fail to pull the image or write logs`);
      }
      return `adopted role ${name} (not created by ecs-ha, will be kept)`;
    }
    if (!attached) {
      await ctx.aws.iam.send(new AttachRolePolicyCommand({ RoleName: name, PolicyArn: policyArn }));
      return `role ${name} exists; attached AmazonECSTaskExecutionRolePolicy`;
    }
    return knownOrigin ? `role ${name} exists` : `found role ${name}`;
  },

  async plan(ctx) {
    if (ctx.config.executionRole) return planGivenRole(ctx, ctx.config.executionRole);
    const name = ownRoleName(ctx);
    const resource = `task execution role ${name}`;
    const recorded = ctx.state.get('executionRole');
    const existing = await getRole(ctx, name);
    if (!existing) {
      // IAM gives a role created without a path this very ARN: the task definition can be compared with it.
      const arn = `arn:${partitionOf(ctx.state.region)}:iam::${ctx.state.account}:role/${name}`;
      ctx.state.foreseeNew('executionRole', 'task execution role', { id: name, arn, origin: 'created' });
      return { action: 'create', resource, detail: 'trusts ecs-tasks.amazonaws.com; AmazonECSTaskExecutionRolePolicy attached' };
    }
    const knownOrigin = recorded?.id === name ? recorded.origin : undefined;
    const origin = knownOrigin ?? (isStackRole(existing, ctx) ? 'created' : 'adopted');
    const inState = recorded?.id === name && recorded.arn === existing.Arn && recorded.origin === origin;
    if (!inState) ctx.state.foresee('executionRole', { id: name, arn: existing.Arn!, origin });
    const attached = (await attachedPolicyArns(ctx, name)).includes(executionPolicyArn(existing.Arn!));
    if (origin === 'created' && !attached) return { action: 'update', resource, detail: 'attach AmazonECSTaskExecutionRolePolicy' };
    return existingResource(resource, knownOrigin !== undefined, origin, attached ? undefined : 'lacks AmazonECSTaskExecutionRolePolicy, left as it is: tasks may fail to pull the image or write logs');
  },

  async proveOwnership(ctx, record) {
    // The legacy name is the stack's too: stacks made before names carried the region recorded it.
    return proveRoleOwnership(ctx, record, [regionalRoleName(ctx.config.stack, ctx.state.region), ctx.names.legacyExecutionRole]);
  },

  async destroy(ctx) {
    const recorded = ctx.state.get('executionRole');
    if (!recorded) return 'no task execution role recorded';
    if (recorded.origin === 'adopted') {
      ctx.state.forget('executionRole');
      return `kept role ${recorded.id} (adopted)`;
    }
    const name = recorded.id;
    const summary = (await deleteRoleWithPolicies(ctx, name)) ? `deleted role ${name}` : `role ${name} was already gone`;
    ctx.state.forget('executionRole');
    return summary;
  },

  async discover(ctx) {
    // Only the regional name: a role of the older shared name may serve this stack in another region too.
    const name = regionalRoleName(ctx.config.stack, ctx.state.region);
    const existing = await getRole(ctx, name);
    if (existing && isStackRole(existing, ctx)) ctx.state.record('executionRole', { id: name, arn: existing.Arn!, origin: 'created' });
  },
};

/** The plan of a role given with --execution-role: the same checks as `adoptGivenRole`, nothing recorded. */
async function planGivenRole(ctx: PlanContext, ref: string): Promise<PlannedChange> {
  const { name, role, problems } = await checkGivenRole(ctx, ref);
  const recorded = ctx.state.get('executionRole');
  const inState = recorded?.id === name && recorded.arn === role.Arn && recorded.origin === 'adopted';
  if (!inState) ctx.state.foresee('executionRole', { id: name, arn: role.Arn!, origin: 'adopted' });
  const lacks = problems.length > 0 ? `${problems.join('; ')}: left as it is, tasks may fail to pull the image or write logs` : undefined;
  const resource = `task execution role ${name}`;
  return existingResource(resource, inState, 'adopted', ['given with --execution-role', ...(lacks ? [lacks] : [])].join('; '));
}

