import { CreateServiceLinkedRoleCommand, GetRoleCommand, type Role } from '@aws-sdk/client-iam';
import { awsErrorCode, awsErrorMessage, isAwsError } from '../aws/errors.js';
import type { ReadContext } from '../engine/plan.js';
import type { Step, StepContext, StepId } from '../engine/step.js';
import { EnvironmentError } from '../errors.js';
import type { ResourceRecord } from '../state/store.js';
import { retryWhileTransient } from './taskDefinition.js';

export const SERVICE_LINKED_ROLE_STEP: StepId = 'serviceLinkedRole';

export const ECS_SERVICE = 'ecs.amazonaws.com';
/** The name AWS gives the ECS service-linked role; fixed, ECS takes no custom suffix. */
export const ECS_SERVICE_LINKED_ROLE = 'AWSServiceRoleForECS';

const CREATE_COMMAND = `aws iam create-service-linked-role --aws-service-name ${ECS_SERVICE}`;
const NO_SUCH_ENTITY = ['NoSuchEntity', 'NoSuchEntityException'];
const ACCESS_DENIED = ['AccessDenied', 'AccessDeniedException'];

/**
 * IAM's answer to CreateServiceLinkedRole when the role exists: `InvalidInput` "Service role name
 * AWSServiceRoleForECS has been taken in this account, please try a different suffix."
 * (`EntityAlreadyExists`, IAM's generic already-exists code, means the same.)
 */
function isAlreadyThere(error: unknown): boolean {
  return (
    (isAwsError(error, 'InvalidInput', 'InvalidInputException') && /has been taken/i.test(awsErrorMessage(error))) ||
    isAwsError(error, 'EntityAlreadyExists', 'EntityAlreadyExistsException')
  );
}

type Lookup = { found: Role } | { missing: true } | { readDenied: unknown };

async function lookUp(ctx: ReadContext, name: string): Promise<Lookup> {
  try {
    const { Role: role } = await ctx.aws.iam.send(new GetRoleCommand({ RoleName: name }));
    return role ? { found: role } : { missing: true };
  } catch (error) {
    if (isAwsError(error, ...NO_SUCH_ENTITY)) return { missing: true };
    // The role may well exist: CreateServiceLinkedRole tells (it answers "has been taken").
    if (isAwsError(error, ...ACCESS_DENIED)) return { readDenied: error };
    throw error;
  }
}

function record(ctx: StepContext, role: { name: string; arn?: string | undefined }, createdByEcsHa: boolean, knownOnlyByCreate = false): void {
  const entry: ResourceRecord = {
    id: role.name,
    ...(role.arn ? { arn: role.arn } : {}),
    // Account-wide and shared by every ECS user of the account: never this stack's to delete.
    origin: 'adopted',
    details: { awsServiceName: ECS_SERVICE, createdByEcsHa, ...(knownOnlyByCreate ? { knownOnlyByCreate } : {}) },
  };
  ctx.state.record(SERVICE_LINKED_ROLE_STEP, entry);
}

function accessDenied(ctx: StepContext, error: unknown): EnvironmentError {
  return new EnvironmentError(
    `the ECS service-linked role ${ECS_SERVICE_LINKED_ROLE} does not exist in account ${ctx.state.account}, and the credentials in use may not create it: ` +
      `they lack the permission iam:CreateServiceLinkedRole (${awsErrorCode(error)}: ${awsErrorMessage(error)})`,
    `allow iam:CreateServiceLinkedRole on arn:aws:iam::*:role/aws-service-role/${ECS_SERVICE}/${ECS_SERVICE_LINKED_ROLE} (condition iam:AWSServiceName = ${ECS_SERVICE}), ` +
      `or have an administrator run once for the account: ${CREATE_COMMAND}; then run \`ecs-ha up\` again`,
    { cause: error },
  );
}

/**
 * ECS's service-linked role AWSServiceRoleForECS, which a brand-new account lacks: without it the
 * first CreateCluster/CreateService fails with "Unable to assume the service linked role". Read
 * first (a re-run makes no mutating call), created when missing. Recorded as adopted whoever made
 * it: the role serves every ECS user of the account, so `down` never deletes it.
 */
