/**
 * `up --autoscale` end to end: the real CLI against moto (which has Application Auto Scaling but no
 * tags for it) and against the local data plane (which keeps those tags), then `down` with and
 * without a state file. And the count rule: a plain `up` keeps a desired count set outside `up`.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  DescribeScalableTargetsCommand,
  DescribeScalingPoliciesCommand,
  ListTagsForResourceCommand,
} from '@aws-sdk/client-application-auto-scaling';
import { DescribeServicesCommand, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { describe, expect, it } from 'vitest';
import { isMutatingOperation, type AwsClients } from '../../src/aws/clients.js';
import { downLocalAfterTest, emulatorEnv, emulatorPerFile, localEnv, PREBUILT_IMAGE, readTrace, runCli, tempDir, uniqueStack } from './harness.js';
import { counts, emulatorClients, inventory, NONE } from './inventory.js';

/** The names Application Auto Scaling gives a stack's service: its resource ID, the policy, the target's key. */
function scalingNames(stack: string) {
  const resourceId = `service/${stack}/${stack}`;
  return { RESOURCE_ID: resourceId, POLICY: `${stack}-target-tracking`, KEY: { ServiceNamespace: 'ecs', ResourceId: resourceId, ScalableDimension: 'ecs:service:DesiredCount' } as const };
}

const emulator = emulatorPerFile();

async function liveAutoScaling(aws: AwsClients, stack: string) {
  const resourceId = `service/${stack}/${stack}`;
  const { ScalableTargets = [] } = await aws.autoScaling.send(new DescribeScalableTargetsCommand({ ServiceNamespace: 'ecs', ResourceIds: [resourceId] }));
  const { ScalingPolicies = [] } = await aws.autoScaling.send(new DescribeScalingPoliciesCommand({ ServiceNamespace: 'ecs', ResourceId: resourceId }));
  return {
    targets: ScalableTargets.map((t) => ({ min: t.MinCapacity, max: t.MaxCapacity, arn: t.ScalableTargetARN })),
    policies: ScalingPolicies.map((p) => ({
      name: p.PolicyName,
      type: p.PolicyType,
      metric: p.TargetTrackingScalingPolicyConfiguration?.PredefinedMetricSpecification?.PredefinedMetricType,
      target: p.TargetTrackingScalingPolicyConfiguration?.TargetValue,
    })),
  };
}

const mutating = (trace: string): string[] => readTrace(trace).filter((c) => isMutatingOperation(c.operation)).map((c) => c.operation);

