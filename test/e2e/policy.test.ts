/**
 * `ecs-ha policy` against what the commands really call: the end-to-end commands run with one
 * shared --trace, and every (service, operation) in it must be an IAM action the printed policy
 * allows, on the resource it named where the policy scopes by name. The policy is read from the
 * built CLI's stdout, as a user would get it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { emulatorEnv, emulatorPerFile, PREBUILT_IMAGE, readTrace, runCli, tempDir } from './harness.js';
import { notAllowed, printedPolicy } from './policyCheck.js';

// Nothing listens here: a call that reached it would fail, and the trace would record it.
const DEAD_ENDPOINT = 'http://127.0.0.1:9';
// The calls of up, verify, chaos, a rolling deploy and down on the local data plane are checked
// against the policy in local.test.ts, on the stack that file builds anyway.

const emulator = emulatorPerFile();

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
