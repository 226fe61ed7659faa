/**
 * `ecs-ha status` and `ecs-ha scale N` end to end on the local data plane: one `up --local`, then
 * the screen (text, --json, --watch) against what the plane's ECS reports, a scale to three tasks
 * over the three zones, and autoscaling's range as moto holds it, read and enforced.
 */
import { PutScalingPolicyCommand, RegisterScalableTargetCommand } from '@aws-sdk/client-application-auto-scaling';
import { DescribeTasksCommand, ListTasksCommand } from '@aws-sdk/client-ecs';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isMutatingOperation } from '../../src/aws/clients.js';
import type { StackStatus } from '../../src/status/gather.js';
import { CLI, localEnv, readTrace, runCli, tempDir } from './harness.js';
import { emulatorClients } from './inventory.js';

const STACK = 'status-scale';

describe('status and scale on the local data plane', () => {
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
