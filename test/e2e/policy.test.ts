/**
 * `ecs-ha policy` against what the commands really call: the end-to-end commands run with one
 * shared --trace, and every (service, operation) in it must be an IAM action the printed policy
 * allows, on the resource it named where the policy scopes by name. The policy is read from the
 * built CLI's stdout, as a user would get it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TraceRecord } from '../../src/aws/clients.js';
import { allows, iamActionFor, type PolicyDocument } from '../../src/policy/policy.js';
import { emulatorEnv, emulatorPerFile, localEnv, PREBUILT_IMAGE, readTrace, runCli, tempDir } from './harness.js';

// Nothing listens here: a call that reached it would fail, and the trace would record it.
const DEAD_ENDPOINT = 'http://127.0.0.1:9';

const emulator = emulatorPerFile();

async function printedPolicy(): Promise<PolicyDocument> {
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
function notAllowed(policy: PolicyDocument, calls: TraceRecord[]): string[] {
  const denied = calls
    // GetCallerIdentity is always allowed: it needs no permission.
    .filter((c) => !(c.service === 'STS' && c.operation === 'GetCallerIdentity'))
    .map((c) => ({ action: iamActionFor(c.service, c.operation), resource: resourceOf(c) }))
    .filter(({ action, resource }) => !allows(policy, action, resource))
    .map(({ action, resource }) => (resource ? `${action} on ${resource}` : action));
  return [...new Set(denied)].sort();
}

async function runAll(runs: string[][], options: { cwd: string; env: NodeJS.ProcessEnv; trace: string }): Promise<void> {
  for (const args of runs) {
    const result = await runCli([...args, '--trace', options.trace], { cwd: options.cwd, env: options.env, timeoutMs: 120_000 });
    expect(result.code, `ecs-ha ${args.join(' ')}: ${result.stderr}`).toBe(0);
  }
}

describe('ecs-ha policy', () => {
  it('prints the policy as JSON without credentials and without any AWS call', async () => {
    const cwd = tempDir();
    const trace = join(cwd, 'trace.jsonl');
    const env = emulatorEnv(DEAD_ENDPOINT);
    delete env.AWS_ACCESS_KEY_ID;
    delete env.AWS_SECRET_ACCESS_KEY;
    delete env.AWS_REGION;
    env.AWS_CONFIG_FILE = join(cwd, 'none');
    env.AWS_SHARED_CREDENTIALS_FILE = join(cwd, 'none');
    env.ECS_HA_TRACE = trace;

    const plain = await runCli(['policy'], { cwd, env });
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stderr).toBe('');
    expect(plain.stdout).toMatch(/^\{\n {2}"Version": "2012-10-17",\n {2}"Statement": \[/);
    const json = await runCli(['policy', '--json'], { cwd, env });
    expect(json.stdout).toBe(plain.stdout);
    expect(existsSync(trace)).toBe(false);
    expect(existsSync(join(cwd, '.ecs-ha'))).toBe(false);
  });

  it('--stack scopes the names; a bad stack name exits 2', async () => {
    const cwd = tempDir();
    const env = emulatorEnv(DEAD_ENDPOINT);
    const scoped = await runCli(['policy', '--stack', 'shop'], { cwd, env });
    expect(scoped.code, scoped.stderr).toBe(0);
    expect(scoped.stdout).toContain('"arn:aws:iam::*:role/shop-*-task-execution"');
    expect(scoped.stdout).toContain('"arn:aws:logs:*:*:log-group:/ecs/shop"');
    expect(scoped.stdout).toContain('"arn:aws:ecr:*:*:repository/shop"');
    const bad = await runCli(['policy', '--stack', 'Bad_Name'], { cwd, env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('invalid --stack "Bad_Name"');
  });

  it('allows every call of up, verify, chaos and down on the local data plane', async () => {
    const policy = await printedPolicy();
    const cwd = tempDir();
    const trace = join(cwd, 'trace.jsonl');
    const stack = ['--local', '--stack', 'pol'];
    const options = { cwd, env: localEnv(), trace };
    try {
      await runAll([['up', ...stack], ['verify', ...stack], ['chaos', '--kill-one', ...stack, '--baseline', '1', '--settle', '1']], options);
    } finally {
      // Whatever failed above: the local plane's processes must not outlive the test.
      await runAll([['down', ...stack]], options);
    }

    const calls = readTrace(trace);
    // The trace must hold each command's work, or an empty trace would pass.
    const operations = new Set(calls.map((c) => `${c.service}:${c.operation}`));
    for (const expected of ['ECS:CreateService', 'IAM:CreateRole', 'ServiceDiscovery:CreatePrivateDnsNamespace', 'ElasticLoadBalancingV2:DescribeTargetHealth', 'ECS:StopTask', 'ECS:DeleteCluster']) {
      expect(operations, expected).toContain(expected);
    }
    const missing = notAllowed(policy, calls);
    expect(missing, `calls the printed policy does not allow: ${missing.join(', ')}`).toEqual([]);
  }, 240_000);

  it('allows every call of up --image --no-wait and down against plain moto (no Docker, no wait)', async () => {
    const policy = await printedPolicy();
    const cwd = tempDir();
    const trace = join(cwd, 'trace.jsonl');
    const env = emulatorEnv(emulator().endpoint);
    await runAll(
      [
        ['up', '--stack', 'pol2', '--image', PREBUILT_IMAGE, '--no-wait'],
        ['down', '--stack', 'pol2'],
      ],
      { cwd, env, trace },
    );

    const calls = readTrace(trace);
    expect(calls.some((c) => c.operation === 'DeleteLoadBalancer')).toBe(true);
    const missing = notAllowed(policy, calls);
    expect(missing, `calls the printed policy does not allow: ${missing.join(', ')}`).toEqual([]);
  });
});