describe('up --autoscale against the emulator', () => {
  it('creates a tagged scalable target and policy after the service, changes nothing the second time, updates a changed range, and down removes both', async () => {
    const STACK = uniqueStack('e2e-scale');
    const { RESOURCE_ID, POLICY, KEY } = scalingNames(STACK);
    const cwd = tempDir();
    const env = emulatorEnv(emulator().endpoint);
    const aws = emulatorClients(emulator().endpoint);
    const statePath = join(cwd, '.ecs-ha', `${STACK}.json`);
    const args = ['up', '--stack', STACK, '--image', PREBUILT_IMAGE, '--no-wait'];

    const first = join(cwd, 'first.jsonl');
    const up = await runCli([...args, '--autoscale', '2:4', '--json', '--trace', first], { cwd, env });
    expect(up.stderr).not.toMatch(/error:/);
    expect(up.code).toBe(0);
    const { resources, changed } = JSON.parse(up.stdout);
    expect(resources.autoScaling).toMatchObject({ id: RESOURCE_ID, origin: 'created', details: { min: 2, max: 4, metric: 'cpu', target: 60, policyName: POLICY } });
    expect(resources.autoScaling.arn).toMatch(/^arn:aws:application-autoscaling:us-east-1:123456789012:scalable-target\//);
    expect(changed).toContain(`created autoscaling of service ${STACK}: 2 to 4 tasks, average CPU at 60 %`);
    expect(await liveAutoScaling(aws, STACK)).toEqual({
      targets: [{ min: 2, max: 4, arn: resources.autoScaling.arn }],
      policies: [{ name: POLICY, type: 'TargetTrackingScaling', metric: 'ECSServiceAverageCPUUtilization', target: 60 }],
    });
    // Tagged in the create call, registered only once the service exists.
    const calls = readTrace(first);
    const register = calls.filter((c) => c.operation === 'RegisterScalableTarget');
    expect(register.map((c) => c.input)).toEqual([{ ...KEY, MinCapacity: 2, MaxCapacity: 4, Tags: { 'ecs-ha:stack': STACK } }]);
    expect(calls.findIndex((c) => c.operation === 'CreateService')).toBeLessThan(calls.indexOf(register[0]!));

    // The same again: reads only.
    const second = join(cwd, 'second.jsonl');
    expect((await runCli([...args, '--autoscale', '2:4', '--trace', second], { cwd, env })).code).toBe(0);
    expect(mutating(second)).toEqual([]);
    // A plain up keeps it as it is, with reads only too.
    const plain = join(cwd, 'plain.jsonl');
    expect((await runCli([...args, '--trace', plain], { cwd, env })).code).toBe(0);
    expect(mutating(plain)).toEqual([]);
    expect((await liveAutoScaling(aws, STACK)).targets).toHaveLength(1);

    // A changed range updates the scalable target, and nothing else.
    const third = join(cwd, 'third.jsonl');
    const wider = await runCli([...args, '--autoscale', '2:5', '--trace', third], { cwd, env });
    expect(wider.code).toBe(0);
    expect(wider.stderr).toContain(`updated autoscaling of service ${STACK} (range 2 to 4 tasks → 2 to 5 tasks)`);
    expect(mutating(third)).toEqual(['RegisterScalableTarget']);
    expect((await liveAutoScaling(aws, STACK)).targets.map(({ min, max }) => ({ min, max }))).toEqual([{ min: 2, max: 5 }]);
    expect(JSON.parse(readFileSync(statePath, 'utf8')).resources.autoScaling.details).toMatchObject({ min: 2, max: 5 });

    // verify compares them with the state; status shows them.
    // (Plain moto reports the service's deployment in progress, so verify as a whole exits 1: only this check counts here.)
    const verify = await runCli(['verify', '--stack', STACK], { cwd, env });
    expect(verify.stdout.split('\n')).toContain(`OK    autoscaling       scalable target ${RESOURCE_ID} 2 to 5 tasks; policy ${POLICY} average CPU at 60 %`);
    const status = await runCli(['status', '--stack', STACK, '--json'], { cwd, env });
    expect(JSON.parse(status.stdout).autoScaling).toMatchObject({ enabled: true, resourceId: RESOURCE_ID, min: 2, max: 5, policies: [{ name: POLICY, type: 'TargetTrackingScaling', tracks: 'ECSServiceAverageCPUUtilization 60' }] });

    // --count outside the stack's range is refused before any change.
    const refused = join(cwd, 'refused.jsonl');
    const outside = await runCli([...args, '--count', '7', '--trace', refused], { cwd, env });
    expect(outside.code).toBe(2);
    expect(outside.stderr).toContain(`error: invalid --count 7: autoscaling keeps service ${STACK} between 2 and 5 tasks; choose a --count from 2 to 5`);
    expect(mutating(refused)).toEqual([]);
    // Within the range it is not applied either: the autoscaler owns the running service's count.
    const within = join(cwd, 'within.jsonl');
    const inRange = await runCli([...args, '--count', '3', '--trace', within], { cwd, env });
    expect(inRange.code).toBe(0);
    expect(inRange.stderr).toContain('--count 3 is not applied to the running service: autoscaling (2 to 5 tasks) manages its desired count; `ecs-ha scale 3` sets it now');
    expect(mutating(within)).toEqual([]);

    // down removes the policy and the scalable target before the service. Plain moto cannot read
    // their tags: the stack's own service (tagged) proves the scalable target is the stack's.
    const downTrace = join(cwd, 'down.jsonl');
    const down = await runCli(['down', '--stack', STACK, '--json', '--trace', downTrace], { cwd, env });
    expect(down.stderr).not.toMatch(/error:/);
    expect(down.code).toBe(0);
    expect(JSON.parse(down.stdout).deleted).toContain(`autoScaling ${RESOURCE_ID}`);
    const downOps = mutating(downTrace);
    expect(downOps.indexOf('DeleteScalingPolicy')).toBeLessThan(downOps.indexOf('DeregisterScalableTarget'));
    expect(downOps.indexOf('DeregisterScalableTarget')).toBeLessThan(downOps.indexOf('DeleteService'));
    expect(await liveAutoScaling(aws, STACK)).toEqual({ targets: [], policies: [] });
    expect(counts(await inventory(aws, STACK))).toEqual(NONE);
    expect(existsSync(statePath)).toBe(false);
  });

  it('down without a state file finds the scalable target through the stack own service (plain moto keeps no tags for it), and removes it', async () => {
    const STACK = uniqueStack('e2e-scale');
    const { RESOURCE_ID, POLICY } = scalingNames(STACK);
    const cwd = tempDir();
    const env = emulatorEnv(emulator().endpoint);
    const aws = emulatorClients(emulator().endpoint);
    expect((await runCli(['up', '--stack', STACK, '--image', PREBUILT_IMAGE, '--no-wait', '--autoscale', '2:3', '--autoscale-requests', '500'], { cwd, env })).code).toBe(0);
    expect((await liveAutoScaling(aws, STACK)).policies).toEqual([{ name: POLICY, type: 'TargetTrackingScaling', metric: 'ALBRequestCountPerTarget', target: 500 }]);
    rmSync(join(cwd, '.ecs-ha', `${STACK}.json`));

    const down = await runCli(['down', '--stack', STACK, '--json'], { cwd, env });
    expect(down.code).toBe(0);
    expect(JSON.parse(down.stdout)).toMatchObject({ source: 'tags' });
    expect(JSON.parse(down.stdout).deleted).toContain(`autoScaling ${RESOURCE_ID}`);
    expect(await liveAutoScaling(aws, STACK)).toEqual({ targets: [], policies: [] });
    expect(counts(await inventory(aws, STACK))).toEqual(NONE);
  });

  it('--autoscale off removes them and keeps the service; a plain up keeps a desired count set outside up', async () => {
    const STACK = uniqueStack('e2e-scale');
    const cwd = tempDir();
    const env = emulatorEnv(emulator().endpoint);
    const aws = emulatorClients(emulator().endpoint);
    const args = ['up', '--stack', STACK, '--image', PREBUILT_IMAGE, '--no-wait'];
    expect((await runCli([...args, '--autoscale', '2:4'], { cwd, env })).code).toBe(0);

    const off = await runCli([...args, '--autoscale', 'off', '--json'], { cwd, env });
    expect(off.code).toBe(0);
    expect(JSON.parse(off.stdout).resources).not.toHaveProperty('autoScaling');
    expect(off.stderr).toContain(`removed autoscaling of service ${STACK} (scalable target and policy)`);
    expect(await liveAutoScaling(aws, STACK)).toEqual({ targets: [], policies: [] });

    // As `ecs-ha scale 3` would (it waits for healthy tasks, which plain moto never runs): the service at 3.
    await aws.ecs.send(new UpdateServiceCommand({ cluster: STACK, service: STACK, desiredCount: 3 }));
    const trace = join(cwd, 'keep.jsonl');
    expect((await runCli([...args, '--trace', trace], { cwd, env })).code).toBe(0);
    expect(readTrace(trace).filter((c) => c.operation === 'UpdateService')).toEqual([]);
    const desired = async () => (await aws.ecs.send(new DescribeServicesCommand({ cluster: STACK, services: [STACK] }))).services?.[0]?.desiredCount;
    expect(await desired()).toBe(3);
    // --count given: set.
    expect((await runCli([...args, '--count', '2'], { cwd, env })).code).toBe(0);
    expect(await desired()).toBe(2);

    expect((await runCli(['down', '--stack', STACK], { cwd, env })).code).toBe(0);
    expect(counts(await inventory(aws, STACK))).toEqual(NONE);
  });
});

describe('up --autoscale input', () => {
  it.each([
    [['--autoscale', '4:2'], 'error: invalid --autoscale "4:2": expected MIN:MAX, whole numbers with 1 ≤ MIN ≤ MAX ≤ 100 (such as 2:10), or off'],
    [['--autoscale', '2:4', '--autoscale-cpu', '0'], 'error: invalid --autoscale-cpu "0": expected a whole number from 1 to 100'],
    [['--autoscale', '2:4', '--autoscale-cpu', '50', '--autoscale-requests', '100'], 'error: --autoscale-cpu and --autoscale-requests cannot be used together'],
    [['--autoscale-requests', '100'], 'error: --autoscale-requests needs --autoscale MIN:MAX'],
    [['--autoscale', '2:4', '--count', '6'], 'error: invalid --count 6 with --autoscale 2:4: autoscaling keeps the service between 2 and 4 tasks'],
  ])('up %j is refused with exit 2 before any AWS call', async (extra, message) => {
    const cwd = tempDir();
    const trace = join(cwd, 'trace.jsonl');
    const run = await runCli(['up', '--stack', 'e2e-scale-input', '--image', PREBUILT_IMAGE, ...extra, '--trace', trace], { cwd, env: emulatorEnv(emulator().endpoint) });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
    expect(readTrace(trace)).toEqual([]);
  });
});

describe('up --autoscale --local', () => {
  it('keeps the scalable target tag in the local plane, so down without a state file finds it by its tag', async () => {
    const cwd = tempDir();
    const env = localEnv();
    const stack = 'scale-local';
    downLocalAfterTest(cwd, stack, env);
    const up = await runCli(['up', '--local', '--stack', stack, '--no-wait', '--autoscale', '2:4', '--json'], { cwd, env });
    expect(up.stderr).not.toMatch(/error:/);
    expect(up.code).toBe(0);
    const arn = JSON.parse(up.stdout).resources.autoScaling.arn as string;
    const { endpointUrl } = JSON.parse(readFileSync(join(cwd, '.ecs-ha', `${stack}.emulator.json`), 'utf8')) as { endpointUrl: string };
    const aws = emulatorClients(endpointUrl);
    expect((await aws.autoScaling.send(new ListTagsForResourceCommand({ ResourceARN: arn }))).Tags).toEqual({ 'ecs-ha:stack': stack });
    expect((await liveAutoScaling(aws, stack)).targets.map(({ min, max }) => ({ min, max }))).toEqual([{ min: 2, max: 4 }]);
    rmSync(join(cwd, '.ecs-ha', `${stack}.json`));

    const trace = join(cwd, 'down.jsonl');
    const down = await runCli(['down', '--local', '--stack', stack, '--json', '--trace', trace], { cwd, env });
    expect(down.stderr).not.toMatch(/error:/);
    expect(down.code).toBe(0);
    expect(JSON.parse(down.stdout)).toMatchObject({ source: 'tags' });
    expect(JSON.parse(down.stdout).deleted).toContain(`autoScaling service/${stack}/${stack}`);
    // Proved by the tag itself: the tag reads answered.
    const tagReads = readTrace(trace).filter((c) => c.operation === 'ListTagsForResource' && c.service === 'ApplicationAutoScaling');
    expect(tagReads.length).toBeGreaterThan(0);
    expect(tagReads.every((c) => c.error === undefined)).toBe(true);
    expect(readTrace(trace).filter((c) => c.operation === 'DeregisterScalableTarget').map((c) => c.error)).toEqual([undefined]);
  });
});