export const serviceLinkedRoleStep: Step = {
  id: SERVICE_LINKED_ROLE_STEP,
  title: 'ECS service-linked role',
  dependsOn: [],

  async ensure(ctx) {
    const recorded = ctx.state.get(SERVICE_LINKED_ROLE_STEP);
    // IAM said it exists though it could not be read by its name (moto names it differently):
    // asking again would only repeat a failing create on every run.
    if (recorded?.details?.knownOnlyByCreate === true) return `service-linked role ${recorded.id} exists`;
    // The name IAM gave the role when ecs-ha created it; AWS's fixed name otherwise.
    const name = recorded?.id ?? ECS_SERVICE_LINKED_ROLE;
    const lookup = await lookUp(ctx, name);
    if ('found' in lookup) {
      const arn = lookup.found.Arn;
      if (recorded && (recorded.arn === arn || !arn)) return `service-linked role ${name} exists`;
      record(ctx, { name, arn }, recorded?.details?.createdByEcsHa === true);
      return `service-linked role ${name} exists (account-wide, will be kept)`;
    }
    try {
      const { Role: role } = await ctx.aws.iam.send(new CreateServiceLinkedRoleCommand({ AWSServiceName: ECS_SERVICE }));
      const created = role?.RoleName ?? ECS_SERVICE_LINKED_ROLE;
      record(ctx, { name: created, arn: role?.Arn }, true);
      return `created service-linked role ${created} for ${ECS_SERVICE} (account-wide, shared by every ECS user of the account; \`down\` keeps it)`;
    } catch (error) {
      if (isAlreadyThere(error)) {
        // Another run (or ECS itself) made it since the lookup, or the lookup was not allowed.
        record(ctx, { name: ECS_SERVICE_LINKED_ROLE }, false, true);
        return `service-linked role ${ECS_SERVICE_LINKED_ROLE} exists (account-wide, will be kept)`;
      }
      if (!isAwsError(error, ...ACCESS_DENIED)) throw error;
      if ('readDenied' in lookup) {
        // Neither readable nor creatable: most accounts have it already, so go on; a missing role
        // shows as CreateCluster's "Unable to assume the service linked role", with what to do.
        ctx.notice(
          `could not check the ECS service-linked role ${ECS_SERVICE_LINKED_ROLE}: the credentials may neither read it (iam:GetRole) nor create it (iam:CreateServiceLinkedRole); going on as if it exists. ` +
            `If ECS answers "Unable to assume the service linked role", have an administrator run once: ${CREATE_COMMAND}`,
        );
        return `service-linked role ${ECS_SERVICE_LINKED_ROLE} not checked (no permission to read or create it)`;
      }
      throw accessDenied(ctx, error);
    }
  },

  async plan(ctx) {
    const resource = `ECS service-linked role ${ECS_SERVICE_LINKED_ROLE}`;
    const recorded = ctx.state.get(SERVICE_LINKED_ROLE_STEP);
    if (recorded?.details?.knownOnlyByCreate === true) return { action: 'keep', resource, detail: 'account-wide; `down` keeps it' };
    const name = recorded?.id ?? ECS_SERVICE_LINKED_ROLE;
    const lookup = await lookUp(ctx, name);
    if ('found' in lookup) {
      const arn = lookup.found.Arn;
      if (recorded && (recorded.arn === arn || !arn)) return { action: 'keep', resource, detail: 'account-wide; `down` keeps it' };
      const createdByEcsHa = recorded?.details?.createdByEcsHa === true;
      ctx.state.foresee(SERVICE_LINKED_ROLE_STEP, { id: name, ...(arn ? { arn } : {}), origin: 'adopted', details: { awsServiceName: ECS_SERVICE, createdByEcsHa } });
      // Not an adoption of anything of the stack's: ECS's own role, which up only notes in the state.
      return { action: 'adopt', resource, detail: 'exists (account-wide): up records it, and `down` keeps it' };
    }
    ctx.state.foreseeNew(SERVICE_LINKED_ROLE_STEP, 'service-linked role');
    const why = 'readDenied' in lookup ? 'iam:GetRole is not allowed, so up asks IAM to create it (IAM answers "taken" when it exists)' : 'the account has none (a new account)';
    return { action: 'create', resource, detail: `${why}; account-wide, \`down\` keeps it` };
  },

  async destroy(ctx) {
    const recorded = ctx.state.get(SERVICE_LINKED_ROLE_STEP);
    if (!recorded) return 'no service-linked role recorded';
    // Never deleted, whatever the record says: every ECS cluster and service of the account uses it.
    ctx.state.forget(SERVICE_LINKED_ROLE_STEP);
    const who = recorded.details?.createdByEcsHa === true ? 'created by ecs-ha' : 'it was there before';
    return `kept service-linked role ${recorded.id} (${who}; account-wide, used by every ECS service of the account, so never deleted)`;
  },

  async discover() {
    // Nothing to find: `down` never deletes the role, so a lost state file loses nothing here.
  },
};

/** ECS's answer while its service-linked role is missing, or too new to be usable. */
export function isServiceLinkedRoleNotReady(error: unknown): boolean {
  return isAwsError(error, 'InvalidParameterException') && /unable to assume the service[- ]linked role/i.test(awsErrorMessage(error));
}

/**
 * Runs an ECS create call (CreateCluster, CreateService), retrying for a bounded time (two minutes,
 * each retry shown as progress) while ECS cannot assume its service-linked role yet, or while
 * `alsoRetry` says so; then fails with AWS's message and what to do (exit 3).
 */
export async function retryWhileServiceLinkedRoleSettles<T>(
  ctx: StepContext,
  call: { what: string; operation: string; alsoRetry?: (error: unknown) => boolean },
  action: () => Promise<T>,
): Promise<T> {
  const { what, operation, alsoRetry = () => false } = call;
  const started = ctx.clock.now();
  try {
    return await retryWhileTransient(ctx, what, (error) => isServiceLinkedRoleNotReady(error) || alsoRetry(error), action);
  } catch (error) {
    if (!isServiceLinkedRoleNotReady(error)) throw error;
    const seconds = Math.round((ctx.clock.now() - started) / 1000);
    throw new EnvironmentError(
      `${operation} failed: ${awsErrorCode(error)}: ${awsErrorMessage(error)} (still so after retrying for ${seconds}s)`,
      `ECS needs its service-linked role ${ECS_SERVICE_LINKED_ROLE} in this account: check it with \`aws iam get-role --role-name ${ECS_SERVICE_LINKED_ROLE}\`; ` +
        `if it is missing, create it once (needs iam:CreateServiceLinkedRole): ${CREATE_COMMAND}; then run \`ecs-ha up\` again, it resumes where it stopped`,
      { cause: error },
    );
  }
}
