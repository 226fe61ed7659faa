/**
 * `up --strategy blue-green|linear|canary` against the emulator: the resources a native strategy
 * needs (second target group, listener rule, infrastructure role) exist, are tagged and recorded,
 * a re-run writes nothing, and `down` leaves nothing. moto keeps no deploymentConfiguration, so the
 * service's exact configuration is checked by the unit tests' request shapes, not here.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { DescribeRulesCommand, DescribeTagsCommand, DescribeTargetGroupsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { GetRoleCommand, ListAttachedRolePoliciesCommand } from '@aws-sdk/client-iam';
import { describe, expect, it } from 'vitest';
import { isMutatingOperation } from '../../src/aws/clients.js';
import { emulatorEnv, emulatorPerFile, PREBUILT_IMAGE, readTrace, runCli, tempDir, uniqueStack } from './harness.js';
import { counts, emulatorClients, inventory, NONE } from './inventory.js';

const emulator = emulatorPerFile();

describe('up --strategy blue-green', () => {
  it('creates the second target group, the listener rule and the infrastructure role, tagged and recorded; a re-run writes nothing; down removes them', async () => {
    const STACK = uniqueStack('bg');
    const cwd = tempDir();
    const env = emulatorEnv(emulator().endpoint);
    const aws = emulatorClients(emulator().endpoint);
    const up = await runCli(['up', '--stack', STACK, '--image', PREBUILT_IMAGE, '--no-wait', '--strategy', 'blue-green', '--bake-minutes', '5', '--json'], { cwd, env });
    expect(up.code, up.stderr).toBe(0);
    const { resources } = JSON.parse(up.stdout) as { resources: Record<string, { id: string; origin: string; details?: Record<string, unknown> }> };
    for (const key of ['alternateTargetGroup', 'listenerRule', 'infrastructureRole']) expect(resources[key], key).toMatchObject({ origin: 'created' });
    expect(resources.service!.details).toMatchObject({ deployment: expect.objectContaining({ strategy: 'blue-green' }) });

    const { TargetGroups = [] } = await aws.elbv2.send(new DescribeTargetGroupsCommand({ Names: [`${STACK}-tg2`] }));
    expect(TargetGroups[0]).toMatchObject({ Port: 8080, Protocol: 'HTTP', TargetType: 'ip', HealthCheckPath: '/health' });
    const tagged = async (arn: string) => {
      const { TagDescriptions = [] } = await aws.elbv2.send(new DescribeTagsCommand({ ResourceArns: [arn] }));
      return TagDescriptions[0]?.Tags?.some((t) => t.Key === 'ecs-ha:stack' && t.Value === STACK);
    };
    expect(await tagged(TargetGroups[0]!.TargetGroupArn!)).toBe(true);
    const { Rules = [] } = await aws.elbv2.send(new DescribeRulesCommand({ RuleArns: [resources.listenerRule!.id] }));
    const forward = Rules[0]?.Actions?.[0]?.ForwardConfig?.TargetGroups ?? [];
    expect(forward.map((g) => g.Weight).sort()).toEqual([0, 100]);
    expect(await tagged(resources.listenerRule!.id)).toBe(true);
    const { Role } = await aws.iam.send(new GetRoleCommand({ RoleName: resources.infrastructureRole!.id }));
    expect(decodeURIComponent(Role!.AssumeRolePolicyDocument!)).toContain('ecs.amazonaws.com');
    const { AttachedPolicies = [] } = await aws.iam.send(new ListAttachedRolePoliciesCommand({ RoleName: resources.infrastructureRole!.id }));
    expect(AttachedPolicies.map((p) => p.PolicyName)).toEqual(['AmazonECSInfrastructureRolePolicyForLoadBalancers']);

    // A plain re-run keeps the strategy and writes nothing.
    const trace = join(cwd, 'again.jsonl');
    const again = await runCli(['up', '--stack', STACK, '--image', PREBUILT_IMAGE, '--no-wait', '--trace', trace], { cwd, env });
    expect(again.code, again.stderr).toBe(0);
    expect(readTrace(trace).filter((call) => isMutatingOperation(call.operation)).map((call) => call.operation)).toEqual([]);

    const down = await runCli(['down', '--stack', STACK, '--json'], { cwd, env });
    expect(down.code, down.stderr).toBe(0);
    expect(JSON.parse(down.stdout).deleted).toEqual(expect.arrayContaining([expect.stringMatching(/^listenerRule /), expect.stringMatching(/^alternateTargetGroup /), expect.stringMatching(/^infrastructureRole /)]));
    expect(counts(await inventory(aws, STACK))).toEqual(NONE);
    await expect(aws.iam.send(new GetRoleCommand({ RoleName: resources.infrastructureRole!.id }))).rejects.toThrow();
    await expect(aws.elbv2.send(new DescribeTargetGroupsCommand({ Names: [`${STACK}-tg2`] }))).rejects.toThrow();
  });

  it('down finds them by their tag when the state file is lost', async () => {
    const STACK = uniqueStack('bg');
    const cwd = tempDir();
    const env = emulatorEnv(emulator().endpoint);
    const aws = emulatorClients(emulator().endpoint);
    const up = await runCli(['up', '--stack', STACK, '--image', PREBUILT_IMAGE, '--no-wait', '--strategy', 'canary'], { cwd, env });
    expect(up.code, up.stderr).toBe(0);
    rmSync(join(cwd, '.ecs-ha', `${STACK}.json`));

    const down = await runCli(['down', '--stack', STACK, '--json'], { cwd, env });

    expect(down.code, down.stderr).toBe(0);
    const result = JSON.parse(down.stdout);
    expect(result.source).toBe('tags');
    expect(result.deleted).toEqual(expect.arrayContaining([expect.stringMatching(/^listenerRule /), expect.stringMatching(/^alternateTargetGroup /), expect.stringMatching(/^infrastructureRole /)]));
    expect(counts(await inventory(aws, STACK))).toEqual(NONE);
    await expect(aws.elbv2.send(new DescribeTargetGroupsCommand({ Names: [`${STACK}-tg2`] }))).rejects.toThrow();
  });

  it('refuses bad strategy settings before any AWS call', async () => {
    const STACK = uniqueStack('bg');
    const cwd = tempDir();
    const trace = join(cwd, 'trace.jsonl');
    for (const args of [['--strategy', 'canary', '--canary-percent', '0'], ['--strategy', 'linear', '--step-percent', '2'], ['--strategy', 'blue-green', '--bake-minutes', '1441'], ['--strategy', 'rolling', '--canary-percent', '10']]) {
      const result = await runCli(['up', '--stack', STACK, '--image', PREBUILT_IMAGE, '--trace', trace, ...args], { cwd, env: emulatorEnv(emulator().endpoint) });
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(2);
      expect(result.stderr).toMatch(/error: /);
    }
    expect(readTrace(trace)).toEqual([]);
  });
});
