/**
 * The user's path on the local data plane, each command as the README's quick start runs it:
 * `up --local` (waiting), `plan --local`, `verify --local`, `chaos --kill-one --local`, a rolling
 * deployment, `down --local` — against real app processes behind the local load balancer. And the
 * negative twin that shows the prober can see a failure: a task killed behind the plane's back.
 * The zone drill (`chaos --kill-az`) has a file of its own (zoneDrill.test.ts); every call of this
 * stack's commands is checked against `ecs-ha policy` at the end.
 */
import { DescribeTasksCommand, DescribeServicesCommand, ListTasksCommand } from '@aws-sdk/client-ecs';
import { FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isProcessAlive } from '../../src/process/alive.js';
import { startProber } from '../../src/probe/prober.js';
import { isMutatingOperation } from '../../src/aws/clients.js';
import type { PlanResult } from '../../src/commands/plan.js';
import { CHANGING_ACTIONS } from '../../src/engine/plan.js';
import { CLI, downLocalAfterTest, localEnv, readTrace, runCli, runCliInterrupted, tempDir, type CliResult } from './harness.js';
import { notAllowed, printedPolicy } from './policyCheck.js';
import { counts, emulatorClients, inventory, ONE_OF_EACH } from './inventory.js';

const STACK = 'ha';

interface PlaneFiles {
  info: { pid: number; motoPid: number; endpointUrl: string; motoUrl: string };
  taskPids: number[];
}

function planeFiles(cwd: string, stack: string): PlaneFiles {
  const info = JSON.parse(readFileSync(join(cwd, '.ecs-ha', `${stack}.emulator.json`), 'utf8')) as PlaneFiles['info'];
  const tasksPath = join(cwd, '.ecs-ha', `${stack}.tasks.json`);
  const tasks = existsSync(tasksPath) ? (JSON.parse(readFileSync(tasksPath, 'utf8')) as { tasks: Array<{ pid: number }> }).tasks : [];
  return { info, taskPids: tasks.map((t) => t.pid) };
}

/** Every process of the local world: the plane, moto, and each task's process group. */
function processesOf(files: PlaneFiles): number[] {
  return [files.info.pid, files.info.motoPid, ...files.taskPids];
}

/** Addresses the given processes listen on (TCP), from `ss`. */
function listeningAddresses(pids: number[]): string[] {
  const out = execFileSync('ss', ['-H', '-ltnp'], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((line) => pids.some((pid) => line.includes(`pid=${pid},`)))
    .map((line) => line.trim().split(/\s+/)[3] ?? '');
}

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 250));
  }
}

