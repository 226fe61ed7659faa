/**
 * What the stack's own IAM roles (the task execution role, the ECS infrastructure role) share:
 * reading them, telling whose they are, proving that before deleting, and deleting them with their
 * policies. IAM roles are account-wide and stacks regional, so a role is the stack's only with its
 * tag and no region tag naming another region.
 */
import { DeleteRoleCommand, DeleteRolePolicyCommand, DetachRolePolicyCommand, GetRoleCommand, ListAttachedRolePoliciesCommand, ListRolePoliciesCommand, type Role } from '@aws-sdk/client-iam';
import { isAwsError } from '../aws/errors.js';
import { retryWhile } from '../aws/poll.js';
import type { ReadContext } from '../engine/plan.js';
import { arnProblem, GONE, judge, nameProblem, recordProblem, tagProblem, type Ownership } from '../engine/ownership.js';
import type { StepContext } from '../engine/step.js';
import { hasStackTag } from '../engine/tags.js';
import type { ResourceRecord } from '../state/store.js';

// The SDK names IAM errors `…Exception`; the wire code (kept as `Code` on the error) has no suffix.
export const NO_SUCH_ENTITY = ['NoSuchEntity', 'NoSuchEntityException'];
const STILL_IN_USE = ['DeleteConflict', 'DeleteConflictException', 'ConcurrentModification', 'ConcurrentModificationException'];

export const REGION_TAG_KEY = 'ecs-ha:region';

export async function getRole(ctx: ReadContext, name: string): Promise<Role | undefined> {
  try {
    return (await ctx.aws.iam.send(new GetRoleCommand({ RoleName: name }))).Role;
  } catch (error) {
    if (isAwsError(error, ...NO_SUCH_ENTITY)) return undefined;
    throw error;
  }
}

export async function attachedPolicyArns(ctx: ReadContext, name: string): Promise<string[]> {
  const arns: string[] = [];
  let marker: string | undefined;
  do {
    const page = await ctx.aws.iam.send(new ListAttachedRolePoliciesCommand({ RoleName: name, ...(marker ? { Marker: marker } : {}) }));
    for (const policy of page.AttachedPolicies ?? []) if (policy.PolicyArn) arns.push(policy.PolicyArn);
    marker = page.IsTruncated ? page.Marker : undefined;
  } while (marker);
  return arns;
}

/** The stack's: its tag, and no region tag naming another region. */
export function isStackRole(role: Role, ctx: ReadContext): boolean {
  const region = role.Tags?.find((t) => t.Key === REGION_TAG_KEY)?.Value;
  return hasStackTag(role.Tags, ctx.config.stack) && (region === undefined || region === ctx.state.region);
}

/** Before `down` deletes a role: one of the names the stack gives, in the state's account, with the stack tag and no other region's. */
export async function proveRoleOwnership(ctx: ReadContext, record: ResourceRecord, names: readonly string[]): Promise<Ownership> {
  const early = judge(nameProblem(record.id, names), recordProblem(record, ctx.state));
  if (early.kind !== 'ours') return early;
  const role = await getRole(ctx, record.id);
  if (!role) return GONE;
  const region = role.Tags?.find((t) => t.Key === REGION_TAG_KEY)?.Value;
  return judge(
    arnProblem(role.Arn, ctx.state),
    tagProblem(hasStackTag(role.Tags, ctx.config.stack), ctx.config.stack),
    region !== undefined && region !== ctx.state.region && `it is tagged ${REGION_TAG_KEY}=${region}: the stack of that region uses it`,
  );
}

/** A policy that disappeared between the listing and the call is already what we wanted. */
async function ignoreMissing(call: Promise<unknown>): Promise<void> {
  try {
    await call;
  } catch (error) {
    if (!isAwsError(error, ...NO_SUCH_ENTITY)) throw error;
  }
}

/**
 * Detaches and deletes the role's policies, then the role; false when it was already gone. The
 * whole sequence is retried: a DeleteConflict may mean a policy was attached meanwhile.
 */
export async function deleteRoleWithPolicies(ctx: StepContext, name: string): Promise<boolean> {
  try {
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
    return true;
  } catch (error) {
    if (!isAwsError(error, ...NO_SUCH_ENTITY)) throw error;
    return false;
  }
}
