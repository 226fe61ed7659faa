/**
 * The zone drill on the local data plane, as a user runs it: `chaos --kill-az` takes the zone's
 * subnets out of the service, so that the tasks that replace the zone's must start in the other
 * zones; then it gives the subnets back and follows the tasks back over every zone. And a drill
 * killed half way (SIGKILL, the zone still out) is undone by the next `up --local`.
 */
import { DescribeServicesCommand, DescribeTasksCommand, ListTasksCommand } from '@aws-sdk/client-ecs';
import { DescribeTargetHealthCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { downLocalAfterTest, localEnv, runCli, runCliInterrupted, tempDir } from './harness.js';
import { emulatorClients } from './inventory.js';

const ZONE = 'us-east-1a';

interface Stack {
  cwd: string;
  env: NodeJS.ProcessEnv;
  name: string;
  aws: ReturnType<typeof emulatorClients>;
  /** The stack's subnets (its network record) and the zone's among them. */
  subnets: string[];
  zoneSubnets: string[];
  /** The stack's subnets in an Availability Zone. */
  subnetsIn: (zone: string) => string[];
}

function stateOf(stack: Pick<Stack, 'cwd' | 'name'>): { resources: Record<string, { details?: Record<string, unknown> }> } {
  return JSON.parse(readFileSync(join(stack.cwd, '.ecs-ha', `${stack.name}.json`), 'utf8'));
}

/** `up --local` of a stack of its own, taken down after the test whatever its outcome. */
async function upLocal(name: string): Promise<Stack> {
  const cwd = tempDir();
  const env = localEnv();
  downLocalAfterTest(cwd, name, env);
  const up = await runCli(['up', '--local', '--stack', name, '--json'], { cwd, env, timeoutMs: 120_000 });
  expect(up.code, up.stderr).toBe(0);
  const info = JSON.parse(readFileSync(join(cwd, '.ecs-ha', `${name}.emulator.json`), 'utf8')) as { endpointUrl: string };
  const network = stateOf({ cwd, name }).resources.network!.details as { subnetIds: string[]; availabilityZones: string[] };
  const subnetsIn = (zone: string): string[] => network.subnetIds.filter((_s, i) => network.availabilityZones[i] === zone);
  const zoneSubnets = subnetsIn(ZONE);
  // The drill needs a zone to take away and another to run in.
  expect(zoneSubnets).toHaveLength(1);
  expect(new Set(network.availabilityZones).size).toBeGreaterThanOrEqual(2);
  return { cwd, env, name, aws: emulatorClients(info.endpointUrl), subnets: network.subnetIds, zoneSubnets, subnetsIn };
}

/**
 * Until the service is as chaos's preflight wants it, and the zones its running tasks are in:
 * steady (one completed deployment, every task running, none pending), its tasks in two zones or
 * more, and every target healthy (none still draining). Steady alone is not enough: right after a
 * zone comes back, the old tasks' targets still drain, and ECS may still be spreading the tasks.
 */
async function untilReady(stack: Stack, timeoutMs = 60_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { services = [] } = await stack.aws.ecs.send(new DescribeServicesCommand({ cluster: stack.name, services: [stack.name] }));
    const s = services[0];
    const { taskArns = [] } = await stack.aws.ecs.send(new ListTasksCommand({ cluster: stack.name, serviceName: stack.name }));
    const { tasks = [] } = taskArns.length ? await stack.aws.ecs.send(new DescribeTasksCommand({ cluster: stack.name, tasks: taskArns })) : { tasks: [] };
    const zones = [...new Set(tasks.filter((t) => t.lastStatus === 'RUNNING').map((t) => t.availabilityZone ?? ''))].sort();
    const targetGroupArn = s?.loadBalancers?.[0]?.targetGroupArn;
    const { TargetHealthDescriptions = [] } = targetGroupArn ? await stack.aws.elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn })) : {};
    const states = TargetHealthDescriptions.map((t) => t.TargetHealth?.State);
    const steady = s?.runningCount === s?.desiredCount && s?.pendingCount === 0 && s?.deployments?.length === 1 && s.deployments[0]?.rolloutState === 'COMPLETED';
    if (steady && zones.length >= 2 && states.length > 0 && states.every((state) => state === 'healthy')) return zones;
    if (Date.now() > deadline) throw new Error(`the service did not become ready for a drill: steady ${steady}, tasks in ${zones.join(', ')}, targets ${states.join(', ')}`);
    await new Promise((done) => setTimeout(done, 250));
  }
}

