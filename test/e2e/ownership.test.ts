/**
 * The review's case, against the emulator: a state file edited by hand to point at the user's own
 * ECR repository, role and security group. `down` must touch none of them, say so (exit 1), and
 * still remove the stack's own resources.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateSecurityGroupCommand, DescribeSecurityGroupsCommand, DescribeVpcsCommand } from '@aws-sdk/client-ec2';
import { CreateRepositoryCommand, DescribeRepositoriesCommand } from '@aws-sdk/client-ecr';
import { AttachRolePolicyCommand, CreateRoleCommand, GetRoleCommand, ListAttachedRolePoliciesCommand } from '@aws-sdk/client-iam';
import { describe, expect, it } from 'vitest';
import { isMutatingOperation } from '../../src/aws/clients.js';
import { emulatorEnv, emulatorPerFile, MOTO_ACCOUNT, PREBUILT_IMAGE, readTrace, runCli, tempDir, uniqueStack } from './harness.js';
import { counts, emulatorClients, inventory, NONE } from './inventory.js';

const emulator = emulatorPerFile();

describe('down with a state file edited to point at what the user owns', () => {
  it("leaves the user's repository, role (and its policies) and security group alone, exits 1 naming them, and removes the stack's own", async () => {
    const STACK = uniqueStack('own');
    const cwd = tempDir();
    const env = emulatorEnv(emulator().endpoint);
    const aws = emulatorClients(emulator().endpoint);
    const up = await runCli(['up', '--stack', STACK, '--image', PREBUILT_IMAGE, '--no-wait'], { cwd, env });
    expect(up.code, up.stderr).toBe(0);

    // The user's own things, in the same account.
    const { repository } = await aws.ecr.send(new CreateRepositoryCommand({ repositoryName: 'prod-images' }));
    const { Role } = await aws.iam.send(new CreateRoleCommand({ RoleName: 'prod-admin', AssumeRolePolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [] }) }));
    await aws.iam.send(new AttachRolePolicyCommand({ RoleName: 'prod-admin', PolicyArn: 'arn:aws:iam::aws:policy/AdministratorAccess' }));
    const { Vpcs = [] } = await aws.ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'is-default', Values: ['true'] }] }));
    const { GroupId } = await aws.ec2.send(new CreateSecurityGroupCommand({ GroupName: 'prod-db', Description: 'prod database', VpcId: Vpcs[0]!.VpcId! }));

    // The edit: three records now name the user's resources, one an ARN of another account.
    const path = join(cwd, '.ecs-ha', `${STACK}.json`);
    const state = JSON.parse(readFileSync(path, 'utf8'));
    state.resources.repository = { id: 'prod-images', arn: repository!.repositoryArn, origin: 'created' };
    state.resources.executionRole = { id: 'prod-admin', arn: Role!.Arn, origin: 'created' };
    state.resources.taskSecurityGroup = { id: GroupId, origin: 'created' };
    state.resources.logGroup = { id: `/ecs/${STACK}`, arn: `arn:aws:logs:us-east-1:999999999999:log-group:/ecs/${STACK}`, origin: 'created' };
    writeFileSync(path, JSON.stringify(state));

    const trace = join(cwd, 'down.jsonl');
    const down = await runCli(['down', '--stack', STACK, '--json', '--trace', trace], { cwd, env });

    expect(down.code, down.stderr).toBe(1);
    const result = JSON.parse(down.stdout);
    expect(result.skipped.map((s: { resource: string }) => s.resource).sort()).toEqual(
      [`executionRole prod-admin`, `logGroup /ecs/${STACK}`, 'repository prod-images', `taskSecurityGroup ${GroupId}`].sort(),
    );
    expect(down.stderr).toContain(`not provably stack "${STACK}"'s`);
    // Untouched: the user's repository, the role with its policy, the group.
    await expect(aws.ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['prod-images'] }))).resolves.toBeDefined();
    await expect(aws.iam.send(new GetRoleCommand({ RoleName: 'prod-admin' }))).resolves.toBeDefined();
    const { AttachedPolicies = [] } = await aws.iam.send(new ListAttachedRolePoliciesCommand({ RoleName: 'prod-admin' }));
    expect(AttachedPolicies.map((p) => p.PolicyName)).toEqual(['AdministratorAccess']);
    const { SecurityGroups = [] } = await aws.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [GroupId!] }));
    expect(SecurityGroups).toHaveLength(1);
    // No write call named any of them, and nothing was sent about the other account.
    const writes = readTrace(trace).filter((call) => isMutatingOperation(call.operation)).map((call) => JSON.stringify(call.input));
    for (const theirs of ['prod-images', 'prod-admin', GroupId!]) expect(writes.join('\n')).not.toContain(theirs);
    expect(readTrace(trace).map((call) => JSON.stringify(call.input)).join('\n')).not.toContain('999999999999');
    // The stack's own role, task security group and log group were found by name and tag and removed.
    expect(counts(await inventory(aws, STACK))).toEqual(NONE);
    expect(result.account).toBe(MOTO_ACCOUNT);
  });
});