describe('the local data plane, end to end', () => {
  const cwd = tempDir();
  // Every command on this stack appends its AWS calls here: the policy check at the end reads them.
  const calls = join(cwd, 'calls.jsonl');
  const env = { ...localEnv(), ECS_HA_TRACE: calls };
  let url = '';
  let aws: ReturnType<typeof emulatorClients>;
  let seenPids: number[] = [];

  const steady = async (): Promise<boolean> => {
    const { services = [] } = await aws.ecs.send(new DescribeServicesCommand({ cluster: STACK, services: [STACK] }));
    const s = services[0];
    return s?.runningCount === 2 && s.pendingCount === 0 && s.deployments?.length === 1 && s.deployments[0]?.rolloutState === 'COMPLETED';
  };
  const remember = (): void => {
    seenPids = [...new Set([...seenPids, ...processesOf(planeFiles(cwd, STACK))])];
  };

  /** What `up --local` printed, for the test that looks at it. */
  let up: CliResult;

  beforeAll(async () => {
    up = await runCli(['up', '--local', '--stack', STACK, '--json'], { cwd, env, timeoutMs: 120_000 });
    expect(up.code, up.stderr).toBe(0);
    url = JSON.parse(up.stdout).url;
    aws = emulatorClients(planeFiles(cwd, STACK).info.endpointUrl);
    remember();
  });

  afterAll(async () => {
    // Whatever happened above: nothing of the local world may outlive the tests.
    await runCli(['down', '--local', '--stack', STACK], { cwd, env });
  });

  it('up --local (the README main job) started its own emulator, built the stack with an ECR repository and an image tag, and says what next', async () => {
    expect(up.stderr).toContain('started the local AWS emulator');
    expect(up.stderr).toMatch(/Docker is skipped/);
    const result = JSON.parse(up.stdout);
    expect(result.waited).toBe(true);
    expect(result.next).toEqual(['ecs-ha verify --local', 'ecs-ha chaos --kill-one --local', 'ecs-ha down --local']);
    expect(result.cost.perHour).toBeGreaterThan(0.05);
    expect(result.resources.repository.origin).toBe('created');
    expect(result.resources.image.id).toMatch(new RegExp(`\\.dkr\\.ecr\\.us-east-1\\.amazonaws\\.com/${STACK}:[0-9a-f]{12}$`));
    expect(counts(await inventory(aws, STACK))).toEqual({ ...ONE_OF_EACH, repositories: 1 });
  });

  it('up --local waited for steady and healthy, and its URL answers from the app processes', async () => {
    const state = JSON.parse(readFileSync(join(cwd, '.ecs-ha', `${STACK}.json`), 'utf8'));
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(`http://${state.resources.loadBalancer.details.dnsName}`).toBe(url);
    const answer = await (await fetch(url)).text();
    expect(answer).toMatch(/^Hello from ip-127-0-\d+-\d+ - Version 1\.0$/);
    const health = (await (await fetch(`${url}/health`)).json()) as { az: string; status: string };
    expect(health.status).toBe('healthy');
    expect(health.az).toMatch(/^us-east-1[a-f]$/);
    expect(await steady()).toBe(true);
  });

  it('plan --local after up --local: nothing to change, exit 0, read calls only', async () => {
    const trace = join(cwd, 'plan.jsonl');
    const run = await runCli(['plan', '--local', '--stack', STACK, '--json', '--trace', trace], { cwd, env });
    const plan = JSON.parse(run.stdout) as PlanResult;
    expect(run.code, JSON.stringify(plan.changes.filter((change) => CHANGING_ACTIONS.has(change.action)))).toBe(0);
    expect(plan.changes.find((change) => change.step === 'image')?.action).toBe('none');
    expect(readTrace(trace).map((call) => call.operation).filter(isMutatingOperation)).toEqual([]);
  });

  it('runs everything on loopback only', () => {
    remember();
    const addresses = listeningAddresses(seenPids);
    expect(addresses.length).toBeGreaterThanOrEqual(4); // plane endpoint, proxy, metadata, moto, tasks
    for (const address of addresses) expect(address, addresses.join(' ')).toMatch(/^127\.\d+\.\d+\.\d+:\d+$/);
  });

  it('ships the tasks output to the log group, where awslogs would put it', async () => {
    const { taskArns = [] } = await aws.ecs.send(new ListTasksCommand({ cluster: STACK, serviceName: STACK }));
    const taskId = taskArns[0]!.split('/').pop()!;
    await waitUntil('the task log stream', async () => {
      const { events = [] } = await aws.logs.send(new FilterLogEventsCommand({ logGroupName: `/ecs/${STACK}`, logStreamNames: [`ecs/app/${taskId}`] }));
      return events.some((e) => /Booting worker|Listening at/.test(e.message ?? ''));
    }, 15_000);
  });

  it('verify --local: every check OK; only autoscaling, which this stack does not have, is skipped', async () => {
    const verify = await runCli(['verify', '--local', '--stack', STACK, '--json'], { cwd, env });
    expect(verify.code, verify.stderr).toBe(0);
    const result = JSON.parse(verify.stdout) as { checks: Array<{ name: string; status: string; evidence: string }> };
    expect(result.checks).toHaveLength(11);
    for (const check of result.checks) expect(check.status, `${check.name}: ${check.evidence}`).toBe(check.name === 'autoscaling' ? 'SKIP' : 'OK');
  });

  it('chaos --kill-one --local: 0 failed requests, and a timeline that matches what the data plane did', async () => {
    const chaos = await runCli(['chaos', '--kill-one', '--local', '--stack', STACK, '--json', '--rps', '20', '--baseline', '1', '--settle', '2'], { cwd, env });
    expect(chaos.code, chaos.stderr).toBe(0);
    const report = JSON.parse(chaos.stdout);
    expect(report.passed).toBe(true);
    expect(report.userSaw.failures).toBe(0);
    expect(report.userSaw.requests).toBeGreaterThan(40);
    const victim = report.victims[0].id as string;
    const { tasks = [] } = await aws.ecs.send(new DescribeTasksCommand({ cluster: STACK, tasks: [victim] }));
    const stopped = tasks[0]!;
    expect(stopped.lastStatus).toBe('STOPPED');
    expect(stopped.stopCode).toBe('UserInitiated');
    // The report's "victim stopped" is within one poll (1 s) of the data plane's stoppedAt.
    const t0 = Date.parse(report.stopRequestedAt);
    const stoppedEvent = report.timeline.find((e: { event: string }) => e.event === 'victim stopped');
    expect(stoppedEvent).toBeDefined();
    const actual = (stopped.stoppedAt!.getTime() - t0) / 1000;
    expect(Math.abs(stoppedEvent.seconds - actual), `timeline ${stoppedEvent.seconds}s, data plane ${actual}s`).toBeLessThanOrEqual(1.2);
    expect(report.replacements).toHaveLength(1);
    remember();
  });

  it('a task killed with SIGKILL behind the data plane gives failed requests (502) until health checks take it out', async () => {
    await waitUntil('steady', steady);
    remember();
    const { taskPids } = planeFiles(cwd, STACK);
    const prober = startProber({ baseUrl: url, rps: 20 });
    await new Promise((done) => setTimeout(done, 1_000));
    process.kill(-taskPids[0]!, 'SIGKILL');
    await new Promise((done) => setTimeout(done, 5_000));
    const report = await prober.stop();
    const failed = report.records.filter((r) => r.outcome !== 'ok');
    expect(failed.length, JSON.stringify(report.summary)).toBeGreaterThan(0);
    // 502 for requests sent to the dead target; a request whose answer had begun when the process died is cut (reset), as through an ALB.
    expect(failed.some((r) => r.status === 502), failed.map((r) => r.error).join(', ')).toBe(true);
    expect(failed.every((r) => r.status === 502 || r.outcome === 'reset'), failed.map((r) => r.error).join(', ')).toBe(true);
    // The target was taken out: the last second answered without failure.
    const end = report.records[report.records.length - 1]!.startedAt;
    expect(report.records.filter((r) => r.startedAt > end - 1_000).every((r) => r.outcome === 'ok')).toBe(true);
    // ECS replaces a task whose essential container exited.
    await waitUntil('the replacement', steady);
    const { taskArns = [] } = await aws.ecs.send(new ListTasksCommand({ cluster: STACK, serviceName: STACK, desiredStatus: 'STOPPED' }));
    const { tasks = [] } = await aws.ecs.send(new DescribeTasksCommand({ cluster: STACK, tasks: taskArns }));
    expect(tasks.map((t) => t.stopCode)).toContain('EssentialContainerExited');
  });

  it('a rolling deployment (up --app-version 2): both versions answer during the rollout, none fails', async () => {
    await waitUntil('steady', steady);
    const prober = startProber({ baseUrl: url, path: '/', rps: 20 });
    const up = await runCli(['up', '--local', '--stack', STACK, '--app-version', '2', '--json'], { cwd, env, timeoutMs: 120_000 });
    await new Promise((done) => setTimeout(done, 1_000));
    const report = await prober.stop();
    expect(up.code, up.stderr).toBe(0);
    const result = JSON.parse(up.stdout);
    expect(result.steps.find((s: { step: string }) => s.step === 'service').summary).toContain('updated service');
    // The re-run says what it changed, and only that.
    expect(result.changed).toEqual([expect.stringMatching(/^registered task definition ha:2/), expect.stringMatching(/^updated service ha \(task definition\)/)]);
    expect(report.summary.failures, JSON.stringify(report.summary.failuresByKind)).toBe(0);
    expect(report.summary.versions).toEqual(['1.0', '2']);
    const versions = report.records.map((r) => r.backend?.version);
    expect(versions[0]).toBe('1.0');
    expect(versions[versions.length - 1]).toBe('2');
    expect(await steady()).toBe(true);
    // ECS's account of it: the new deployment completed after the old tasks were stopped.
    const { services = [] } = await aws.ecs.send(new DescribeServicesCommand({ cluster: STACK, services: [STACK] }));
    const events = (services[0]!.events ?? []).map((e) => e.message ?? '');
    expect(events.find((m) => m.includes('deployment completed'))).toContain(services[0]!.deployments![0]!.id!);
    expect(events.some((m) => /has stopped \d running tasks/.test(m))).toBe(true);
    remember();
  });

  it('down --local removes everything and leaves no process of the plane or of a task; a second down has nothing to remove', async () => {
    remember();
    const planeInfo = planeFiles(cwd, STACK).info;
    expect(seenPids.filter(isProcessAlive).length).toBeGreaterThan(2);
    const down = await runCli(['down', '--local', '--stack', STACK], { cwd, env });
    expect(down.code, down.stderr).toBe(0);
    expect(down.stderr).toContain('stopped the local AWS emulator');
    expect(seenPids.filter(isProcessAlive)).toEqual([]);
    expect(existsSync(join(cwd, '.ecs-ha', `${STACK}.emulator.json`))).toBe(false);
    expect(existsSync(join(cwd, '.ecs-ha', `${STACK}.tasks.json`))).toBe(false);
    expect(existsSync(join(cwd, '.ecs-ha', `${STACK}.json`))).toBe(false);
    await expect(fetch(url)).rejects.toThrow();
    await expect(fetch(`${planeInfo.motoUrl}/moto-api/config`)).rejects.toThrow();

    const again = await runCli(['down', '--local', '--stack', STACK], { cwd, env });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('Nothing to remove');
  });

  it('ecs-ha policy allows every call up, plan, verify, chaos, the rolling deploy and down made on this stack', async () => {
    const policy = await printedPolicy();
    const traced = readTrace(calls);
    // The trace must hold each command's work, or an empty trace would pass.
    const operations = new Set(traced.map((c) => `${c.service}:${c.operation}`));
    for (const expected of ['ECS:CreateService', 'IAM:CreateRole', 'ServiceDiscovery:CreatePrivateDnsNamespace', 'ElasticLoadBalancingV2:DescribeTargetHealth', 'ECS:StopTask', 'ECS:UpdateService', 'ECS:DeleteCluster']) {
      expect(operations, expected).toContain(expected);
    }
    const missing = notAllowed(policy, traced);
    expect(missing, `calls the printed policy does not allow: ${missing.join(', ')}`).toEqual([]);
  });
});

