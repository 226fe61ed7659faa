/**
 * `ecs-ha logs`, `ecs-ha status` and `ecs-ha scale N` end to end on the local data plane, on one
 * `up --local` (a stack costs about 10 s to make and remove):
 * - logs: the lines the app's gunicorn processes wrote, shipped by the plane to the log group in
 *   moto, each prefixed by its task and the AZ ECS gives that task; --json, --task, --since, and
 *   --follow printing a request made after it started, until SIGINT;
 * - status: the screen (text, --json, --watch) against what the plane's ECS reports;
 * - scale: to three tasks over the three zones, and autoscaling's range as moto holds it, read and enforced.
 * The logs tests run first: they read the two tasks the stack started with.
 */
import { PutScalingPolicyCommand, RegisterScalableTargetCommand } from '@aws-sdk/client-application-auto-scaling';
import { DescribeTasksCommand, ListTasksCommand } from '@aws-sdk/client-ecs';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isMutatingOperation } from '../../src/aws/clients.js';
import type { LogLineJson as JsonLine } from '../../src/logs/format.js';
import type { StackStatus } from '../../src/status/gather.js';
import { CLI, localEnv, readTrace, runCli, tempDir } from './harness.js';
import { emulatorClients } from './inventory.js';

const STACK = 'status-scale';
const TEXT_LINE = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z) ([0-9a-f]{8}) (\S+)\s+(.*)$/;


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


