/**
 * `ecs-ha policy` against what the commands really called: every (service, operation) of a
 * --trace must be an IAM action the printed policy allows, on the resource it named where the
 * policy scopes by name. The policy is read from the built CLI's stdout, as a user would get it.
 */
import { expect } from 'vitest';
import type { TraceRecord } from '../../src/aws/clients.js';
import { allows, iamActionFor, type PolicyDocument } from '../../src/policy/policy.js';
import { emulatorEnv, runCli, tempDir } from './harness.js';

// Nothing listens here: `policy` makes no AWS call.
const DEAD_ENDPOINT = 'http://127.0.0.1:9';

export async function printedPolicy(): Promise<PolicyDocument> {
  const result = await runCli(['policy'], { cwd: tempDir(), env: emulatorEnv(DEAD_ENDPOINT) });
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as PolicyDocument;
}

/**
 * The ARN a call acts on, where the policy scopes that service by name (IAM, Logs, ECR, ELB);
 * undefined elsewhere (those statements are on "*" or conditioned on tags).
 */
function resourceOf(call: TraceRecord): string | undefined {
  const input = (call.input ?? {}) as Record<string, unknown>;
  const text = (key: string): string | undefined => (typeof input[key] === 'string' ? (input[key] as string) : undefined);
  const where = 'us-east-1:123456789012';
  switch (call.service) {
    case 'IAM': {
      // ECS's service-linked role lives under a path the calls do not name.
      const ecsServiceLinkedRole = 'arn:aws:iam::123456789012:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS';
      if (input.AWSServiceName === 'ecs.amazonaws.com') return ecsServiceLinkedRole;
      const role = text('RoleName');
      if (role === undefined) return undefined;
      return /^AWSServiceRoleForECS$/i.test(role) ? ecsServiceLinkedRole : `arn:aws:iam::123456789012:role/${role}`;
    }
    case 'CloudWatchLogs':
      return text('resourceArn') ?? (text('logGroupName') ? `arn:aws:logs:${where}:log-group:${text('logGroupName')}` : undefined);
    case 'ECR':
      return text('resourceArn') ?? (text('repositoryName') ? `arn:aws:ecr:${where}:repository/${text('repositoryName')}` : undefined);
    case 'ElasticLoadBalancingV2':
      return text('ListenerArn') ?? text('TargetGroupArn') ?? text('LoadBalancerArn');
    default:
      return undefined;
  }
}

/** The recorded calls the policy does not allow, as "action on resource", each named once. */
export function notAllowed(policy: PolicyDocument, calls: TraceRecord[]): string[] {
  const denied = calls
    // GetCallerIdentity is always allowed: it needs no permission.
    .filter((c) => !(c.service === 'STS' && c.operation === 'GetCallerIdentity'))
    .map((c) => ({ action: iamActionFor(c.service, c.operation), resource: resourceOf(c) }))
    .filter(({ action, resource }) => !allows(policy, action, resource))
    .map(({ action, resource }) => (resource ? `${action} on ${resource}` : action));
  return [...new Set(denied)].sort();
}