async function serviceSubnets(stack: Stack): Promise<string[]> {
  const { services = [] } = await stack.aws.ecs.send(new DescribeServicesCommand({ cluster: stack.name, services: [stack.name] }));
  return [...(services[0]?.networkConfiguration?.awsvpcConfiguration?.subnets ?? [])].sort();
}

describe('chaos --kill-az --local: the zone drill', () => {
  // One stack for both (an `up --local` costs ~10 s): the drill, then a drill killed half way.
  it('takes the zone away: every new task starts outside it, no request fails, the subnets come back and the tasks spread back over the zones; Ctrl-C gives the zone back; a drill killed half way is undone by `up`', async () => {
    const stack = await upLocal('drill');
    const chaos = await runCli(['chaos', '--kill-az', ZONE, '--local', '--stack', stack.name, '--json', '--rps', '20', '--baseline', '1', '--settle', '2'], { cwd: stack.cwd, env: stack.env });
    expect(chaos.code, chaos.stderr).toBe(0);
    const report = JSON.parse(chaos.stdout);
    expect(report.passed, report.verdict).toBe(true);
    expect(report.userSaw.failures, JSON.stringify(report.userSaw.failuresByKind)).toBe(0);
    expect(report.userSaw.requests).toBeGreaterThan(100);

    // The report: the zone's tasks stopped, every new one elsewhere, the subnets out and back, rebalanced.
    expect(report.victims.length).toBeGreaterThan(0);
    expect(report.victims.every((v: { az: string }) => v.az === ZONE)).toBe(true);
    expect(report.replacements.length).toBeGreaterThan(0);
    expect(report.replacements.filter((r: { az: string }) => r.az === ZONE)).toEqual([]);
    expect(report.zoneDrill).toMatchObject({ az: ZONE, excludedSubnets: stack.zoneSubnets, startedInFailedZone: [], restore: true, restoreError: null });
    expect(report.zoneDrill.restoredSeconds).toBeGreaterThanOrEqual(report.recoverySeconds);
    expect(report.zoneDrill.rebalancedSeconds).toBeGreaterThanOrEqual(report.zoneDrill.restoredSeconds);
    const events = report.timeline.map((e: { event: string }) => e.event);
    expect(events.indexOf('zone excluded')).toBe(0);
    expect(events.indexOf('steady')).toBeLessThan(events.indexOf('zone restored'));
    expect(events.at(-1)).toBe('rebalanced');

    // The data plane's own account: the replacements ran in the kept subnets, never the zone's.
    const { tasks: replaced = [] } = await stack.aws.ecs.send(new DescribeTasksCommand({ cluster: stack.name, tasks: report.replacements.map((r: { id: string }) => r.id) }));
    expect(replaced).toHaveLength(report.replacements.length);
    for (const task of replaced) {
      expect(task.availabilityZone).not.toBe(ZONE);
      const subnet = task.attachments?.[0]?.details?.find((d) => d.name === 'subnetId')?.value;
      expect(stack.zoneSubnets).not.toContain(subnet);
    }

    // Afterwards: the stack's subnets, the drill no longer recorded, the tasks over the zones again.
    expect(await serviceSubnets(stack)).toEqual([...stack.subnets].sort());
    expect(stateOf(stack).resources.service!.details!.zoneDrill).toBeUndefined();
    const { taskArns = [] } = await stack.aws.ecs.send(new ListTasksCommand({ cluster: stack.name, serviceName: stack.name }));
    const { tasks = [] } = await stack.aws.ecs.send(new DescribeTasksCommand({ cluster: stack.name, tasks: taskArns }));
    const zones = tasks.filter((t) => t.lastStatus === 'RUNNING').map((t) => t.availabilityZone).sort();
    expect(zones).toEqual(['us-east-1a', 'us-east-1b']);
    expect(report.zoneDrill.tasksPerAz.end).toEqual({ 'us-east-1a': 1, 'us-east-1b': 1, 'us-east-1c': 0 });
    // The plane's Availability Zone rebalancing did the last move, and said so as ECS does.
    const { services = [] } = await stack.aws.ecs.send(new DescribeServicesCommand({ cluster: stack.name, services: [stack.name] }));
    const messages = (services[0]?.events ?? []).map((e) => e.message ?? '');
    expect(messages.some((m) => m.startsWith(`service (${stack.name}) is not AZ balanced`))).toBe(true);
    expect(messages.some((m) => m.startsWith(`service (${stack.name}) is AZ balanced`))).toBe(true);

    // Ctrl-C once the zone's task is stopped: the drill gives the zone back before it exits (130).
    const interrupted = await runCliInterrupted(['chaos', '--kill-az', ZONE, '--local', '--stack', stack.name, '--baseline', '0'], {
      cwd: stack.cwd,
      env: stack.env,
      trace: join(stack.cwd, 'interrupted.jsonl'),
      afterCalls: 0,
      afterOperation: 'ECS:StopTask',
      signal: 'SIGINT',
    });
    expect(interrupted.code, interrupted.stderr).toBe(130);
    expect(interrupted.stderr).toContain("interrupted: giving the zone's subnets back to the service before exiting");
    expect(interrupted.stderr).toContain(`${ZONE} restored: service ${stack.name} in subnets`);
    expect(await serviceSubnets(stack)).toEqual([...stack.subnets].sort());
    expect(stateOf(stack).resources.service!.details!.zoneDrill).toBeUndefined();
    // The zone given back gets its share of the new deployment's tasks, or not (two tasks, three
    // zones): the next drill takes away a zone where a task runs now.
    const [zone] = await untilReady(stack);
    const zoneSubnets = stack.subnetsIn(zone!);

    // Killed with SIGKILL right after it took the zone away: the zone stays out, and the state says so.
    const trace = join(stack.cwd, 'trace.jsonl');
    const killed = await runCliInterrupted(['chaos', '--kill-az', zone!, '--local', '--stack', stack.name, '--baseline', '0'], {
      cwd: stack.cwd,
      env: stack.env,
      trace,
      afterCalls: 0,
      afterOperation: 'ECS:UpdateService',
      signal: 'SIGKILL',
    });
    expect(killed.signal, killed.stderr).toBe('SIGKILL');
    expect(await serviceSubnets(stack)).toEqual(stack.subnets.filter((s) => !zoneSubnets.includes(s)).sort());
    expect(stateOf(stack).resources.service!.details!.zoneDrill).toMatchObject({ az: zone, excludedSubnets: zoneSubnets });

    const up = await runCli(['up', '--local', '--stack', stack.name, '--json'], { cwd: stack.cwd, env: stack.env, timeoutMs: 120_000 });
    expect(up.code, up.stderr).toBe(0);
    expect(up.stderr).toMatch(/took over a stale lock left by pid \d+ \(`ecs-ha chaos/);
    // `up` compares the service's subnets with the stack's: the record is not what it goes by.
    expect(JSON.parse(up.stdout).changed).toContain(`updated service ${stack.name} (restored the subnets of a zone a chaos drill left out)`);
    expect(await serviceSubnets(stack)).toEqual([...stack.subnets].sort());
  });
});