describe('logs, status and scale on the local data plane', () => {
  const cwd = tempDir();
  const env = localEnv();
  let url = '';
  let aws: ReturnType<typeof emulatorClients>;

  /** Where each task the plane runs for the service is, as ECS (the plane) reports it. */
  const zonesOfTasks = async (): Promise<string[]> => {
    const { taskArns = [] } = await aws.ecs.send(new ListTasksCommand({ cluster: STACK, serviceName: STACK }));
    const { tasks = [] } = await aws.ecs.send(new DescribeTasksCommand({ cluster: STACK, tasks: taskArns }));
    return tasks.map((t) => t.availabilityZone ?? '').sort();
  };
  const statusJson = async (): Promise<StackStatus> => {
    const status = await runCli(['status', '--local', '--stack', STACK, '--json'], { cwd, env });
    expect(status.code, status.stderr).toBe(0);
    return JSON.parse(status.stdout) as StackStatus;
  };

  beforeAll(async () => {
    const up = await runCli(['up', '--local', '--stack', STACK, '--json'], { cwd, env, timeoutMs: 120_000 });
    expect(up.code, up.stderr).toBe(0);
    url = JSON.parse(up.stdout).url;
    const emulator = JSON.parse(readFileSync(join(cwd, '.ecs-ha', `${STACK}.emulator.json`), 'utf8')) as { endpointUrl: string };
    aws = emulatorClients(emulator.endpointUrl);
  });

  afterAll(async () => {
    await runCli(['down', '--local', '--stack', STACK], { cwd, env });
  });

  describe('logs', () => {
    /** Task ID → AZ, as ECS (the plane) describes the running tasks. */
    const zoneOfTask = new Map<string, string>();
    /** A time after every task had booted, before any request of these tests. */
    let afterBoot = '';
    /** Made once, then looked for by several tests. */
    const marker = `logs-e2e-${Math.random().toString(36).slice(2, 10)}`;
    const logs = (...args: string[]) => runCli(['logs', '--local', '--stack', STACK, ...args], { cwd, env });

    beforeAll(async () => {
      const { taskArns = [] } = await aws.ecs.send(new ListTasksCommand({ cluster: STACK, serviceName: STACK }));
      const { tasks = [] } = await aws.ecs.send(new DescribeTasksCommand({ cluster: STACK, tasks: taskArns }));
      for (const task of tasks) zoneOfTask.set(task.taskArn!.split('/').pop()!, task.availabilityZone!);
      expect(zoneOfTask.size).toBe(2);
      await new Promise((done) => setTimeout(done, 20));
      afterBoot = new Date().toISOString();
      expect((await fetch(`${url}/?marker=${marker}`)).status).toBe(200);
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
      expect(unknown.stderr).toContain(`invalid --task "ffffffff": no such task has written to the log group /ecs/${STACK}`);
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
        await waitUntil('logs --follow to start following', () => stderr.includes(`following /ecs/${STACK}`));
        const late = `follow-${Math.random().toString(36).slice(2, 10)}`;
        expect((await fetch(`${url}/?marker=${late}`)).status).toBe(200);
        await waitUntil('the new request to be printed', () => stdout.includes(late));
        // Two more polls: the line must not come again.
        await new Promise((done) => setTimeout(done, 4_500));
        expect(stdout.split('\n').filter((line) => line.includes(late))).toHaveLength(1);
        child.kill('SIGINT');
        const { code } = await closed;
        expect(code, stderr).toBe(130);
        expect(stderr).toContain(`interrupted: stopped following /ecs/${STACK}`);
      } finally {
        clearTimeout(killer);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    });
  });

  it('status: the URL, the service, the tasks per AZ with their health; the trace holds read calls only', async () => {
    const trace = join(cwd, 'status.jsonl');
    const started = Date.now();
    const status = await runCli(['status', '--local', '--stack', STACK, '--trace', trace], { cwd, env });
    const wallMs = Date.now() - started;
    expect(status.code, status.stderr).toBe(0);

    const zones = await zonesOfTasks();
    expect(zones).toHaveLength(2);
    expect(status.stdout).toContain(`URL:         ${url}`);
    expect(status.stdout).toMatch(/^Service: {5}status-scale ACTIVE: 2 desired, 2 running, 0 pending; strategy ROLLING/m);
    expect(status.stdout).toMatch(/^ {4}PRIMARY COMPLETED {2}status-scale:1 {2}2\/2 running/m);
    expect(status.stdout).toMatch(/^Tasks: {7}2 tasks in 2 of 3 AZs, 2 healthy$/m);
    for (const zone of zones) expect(status.stdout).toMatch(new RegExp(`^ {4}${zone} {2}1 task, 1 healthy\\n {6}[0-9a-f]{32} {2}RUNNING {2}127\\.\\d+\\.\\d+\\.\\d+ {2}healthy$`, 'm'));
    expect(status.stdout).toMatch(/^Targets: {5}2 targets: 2 healthy$/m);
    expect(status.stdout).toMatch(/^Cloud Map: {3}app\.status-scale\.local: 2 instances, 2 HEALTHY$/m);
    expect(status.stdout).toContain('Autoscaling: off (no scalable target for service/status-scale/status-scale)');
    expect(status.stdout).toMatch(/^Cost: {8}on AWS this stack would cost about \$0\.\d+\/hour .*: estimate at us-east-1/m);

    const calls = readTrace(trace);
    expect(new Set(calls.map((c) => c.operation))).toEqual(
      new Set(['GetCallerIdentity', 'DescribeServices', 'DescribeTaskDefinition', 'ListTasks', 'DescribeTasks', 'DescribeTargetHealth', 'ListInstances', 'GetInstancesHealthStatus', 'DescribeScalableTargets']),
    );
    expect(calls.filter((c) => isMutatingOperation(c.operation))).toEqual([]);
    // One screen in about a second on this machine (Node start-up included); far below this bound.
    expect(wallMs).toBeLessThan(10_000);
  });

  it('status --json: one document whose tasks per AZ are where ECS runs them', async () => {
    const status = await statusJson();
    const byZone = Object.fromEntries((status.tasks?.zones ?? []).map((z) => [z.zone, z.tasks.length]));

    expect(status.url).toBe(url);
    expect(status.service).toMatchObject({ desired: 2, running: 2, pending: 0, strategy: 'ROLLING' });
    expect(Object.keys(byZone)).toEqual(['us-east-1a', 'us-east-1b', 'us-east-1c']);
    expect(Object.entries(byZone).flatMap(([zone, n]) => Array<string>(n).fill(zone))).toEqual(await zonesOfTasks());
    expect(status.cost).toMatchObject({ estimate: true, tasks: 2 });
    expect(status.unavailable).toEqual([]);
  });

  it('scale 0 and scale abc: exit 2 before any AWS call', async () => {
    for (const bad of ['0', 'abc']) {
      const trace = join(cwd, `scale-${bad}.jsonl`);
      const scale = await runCli(['scale', bad, '--local', '--stack', STACK, '--trace', trace], { cwd, env });
      expect(scale.code).toBe(2);
      expect(scale.stderr).toContain(`error: invalid N (the desired count) "${bad}": expected a whole number from 1 to 100`);
      expect(existsSync(trace)).toBe(false);
    }
  });

  it('scale 3: three healthy tasks, one in each zone, and status shows them', async () => {
    const scale = await runCli(['scale', '3', '--local', '--stack', STACK, '--json'], { cwd, env, timeoutMs: 60_000 });
    expect(scale.code, scale.stderr).toBe(0);
    const result = JSON.parse(scale.stdout);
    expect(result).toMatchObject({ previousDesired: 2, desired: 3, changed: true, health: { runningCount: 3, healthyTargets: 3 } });
    expect(result.zones).toEqual(['us-east-1a', 'us-east-1b', 'us-east-1c'].map((zone) => ({ zone, tasks: 1, healthy: 1 })));
    expect(await zonesOfTasks()).toEqual(['us-east-1a', 'us-east-1b', 'us-east-1c']);

    const status = await statusJson();
    expect(status.service).toMatchObject({ desired: 3, running: 3, pending: 0 });
    expect(status.tasks?.zones.map((z) => [z.zone, z.tasks.length, z.healthy])).toEqual([
      ['us-east-1a', 1, 1],
      ['us-east-1b', 1, 1],
      ['us-east-1c', 1, 1],
    ]);
    expect(status.targets?.map((t) => t.state)).toEqual(['healthy', 'healthy', 'healthy']);
    expect(status.cost?.tasks).toBe(3);
  });

  it('with a scalable target: status shows its range and policy, and scale outside the range is refused with it', async () => {
    const resource = { ServiceNamespace: 'ecs', ResourceId: `service/${STACK}/${STACK}`, ScalableDimension: 'ecs:service:DesiredCount' } as const;
    await aws.autoScaling.send(new RegisterScalableTargetCommand({ ...resource, MinCapacity: 2, MaxCapacity: 3 }));
    await aws.autoScaling.send(
      new PutScalingPolicyCommand({
        ...resource,
        PolicyName: 'cpu70',
        PolicyType: 'TargetTrackingScaling',
        TargetTrackingScalingPolicyConfiguration: { TargetValue: 70, PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' } },
      }),
    );

    const status = await statusJson();
    expect(status.autoScaling).toMatchObject({ enabled: true, min: 2, max: 3, policies: [{ name: 'cpu70', type: 'TargetTrackingScaling', tracks: 'ECSServiceAverageCPUUtilization 70' }] });

    const trace = join(cwd, 'scale-refused.jsonl');
    const scale = await runCli(['scale', '4', '--local', '--stack', STACK, '--trace', trace], { cwd, env });
    expect(scale.code).toBe(2);
    expect(scale.stderr).toContain(`error: invalid N 4: autoscaling keeps service ${STACK} between 2 and 3 tasks`);
    expect(readTrace(trace).filter((c) => isMutatingOperation(c.operation))).toEqual([]);
  });

  it('status --watch redraws until Ctrl-C, then exits 0', async () => {
    const child = spawn(process.execPath, [CLI, 'status', '--watch', '--interval', '1', '--local', '--stack', STACK], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const closed = new Promise<number | null>((done) => child.on('close', (code) => done(code)));
    const screens = (): number => stdout.match(/^Stack "status-scale" in us-east-1/gm)?.length ?? 0;
    const deadline = Date.now() + 20_000;
    while (screens() < 2 && Date.now() < deadline) await new Promise((done) => setTimeout(done, 100));
    child.kill('SIGINT');
    const code = await closed;

    expect(screens(), stderr).toBeGreaterThanOrEqual(2);
    expect(code, stderr).toBe(0);
    // Each screen is whole: as many task-count lines as screens.
    expect(stdout.match(/^Tasks: {7}3 tasks in 3 of 3 AZs, 3 healthy$/gm)?.length).toBe(screens());
  });
});
