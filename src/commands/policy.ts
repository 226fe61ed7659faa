import { validateRoleRef, validateStackName } from '../config.js';
import { policyDocument, type PolicyScope } from '../policy/policy.js';

export interface PolicyCliOptions {
  stack?: string;
  executionRole?: string;
  json?: boolean;
}

/**
 * `ecs-ha policy`: prints the IAM policy document on stdout. No AWS call and no credentials: it is
 * meant to be run before the account allows anything.
 */
export async function policyAction(options: PolicyCliOptions): Promise<void> {
  const scope: PolicyScope = {
    ...(options.stack !== undefined ? { stack: validateStackName(options.stack) } : {}),
    ...(options.executionRole !== undefined ? { executionRole: validateRoleRef(options.executionRole) } : {}),
  };
  // Always JSON, so --json changes nothing; `> file` gives a file `aws iam create-policy` takes.
  process.stdout.write(`${JSON.stringify(policyDocument(scope), null, 2)}\n`);
}