describe('the local data plane after a crash', () => {
  it('down --local cleans up after up --local was killed (SIGKILL) mid-run, and after the plane itself was killed', async () => {
    const cwd = tempDir();
    const env = localEnv();
    downLocalAfterTest(cwd, 'crash', env);
    const trace = join(cwd, 'trace.jsonl');
    // Killed once the service exists and its tasks are starting.
    const killed = await runCliInterrupted(['up', '--local', '--stack', 'crash'], { cwd, env, trace, afterCalls: 0, afterOperation: 'ECS:CreateService', signal: 'SIGKILL' });
    expect(killed.signal).toBe('SIGKILL');
    await waitUntil('task processes', async () => planeFiles(cwd, 'crash').taskPids.length > 0, 30_000);
    const files = planeFiles(cwd, 'crash');
    const pids = processesOf(files);
    expect(pids.filter(isProcessAlive)).toEqual(pids);

    // The plane dies hard: its tasks and moto are left without it.
    process.kill(files.info.pid, 'SIGKILL');
    await waitUntil('the plane to be gone', async () => !isProcessAlive(files.info.pid));
    const down = await runCli(['down', '--local', '--stack', 'crash'], { cwd, env });
    expect(down.code, down.stderr).toBe(0);
    await waitUntil('every process to be gone', async () => pids.filter(isProcessAlive).length === 0, 10_000);
    expect(existsSync(join(cwd, '.ecs-ha', 'crash.json'))).toBe(false);
  });

  it('down --local leaves no process when up --local was killed while the local AWS was starting', async () => {
    const cwd = tempDir();
    const env = localEnv();
    downLocalAfterTest(cwd, 'early', env);
    const child = spawn(process.execPath, [CLI, 'up', '--local', '--stack', 'early'], { cwd, env, stdio: 'ignore' });
    // The log is opened just before the plane is spawned: kill the CLI before the plane is ready.
    const logPath = join(cwd, '.ecs-ha', 'early.emulator.log');
    await waitUntil('the plane to be spawned', async () => existsSync(logPath), 30_000);
    child.kill('SIGKILL');
    await new Promise((done) => child.once('close', done));
    // The orphaned plane finishes starting on its own.
    const infoPath = join(cwd, '.ecs-ha', 'early.emulator.json');
    await waitUntil('the orphaned plane to be up', async () => existsSync(infoPath), 30_000);
    const pids = processesOf(planeFiles(cwd, 'early'));
    expect(pids.filter(isProcessAlive)).toEqual(pids);
    const down = await runCli(['down', '--local', '--stack', 'early'], { cwd, env });
    expect(down.code, down.stderr).toBe(0);
    await waitUntil('every process to be gone', async () => pids.filter(isProcessAlive).length === 0, 10_000);
    expect(existsSync(infoPath)).toBe(false);
  });

  it('after the local emulator died, up --local says to run down --local first, which discards the stale state', async () => {
    const cwd = tempDir();
    const env = localEnv();
    downLocalAfterTest(cwd, 'again', env);
    expect((await runCli(['up', '--local', '--stack', 'again', '--no-wait'], { cwd, env })).code).toBe(0);
    process.kill(planeFiles(cwd, 'again').info.pid, 'SIGKILL');

    const refused = await runCli(['up', '--local', '--stack', 'again', '--no-wait'], { cwd, env });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('the local AWS emulator of stack "again" is not running: the state file .ecs-ha/again.json points at resources it held, which are gone with it');
    // Refused before a new emulator is started: nothing is left running.
    expect(existsSync(join(cwd, '.ecs-ha', 'again.emulator.json'))).toBe(false);
    expect(refused.stderr).toContain('hint: run `ecs-ha down --local --stack again` (it discards that state), then `ecs-ha up --local --stack again`');

    const down = await runCli(['down', '--local', '--stack', 'again'], { cwd, env });
    expect(down.code, down.stderr).toBe(0);
    expect(down.stderr).toContain('discarded the state of an earlier local emulator');
    expect(existsSync(join(cwd, '.ecs-ha', 'again.json'))).toBe(false);
    expect(existsSync(join(cwd, '.ecs-ha', 'again.emulator.json'))).toBe(false);
    const up = await runCli(['up', '--local', '--stack', 'again', '--no-wait'], { cwd, env });
    expect(up.code, up.stderr).toBe(0);
    expect((await runCli(['down', '--local', '--stack', 'again'], { cwd, env })).code).toBe(0);
  });
});

