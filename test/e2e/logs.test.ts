/**
 * `ecs-ha logs` on the local data plane: the lines the app's gunicorn processes wrote, shipped by
 * the plane to the log group in moto, each prefixed by its task and the AZ ECS gives that task;
 * --json, --task, --since, and --follow printing a request made after it started, until SIGINT.
 */
import { DescribeTasksCommand, ListTasksCommand } from '@aws-sdk/client-ecs';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, localEnv, runCli, tempDir } from './harness.js';
import { emulatorClients } from './inventory.js';

const STACK = 'logs-e2e';
const TEXT_LINE = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z) ([0-9a-f]{8}) (\S+)\s+(.*)$/;

interface JsonLine {
  time: string;
  task: string;
  az: string | null;
  container: string | null;
  stream: string;
  message: string;
}

async function waitUntil(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 250));
  }
}

describe('logs: bad input', () => {
  it.each([
    [['--since', '5x'], 'error: invalid --since "5x": expected a duration such as 30s, 10m, 1h, 2d or 1w, or an ISO 8601 time'],
    [['--task', 'web-1'], 'error: invalid --task "web-1": expected a task ID'],
  ])('%j is refused with exit 2 before any AWS call', async (args, message) => {
    const cwd = tempDir();
    const trace = join(cwd, 'trace.jsonl');
    const result = await runCli(['logs', '--local', '--stack', STACK, '--trace', trace, ...args], { cwd, env: localEnv() });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stdout).toBe('');
    expect(existsSync(trace)).toBe(false);
  });
});

describe('logs on the local data plane', () => {
  const cwd = tempDir();
  const env = localEnv();
  let url = '';
  let aws: ReturnType<typeof emulatorClients>;
  /** Task ID → AZ, as ECS (the plane) describes the running tasks. */
  const zoneOfTask = new Map<string, string>();
  /** A time after every task had booted, before any request of these tests. */
  let afterBoot = '';
  /** Made once, then looked for by several tests. */
  const marker = `logs-e2e-${Math.random().toString(36).slice(2, 10)}`;

  const logs = (...args: string[]) => runCli(['logs', '--local', '--stack', STACK, ...args], { cwd, env });

  beforeAll(async () => {
    const up = await runCli(['up', '--local', '--stack', STACK, '--json'], { cwd, env, timeoutMs: 120_000 });
    expect(up.code, up.stderr).toBe(0);
    url = JSON.parse(up.stdout).url;
    const info = JSON.parse(readFileSync(join(cwd, '.ecs-ha', `${STACK}.emulator.json`), 'utf8')) as { endpointUrl: string };
    aws = emulatorClients(info.endpointUrl);
    const { taskArns = [] } = await aws.ecs.send(new ListTasksCommand({ cluster: STACK, serviceName: STACK }));
    const { tasks = [] } = await aws.ecs.send(new DescribeTasksCommand({ cluster: STACK, tasks: taskArns }));
    for (const task of tasks) zoneOfTask.set(task.taskArn!.split('/').pop()!, task.availabilityZone!);
    expect(zoneOfTask.size).toBe(2);
    await new Promise((done) => setTimeout(done, 20));
    afterBoot = new Date().toISOString();
    expect((await fetch(`${url}/?marker=${marker}`)).status).toBe(200);
  });

  afterAll(async () => {
    await runCli(['down', '--local', '--stack', STACK], { cwd, env });
  });

  it('shows the lines the app wrote, oldest first, each prefixed by its short task ID and its AZ', async () => {
    let stdout = '';
    // The plane ships output about once a second.
    await waitUntil('the request to reach the log group', async () => {
      const result = await logs();
      expect(result.code, result.stderr).toBe(0);
      stdout = result.stdout;
      return stdout.includes(marker);
    });
    const lines = stdout.trimEnd().split('\n');
    const parsed = lines.map((line) => {
      const match = TEXT_LINE.exec(line);
      expect(match, line).not.toBeNull();
      return { time: match![1]!, short: match![2]!, az: match![3]!, message: match![4]! };
    });
    // Every line is from one of the service's tasks, with the AZ ECS gives that task.
    const zoneOfShort = new Map([...zoneOfTask].map(([id, az]) => [id.slice(0, 8), az]));
    for (const line of parsed) expect(line.az, line.short).toBe(zoneOfShort.get(line.short));
    expect(new Set(parsed.map((l) => l.short))).toEqual(new Set(zoneOfShort.keys()));
    // gunicorn's error log (boot) and access log (the request) both arrive.
    expect(parsed.filter((l) => /\[INFO\] Booting worker with pid/.test(l.message)).length).toBeGreaterThanOrEqual(2);
    expect(parsed.some((l) => l.message.includes(`"GET /?marker=${marker} HTTP/1.1" 200`))).toBe(true);
    const times = parsed.map((l) => l.time);
    expect(times).toEqual([...times].sort());
  });

  it('--json prints one object a line; --task keeps only that task\'s lines', async () => {
    const all = await logs('--json');
    expect(all.code, all.stderr).toBe(0);
    const lines = all.stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as JsonLine);
    for (const line of lines) {
      expect(line.az).toBe(zoneOfTask.get(line.task));
      expect(line).toMatchObject({ container: 'app', stream: `ecs/app/${line.task}` });
      expect(typeof line.message).toBe('string');
    }
    const [first, second] = [...zoneOfTask.keys()];
    expect(lines.some((l) => l.task === second)).toBe(true);

    const one = await logs('--json', '--task', first!.slice(0, 8));
    expect(one.code, one.stderr).toBe(0);
    const own = one.stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as JsonLine);
    expect(own.length).toBeGreaterThan(0);
    expect(new Set(own.map((l) => l.task))).toEqual(new Set([first]));

    const unknown = await logs('--task', 'ffffffff');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('invalid --task "ffffffff": no such task has written to the log group /ecs/logs-e2e');
  });

  it('--since a time after boot leaves out the boot lines and keeps the request', async () => {
    const recent = await logs('--since', afterBoot);
    expect(recent.code, recent.stderr).toBe(0);
    expect(recent.stdout).toContain(`/?marker=${marker}`);
    expect(recent.stdout).not.toContain('Booting worker');
    for (const line of recent.stdout.trimEnd().split('\n')) expect(TEXT_LINE.exec(line)![1]! >= afterBoot, line).toBe(true);

    const wide = await logs('--since', '1h');
    expect(wide.stdout).toContain('Booting worker');
  });

  it('--follow prints a request made after it started, once, and ends on SIGINT with exit 130', async () => {
    const child = spawn(process.execPath, [CLI, 'logs', '--local', '--stack', STACK, '--follow', '--since', '1s'], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => child.on('close', (code, signal) => done({ code, signal })));
    const killer = setTimeout(() => child.kill('SIGKILL'), 45_000);
    try {
      await waitUntil('logs --follow to start following', () => stderr.includes('following /ecs/logs-e2e'));
      const late = `follow-${Math.random().toString(36).slice(2, 10)}`;
      expect((await fetch(`${url}/?marker=${late}`)).status).toBe(200);
      await waitUntil('the new request to be printed', () => stdout.includes(late));
      // Two more polls: the line must not come again.
      await new Promise((done) => setTimeout(done, 4_500));
      expect(stdout.split('\n').filter((line) => line.includes(late))).toHaveLength(1);
      child.kill('SIGINT');
      const { code } = await closed;
      expect(code, stderr).toBe(130);
      expect(stderr).toContain('interrupted: stopped following /ecs/logs-e2e');
    } finally {
      clearTimeout(killer);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
