import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, emulatorEnv, runCli, tempDir } from './harness.js';

// Nothing listens here: a call that reached it would fail, and the trace would record it.
const DEAD_ENDPOINT = 'http://127.0.0.1:9';

describe('command line', () => {
  it('lists every command and, for each, its options with their defaults', async () => {
    const cwd = tempDir();
    const env = emulatorEnv(DEAD_ENDPOINT);
    const top = await runCli(['--help'], { cwd, env });
    expect(top.code).toBe(0);
    for (const command of ['up', 'down', 'verify', 'chaos', 'policy']) expect(top.stdout).toMatch(new RegExp(`^  ${command} \\[options\\]`, 'm'));
    // The options every command takes, and three examples, on the first screen a newcomer sees.
    expect(top.stdout).toContain('Options every command takes');
    for (const option of ['--stack <name>', '--local', '--region, --profile', '--json']) expect(top.stdout).toContain(option);
    expect(top.stdout.split('Examples:')[1]?.trim().split('\n')).toHaveLength(3);
    const up = await runCli(['up', '--help'], { cwd, env });
    expect(up.code).toBe(0);
    for (const text of ['--stack <name>', '(default: "ecs-ha")', '--count <n>', '(default: 2)', '--cpu <units>', '(default: 256)', '--memory <mib>', '(default: 512)', '--arch', 'default: "amd64"', '--image <uri>', '--no-wait', '--local', '--json', '--region', '--profile', '--endpoint-url', '--state-dir']) {
      expect(up.stdout).toContain(text);
    }
    expect(up.stdout).not.toMatch(/default: "\d+"/); // numbers print as numbers
    const down = await runCli(['down', '--help'], { cwd, env });
    expect(down.stdout).toContain('--yes');
    expect(down.stdout).toContain('--stack <name>');
  });

  it('a reader that goes away before the output (`ecs-ha --help | head -0`) ends it quietly: exit 0, no EPIPE trace', async () => {
    const child = spawn(process.execPath, [CLI, '--help'], { cwd: tempDir(), env: emulatorEnv(DEAD_ENDPOINT), stdio: ['ignore', 'pipe', 'pipe'] });
    // Closed before the CLI has even started: its first write to stdout finds no reader.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });

  it('suggests the nearest command for an unknown one (exit 2)', async () => {
    const result = await runCli(['verfy'], { cwd: tempDir(), env: emulatorEnv(DEAD_ENDPOINT) });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("unknown command 'verfy'");
    expect(result.stderr).toContain('(Did you mean verify?)');
  });

  it.each([
    [['up', '--stack', 'Bad_Name'], 'invalid --stack "Bad_Name"'],
    [['up', '--stack', 'a-very-long-stack-name-over-the-limit'], 'at most 28 allowed'],
    [['up', '--count', '0'], 'invalid --count "0"'],
    [['up', '--count', 'two'], 'invalid --count "two"'],
    [['up', '--cpu', '256', '--memory', '4096'], 'invalid --memory 4096 for --cpu 256'],
    [['up', '--cpu', '300'], 'invalid --cpu 300'],
    [['up', '--region', 'narnia'], 'invalid --region "narnia"'],
    [['up', '--log-retention', '10'], 'invalid --log-retention "10"'],
    [['up', '--vpc-id', 'vpc-xyz'], 'invalid --vpc-id "vpc-xyz"'],
    [['up', '--timeout', '-5'], 'invalid --timeout "-5"'],
    [['down', '--stack', 'UPPER'], 'invalid --stack "UPPER"'],
    [['up', '--arch', 'sparc'], "argument 'sparc' is invalid"],
    [['up', '--bogus'], "unknown option '--bogus'"],
    [['up', '--endpoint-url', 'localhost:4566'], 'invalid --endpoint-url "localhost:4566"'],
    [['up', '--local', '--endpoint-url', 'http://127.0.0.1:4566'], '--local and --endpoint-url cannot be used together'],
    [['up', '--local', '--region', 'eu-west-1'], 'invalid --region "eu-west-1" with --local: the local emulator answers for us-east-1 only'],
    [['up', '--image', '-rm'], 'invalid --image "-rm"'],
    [['up', '--execution-role', 'role with spaces'], 'invalid --execution-role "role with spaces"'],
    [['up', '--app-version', 'v 1'], 'invalid --app-version "v 1"'],
    [['up', '--concurrency', '0'], 'invalid --concurrency "0"'],
    [['up', '--memory', '1536', '--cpu', '512'], 'invalid --memory 1536 for --cpu 512'],
    [['down', '--timeout', 'soon'], 'invalid --timeout "soon"'],
    [['verify', '--requests', '0'], 'invalid --requests "0"'],
    [['verify', '--timeout', 'x'], 'invalid --timeout "x"'],
    [['chaos', '--kill-one', '--kill-az', 'us-east-1a'], '--kill-one and --kill-az cannot be used together'],
    [['chaos'], 'say what to stop'],
    [['chaos', '--kill-az', 'east'], 'invalid --kill-az "east"'],
    [['chaos', '--kill-one', '--task', 'not a task'], 'invalid --task "not a task"'],
    [['chaos', '--kill-az', 'us-east-1a', '--task', 'abc'], '--task can only be used with --kill-one'],
    [['chaos', '--kill-one', '--rps', '0'], 'invalid --rps "0"'],
    [['chaos', '--kill-one', '--baseline', '-1'], 'invalid --baseline "-1"'],
    [['chaos', '--kill-one', '--settle', 'later'], 'invalid --settle "later"'],
    [['chaos', '--kill-one', '--timeout', '0'], 'invalid --timeout "0"'],
    [['chaos', '--kill-one', '--max-failures', '-1'], 'invalid --max-failures "-1"'],
  ])('refuses %j with exit 2 before any AWS call', async (args, message) => {
    const cwd = tempDir();
    const trace = join(cwd, 'trace.jsonl');
    const result = await runCli([...args, '--trace', trace], { cwd, env: emulatorEnv(DEAD_ENDPOINT) });
    expect(result.stderr).toContain(message);
    expect(result.code).toBe(2);
    expect(existsSync(trace)).toBe(false);
  });

  it('exits 3 with a hint when there are no credentials', async () => {
    const cwd = tempDir();
    const env = emulatorEnv(DEAD_ENDPOINT);
    delete env.AWS_ACCESS_KEY_ID;
    delete env.AWS_SECRET_ACCESS_KEY;
    env.AWS_CONFIG_FILE = join(cwd, 'none');
    env.AWS_SHARED_CREDENTIALS_FILE = join(cwd, 'none');
    const result = await runCli(['up', '--image', 'example/app:1'], { cwd, env });
    expect(result.stderr).toContain('no usable AWS credentials');
    expect(result.stderr).toContain('--local');
    expect(result.code).toBe(3);
  });

  it('exits 3 with "cannot reach the AWS endpoint" when nothing listens there, and never prints a stack trace', async () => {
    const cwd = tempDir();
    const result = await runCli(['verify'], { cwd, env: emulatorEnv(DEAD_ENDPOINT) });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(`error: cannot reach the AWS endpoint ${DEAD_ENDPOINT}: connect ECONNREFUSED`);
    expect(result.stderr).toContain('hint: check --endpoint-url or AWS_ENDPOINT_URL');
    expect(result.stderr).not.toMatch(/^\s+at /m);
    const debug = await runCli(['verify', '--debug'], { cwd, env: emulatorEnv(DEAD_ENDPOINT) });
    expect(debug.code).toBe(3);
    expect(debug.stderr).toMatch(/^\s+at /m);
  });

  it('exits 3 when the endpoint is a web server that is not AWS', async () => {
    const server = createServer((_req, res) => res.end('<html><head><meta charset="utf-8"></head><body>It works</body></html>'));
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    try {
      const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const result = await runCli(['verify'], { cwd: tempDir(), env: emulatorEnv(endpoint) });
      expect(result.code).toBe(3);
      expect(result.stderr).toContain(`error: cannot reach the AWS endpoint ${endpoint}: it answered, but not as AWS does`);
    } finally {
      server.close();
    }
  });

  it('with --json prints a failure as one JSON document on stdout too', async () => {
    const cwd = tempDir();
    const usage = await runCli(['up', '--count', '0', '--json'], { cwd, env: emulatorEnv(DEAD_ENDPOINT) });
    expect(usage.code).toBe(2);
    expect(JSON.parse(usage.stdout)).toEqual({ error: { code: 'UsageError', message: 'invalid --count "0": expected a whole number from 1 to 100', exitCode: 2 } });
    const unreachable = await runCli(['verify', '--json'], { cwd, env: emulatorEnv(DEAD_ENDPOINT) });
    expect(JSON.parse(unreachable.stdout).error).toMatchObject({ code: 'EnvironmentError', exitCode: 3, hint: expect.stringContaining('--endpoint-url') });
  });

  it('says that an unknown --profile does not exist, and that a missing region can be --local', async () => {
    const cwd = tempDir();
    const env = emulatorEnv(DEAD_ENDPOINT);
    delete env.AWS_REGION;
    env.AWS_CONFIG_FILE = join(cwd, 'config');
    env.AWS_SHARED_CREDENTIALS_FILE = join(cwd, 'credentials');
    writeFileSync(env.AWS_CONFIG_FILE, '[default]\noutput = json\n[profile dev]\nregion = eu-west-1\n');
    const unknown = await runCli(['verify', '--profile', 'nope'], { cwd, env });
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toContain('error: the AWS profile "nope" does not exist');
    expect(unknown.stderr).toContain('profiles there: default, dev');
    const noRegion = await runCli(['verify'], { cwd, env });
    expect(noRegion.code).toBe(3);
    expect(noRegion.stderr).toContain('no AWS region is configured');
    expect(noRegion.stderr).toContain('--local');
  });

  it('down --local never deletes the state file of a stack on an AWS account (exit 2, file untouched)', async () => {
    const cwd = tempDir();
    const stateDir = join(cwd, '.ecs-ha');
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const real = JSON.stringify({ schemaVersion: 1, stack: 'ecs-ha', account: '999999999999', region: 'eu-west-1', createdAt: '2026-11-01T00:00:00.000Z', updatedAt: '2026-11-01T00:00:00.000Z', resources: { cluster: { id: 'ecs-ha', origin: 'created' } } });
    writeFileSync(join(stateDir, 'ecs-ha.json'), real, { mode: 0o600 });
    const down = await runCli(['down', '--local'], { cwd, env: emulatorEnv(DEAD_ENDPOINT) });
    expect(down.code).toBe(2);
    expect(down.stderr).toContain('is of stack "ecs-ha" in AWS account 999999999999 (eu-west-1), not of the local emulator');
    expect(down.stderr).toContain('without --local');
    expect(readFileSync(join(stateDir, 'ecs-ha.json'), 'utf8')).toBe(real);
  });
});

