import { existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeleteLogGroupCommand } from '@aws-sdk/client-cloudwatch-logs';
import { CreateClusterCommand, DescribeClustersCommand } from '@aws-sdk/client-ecs';
import { CreateRoleCommand, GetRoleCommand } from '@aws-sdk/client-iam';
import { describe, expect, it } from 'vitest';
import { isMutatingOperation } from '../../src/aws/clients.js';
import { emulatorEnv, emulatorPerFile, MOTO_ACCOUNT, PREBUILT_IMAGE, readTrace, runCli, tempDir, uniqueStack } from './harness.js';
import { counts, emulatorClients, inventory, NONE, ONE_OF_EACH } from './inventory.js';

const IMAGE = PREBUILT_IMAGE;

const emulator = emulatorPerFile();



describe('up and down against the emulator', () => {
  it('builds the whole stack, is a no-op the second time, and removes everything', async () => {
    const STACK = uniqueStack('e2e');
    const cwd = tempDir();
    const env = emulatorEnv(emulator().endpoint);
    const trace = join(cwd, 'trace.jsonl');
    const aws = emulatorClients(emulator().endpoint);

    const up = await runCli(['up', '--stack', STACK, '--image', IMAGE, '--no-wait', '--json', '--trace', trace], { cwd, env });
    expect(up.stderr).not.toMatch(/error:/);
    expect(up.code).toBe(0);
    const result = JSON.parse(up.stdout);
    expect(result.url).toMatch(/^http:\/\/.+/);

    const inv = await inventory(aws, STACK);
    expect(counts(inv)).toEqual(ONE_OF_EACH);
    for (const kind of ['clusters', 'roles', 'logGroups', 'loadBalancers', 'targetGroups', 'namespaces', 'discoveryServices'] as const) {
      expect(inv[kind].every((r) => r.tagged), `${kind} carry the stack tag`).toBe(true);
    }

    const statePath = join(cwd, '.ecs-ha', `${STACK}.json`);
    expect(statSync(statePath).mode & 0o777).toBe(0o600);
    const state = JSON.parse(readFileSync(statePath, 'utf8'));
    expect(state).toMatchObject({ schemaVersion: 1, stack: STACK, account: MOTO_ACCOUNT, region: 'us-east-1' });
    const expectedKeys = [
      'serviceLinkedRole',
      'image',
      'cluster',
      'executionRole',
      'logGroup',
      'network',
      'albSecurityGroup',
      'taskSecurityGroup',
      'loadBalancer',
      'targetGroup',
      'listener',
      'namespace',
      'discoveryService',
      'taskDefinition',
      'service',
    ];
    expect(Object.keys(state.resources).sort()).toEqual([...expectedKeys].sort());
    expect(state.resources.cluster.id).toBe(inv.clusters[0]!.id);
    expect(state.resources.loadBalancer.id).toBe(inv.loadBalancers[0]!.id);
    expect(state.resources.targetGroup.id).toBe(inv.targetGroups[0]!.id);
    expect(state.resources.listener.id).toBe(inv.listeners[0]!.id);
    expect(state.resources.namespace.id).toBe(inv.namespaces[0]!.id);
    expect(state.resources.discoveryService.id).toBe(inv.discoveryServices[0]!.id);
    expect(state.resources.taskDefinition.id).toBe(inv.taskDefinitions[0]!.id);
    expect(inv.securityGroups.map((g) => g.id).sort()).toEqual([state.resources.albSecurityGroup.id, state.resources.taskSecurityGroup.id].sort());
    expect(state.resources.image).toMatchObject({ id: IMAGE, origin: 'adopted' });
    expect(state.resources.network.origin).toBe('adopted');
    // A fresh account has no ECS service-linked role: up creates it, and records it as kept (account-wide).
    expect(state.resources.serviceLinkedRole).toMatchObject({ origin: 'adopted', details: { awsServiceName: 'ecs.amazonaws.com', createdByEcsHa: true } });
    const firstCalls = readTrace(trace);
    expect(firstCalls.filter((c) => c.operation === 'CreateServiceLinkedRole').map((c) => c.input)).toEqual([{ AWSServiceName: 'ecs.amazonaws.com' }]);
    expect(firstCalls.filter((c) => isMutatingOperation(c.operation)).length).toBeGreaterThan(10);

    // A second up on a complete stack changes nothing.
    rmSync(trace);
    const again = await runCli(['up', '--stack', STACK, '--image', IMAGE, '--no-wait', '--trace', trace], { cwd, env });
    expect(again.code).toBe(0);
    const secondCalls = readTrace(trace);
    expect(secondCalls.filter((c) => isMutatingOperation(c.operation)).map((c) => c.operation)).toEqual([]);
    expect(counts(await inventory(aws, STACK))).toEqual(ONE_OF_EACH);

    const down = await runCli(['down', '--stack', STACK], { cwd, env });
    expect(down.stderr).not.toMatch(/error:/);
    expect(down.code).toBe(0);
    expect(counts(await inventory(aws, STACK))).toEqual(NONE);
    expect(existsSync(statePath)).toBe(false);
    // The service-linked role serves every ECS user of the account: down keeps it, and says so.
    expect(down.stdout).toMatch(/kept +serviceLinkedRole /);
    await expect(aws.iam.send(new GetRoleCommand({ RoleName: state.resources.serviceLinkedRole.id }))).resolves.toBeDefined();

    const downAgain = await runCli(['down', '--stack', STACK], { cwd, env });
    expect(downAgain.code).toBe(0);
    expect(downAgain.stdout).toContain('Nothing to remove');
  });

  it('removes the stack by its tags when the state file is lost', async () => {
    const STACK = uniqueStack('e2e');
    const cwd = tempDir();
    const env = emulatorEnv(emulator().endpoint);
    const aws = emulatorClients(emulator().endpoint);
    const up = await runCli(['up', '--stack', STACK, '--image', IMAGE, '--no-wait'], { cwd, env });
    expect(up.code).toBe(0);
    rmSync(join(cwd, '.ecs-ha', `${STACK}.json`));

    const down = await runCli(['down', '--stack', STACK], { cwd, env });
    expect(down.stderr).toContain('looking for its resources by their tag');
    expect(down.code).toBe(0);
    expect(counts(await inventory(aws, STACK))).toEqual(NONE);
  });

  it('recreates a resource deleted behind its back', async () => {
    const STACK = uniqueStack('e2e');
    const cwd = tempDir();
    const env = emulatorEnv(emulator().endpoint);
    const aws = emulatorClients(emulator().endpoint);
    expect((await runCli(['up', '--stack', STACK, '--image', IMAGE, '--no-wait'], { cwd, env })).code).toBe(0);
    await aws.logs.send(new DeleteLogGroupCommand({ logGroupName: `/ecs/${STACK}` }));

    const again = await runCli(['up', '--stack', STACK, '--image', IMAGE, '--no-wait'], { cwd, env });
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/created log group/);
    expect(counts(await inventory(aws, STACK))).toEqual(ONE_OF_EACH);
    expect((await runCli(['down', '--stack', STACK], { cwd, env })).code).toBe(0);
    expect(counts(await inventory(aws, STACK))).toEqual(NONE);
  });

  it('adopts what the user already had and down leaves it in place', async () => {
    const STACK = uniqueStack('e2e');
    const cwd = tempDir();
    const env = emulatorEnv(emulator().endpoint);
    const aws = emulatorClients(emulator().endpoint);
    // The user's own cluster (same name, no stack tag) and their own execution role.
    await aws.ecs.send(new CreateClusterCommand({ clusterName: STACK }));
    const { Role } = await aws.iam.send(
      new CreateRoleCommand({
        RoleName: 'my-execution-role',
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { Service: 'ecs-tasks.amazonaws.com' }, Action: 'sts:AssumeRole' }],
        }),
      }),
    );

    const up = await runCli(['up', '--stack', STACK, '--image', IMAGE, '--no-wait', '--execution-role', Role!.Arn!, '--json'], { cwd, env });
    expect(up.code).toBe(0);
    const { resources } = JSON.parse(up.stdout);
    expect(resources.cluster.origin).toBe('adopted');
    expect(resources.executionRole).toMatchObject({ id: 'my-execution-role', origin: 'adopted' });

    const down = await runCli(['down', '--stack', STACK, '--json'], { cwd, env });
    expect(down.code).toBe(0);
    const { kept } = JSON.parse(down.stdout);
    expect(kept).toEqual(expect.arrayContaining([expect.stringMatching(/^cluster /), expect.stringMatching(/^executionRole /)]));
    const { clusters = [] } = await aws.ecs.send(new DescribeClustersCommand({ clusters: [STACK] }));
    expect(clusters[0]?.status).toBe('ACTIVE');
    await expect(aws.iam.send(new GetRoleCommand({ RoleName: 'my-execution-role' }))).resolves.toBeDefined();
    const left = counts(await inventory(aws, STACK));
    expect(left).toEqual({ ...NONE, clusters: 1 });
  });

  it('resumes after a failed run and creates only what is missing', async () => {
    const STACK = uniqueStack('e2e');
    const cwd = tempDir();
    const env = emulatorEnv(emulator().endpoint);
    const aws = emulatorClients(emulator().endpoint);
    const firstTrace = join(cwd, 'first.jsonl');
    const secondTrace = join(cwd, 'second.jsonl');
    // Each write, named by what it wrote: two security groups are two different creates.
    const creates = (path: string) =>
      readTrace(path)
        .filter((c) => /^(Create|Register|Put|Attach|Authorize)/.test(c.operation))
        .map((c) => {
          const input = c.input as Record<string, unknown>;
          const target = input.GroupName ?? input.GroupId ?? input.Name ?? input.clusterName ?? input.serviceName ?? input.repositoryName ?? input.logGroupName ?? input.RoleName ?? input.AWSServiceName ?? input.family ?? input.LoadBalancerArn ?? '';
          return `${c.service}:${c.operation}:${String(target)}`;
        });

    // The role step fails (no such role); the steps already running finish and are recorded.
    const failed = await runCli(['up', '--stack', STACK, '--image', IMAGE, '--no-wait', '--execution-role', 'no-such-role', '--trace', firstTrace], { cwd, env });
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toContain('no-such-role');
    const firstCreates = creates(firstTrace);
    // Steps with no dependency ran alongside the failing one. (The cluster waits for the
    // service-linked role step, so whether it starts before the failure is a race: not asserted.)
    expect(firstCreates).toContain('IAM:CreateServiceLinkedRole:ecs.amazonaws.com');
    expect(firstCreates).toContain(`CloudWatchLogs:CreateLogGroup:/ecs/${STACK}`);
    expect(firstCreates).not.toContain(`ECS:CreateService:${STACK}`);

    const resumed = await runCli(['up', '--stack', STACK, '--image', IMAGE, '--no-wait', '--trace', secondTrace], { cwd, env });
    expect(resumed.code).toBe(0);
    const secondCreates = creates(secondTrace);
    expect(secondCreates).toContain(`ECS:CreateService:${STACK}`);
    // Nothing the first run created is created again.
    expect(secondCreates.filter((c) => firstCreates.includes(c)), `first run: ${firstCreates.join(' ')}`).toEqual([]);
    expect(counts(await inventory(aws, STACK))).toEqual(ONE_OF_EACH);
    expect((await runCli(['down', '--stack', STACK], { cwd, env })).code).toBe(0);
    expect(counts(await inventory(aws, STACK))).toEqual(NONE);
  });

  it('never overwrites a corrupt state file: exit 2, and down works from tags once it is moved aside', async () => {
    const STACK = uniqueStack('e2e');
    const cwd = tempDir();
    const env = emulatorEnv(emulator().endpoint);
    const aws = emulatorClients(emulator().endpoint);
    expect((await runCli(['up', '--stack', STACK, '--image', IMAGE, '--no-wait'], { cwd, env })).code).toBe(0);
    const path = join(cwd, '.ecs-ha', `${STACK}.json`);
    const truncated = readFileSync(path, 'utf8').slice(0, 200);
    writeFileSync(path, truncated);

    for (const args of [['up', '--stack', STACK, '--image', IMAGE], ['down', '--stack', STACK]]) {
      const refused = await runCli(args, { cwd, env });
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('is not valid JSON');
      expect(refused.stderr).toContain('move it aside');
      expect(readFileSync(path, 'utf8')).toBe(truncated);
    }
    renameSync(path, `${path}.bad`);
    const down = await runCli(['down', '--stack', STACK], { cwd, env });
    expect(down.code).toBe(0);
    expect(counts(await inventory(aws, STACK))).toEqual(NONE);
  });

  it('does not wait for healthy targets on an endpoint that lists no task (plain moto)', async () => {
    const STACK = uniqueStack('e2e');
    const cwd = tempDir();
    const env = emulatorEnv(emulator().endpoint);
    const up = await runCli(['up', '--stack', STACK, '--image', IMAGE, '--json'], { cwd, env });
    expect(up.stderr).toContain(`the endpoint ${emulator().endpoint} lists no task for the service, so it runs no containers`);
    expect(up.code).toBe(0);
    expect(JSON.parse(up.stdout).waited).toBe(false);
    expect((await runCli(['down', '--stack', STACK], { cwd, env })).code).toBe(0);
  });
});
