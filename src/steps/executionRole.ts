import {
  AttachRolePolicyCommand,
  CreateRoleCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  DetachRolePolicyCommand,
  GetRoleCommand,
  ListAttachedRolePoliciesCommand,
  ListRolePoliciesCommand,
  type Role,
} from '@aws-sdk/client-iam';
import { isAwsError } from '../aws/errors.js';
import { retryWhile } from '../aws/poll.js';
import { existingResource, type PlanContext, type PlannedChange, type ReadContext } from '../engine/plan.js';
import type { Step, StepContext } from '../engine/step.js';
import { arnProblem, GONE, judge, nameProblem, recordProblem, tagProblem } from '../engine/ownership.js';
import { hasStackTag, stackTag } from '../engine/tags.js';
import { partitionOf } from './logGroup.js';
import { UsageError } from '../errors.js';

// The SDK names IAM errors `…Exception`; the wire code (kept as `Code` on the error) has no suffix.
const NO_SUCH_ENTITY = ['NoSuchEntity', 'NoSuchEntityException'];
const STILL_IN_USE = ['DeleteConflict', 'DeleteConflictException', 'ConcurrentModification', 'ConcurrentModificationException'];

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

export const REGION_TAG_KEY = 'ecs-ha:region';

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

/** Ours: the stack's tag, and no region tag naming another region. */
function isOurs(role: Role, ctx: ReadContext): boolean {
  const region = role.Tags?.find((t) => t.Key === REGION_TAG_KEY)?.Value;
  return hasStackTag(role.Tags, ctx.config.stack) && (region === undefined || region === ctx.state.region);
}

/** `arn:aws:iam::123456789012:role/some/path/name` → `name`; a plain name stays as it is. */
export function roleNameOf(ref: string): string {
  return ref.startsWith('arn:') ? (ref.split('/').pop() ?? ref) : ref;
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
  const arns: string[] = [];
  let marker: string | undefined;
  do {
    const page = await ctx.aws.iam.send(new ListAttachedRolePoliciesCommand({ RoleName: name, ...(marker ? { Marker: marker } : {}) }));
    for (const policy of page.AttachedPolicies ?? []) if (policy.PolicyArn) arns.push(policy.PolicyArn);
    marker = page.IsTruncated ? page.Marker : undefined;
  } while (marker);
  return arns;
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
    const origin = knownOrigin ?? (isOurs(existing, ctx) ? 'created' : 'adopted');
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
    const origin = knownOrigin ?? (isOurs(existing, ctx) ? 'created' : 'adopted');
    const inState = recorded?.id === name && recorded.arn === existing.Arn && recorded.origin === origin;
    if (!inState) ctx.state.foresee('executionRole', { id: name, arn: existing.Arn!, origin });
    const attached = (await attachedPolicyArns(ctx, name)).includes(executionPolicyArn(existing.Arn!));
    if (origin === 'created' && !attached) return { action: 'update', resource, detail: 'attach AmazonECSTaskExecutionRolePolicy' };
    return existingResource(resource, knownOrigin !== undefined, origin, attached ? undefined : 'lacks AmazonECSTaskExecutionRolePolicy, left as it is: tasks may fail to pull the image or write logs');
  },

  async proveOwnership(ctx, record) {
    // The legacy name is the stack's too: stacks made before names carried the region recorded it.
    const names = [regionalRoleName(ctx.config.stack, ctx.state.region), ctx.names.legacyExecutionRole];
    const early = judge(nameProblem(record.id, names), recordProblem(record, ctx.state, { global: true }));
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
    const recorded = ctx.state.get('executionRole');
    if (!recorded) return 'no task execution role recorded';
    if (recorded.origin === 'adopted') {
      ctx.state.forget('executionRole');
      return `kept role ${recorded.id} (adopted)`;
    }
    const name = recorded.id;
    let summary = `deleted role ${name}`;
    try {
      // The whole sequence is retried: a DeleteConflict may mean a policy was attached meanwhile.
      await retryWhile(
        async () => {
          for (const arn of await attachedPolicyArns(ctx, name)) {
            await ignoreMissing(ctx.aws.iam.send(new DetachRolePolicyCommand({ RoleName: name, PolicyArn: arn })));
          }
          const { PolicyNames = [] } = await ctx.aws.iam.send(new ListRolePoliciesCommand({ RoleName: name }));
          for (const policyName of PolicyNames) {
            await ignoreMissing(ctx.aws.iam.send(new DeleteRolePolicyCommand({ RoleName: name, PolicyName: policyName })));
          }
          await ctx.aws.iam.send(new DeleteRoleCommand({ RoleName: name }));
        },
        {
          clock: ctx.clock,
          what: `role ${name} to be free`,
          retryOn: STILL_IN_USE,
          timeoutMs: ctx.waitTimeoutMs,
          onRetry: (seconds, code) => ctx.progress(`still in use (${code}) after ${seconds}s, retrying`),
        },
      );
    } catch (error) {
      if (!isAwsError(error, ...NO_SUCH_ENTITY)) throw error;
      summary = `role ${name} was already gone`;
    }
    ctx.state.forget('executionRole');
    return summary;
  },

  async discover(ctx) {
    // Only the regional name: a role of the older shared name may serve this stack in another region too.
    const name = regionalRoleName(ctx.config.stack, ctx.state.region);
    const existing = await getRole(ctx, name);
    if (existing && isOurs(existing, ctx)) ctx.state.record('executionRole', { id: name, arn: existing.Arn!, origin: 'created' });
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

/** A policy that disappeared between the listing and the call is already what we wanted. */
async function ignoreMissing(call: Promise<unknown>): Promise<void> {
  try {
    await call;
  } catch (error) {
    if (!isAwsError(error, ...NO_SUCH_ENTITY)) throw error;
  }
}
