import { DescribeLogGroupsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeSecurityGroupsCommand } from '@aws-sdk/client-ec2';
import { DescribeRepositoriesCommand } from '@aws-sdk/client-ecr';
import { DescribeTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localEnv, runCli, tempDir } from './harness.js';
import { emulatorClients } from './inventory.js';

const STACK = 'sec';
const cwd = tempDir();
const env = localEnv();
let state: { resources: Record<string, { id: string; details?: Record<string, unknown> }> };
let aws: ReturnType<typeof emulatorClients>;

// The whole stack, repository included, as `up --local` builds it.
beforeAll(async () => {
  const up = await runCli(['up', '--local', '--stack', STACK], { cwd, env });
  expect(up.code).toBe(0);
  state = JSON.parse(readFileSync(join(cwd, '.ecs-ha', `${STACK}.json`), 'utf8'));
  const emulator = JSON.parse(readFileSync(join(cwd, '.ecs-ha', `${STACK}.emulator.json`), 'utf8'));
  aws = emulatorClients(emulator.endpointUrl);
});
afterAll(async () => {
  expect((await runCli(['down', '--local', '--stack', STACK], { cwd, env })).code).toBe(0);
});

async function ingress(groupId: string) {
  const { SecurityGroups = [] } = await aws.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [groupId] }));
  return SecurityGroups[0]!.IpPermissions ?? [];
}

describe('security of what up builds', () => {
  it('the task security group admits only the app port, only from the load balancer group', async () => {
    const rules = await ingress(state.resources.taskSecurityGroup!.id);
    expect(rules).toHaveLength(1);
    expect(rules[0]).toMatchObject({ IpProtocol: 'tcp', FromPort: 8080, ToPort: 8080 });
    expect(rules[0]!.UserIdGroupPairs?.map((p) => p.GroupId)).toEqual([state.resources.albSecurityGroup!.id]);
    expect(rules[0]!.IpRanges ?? []).toEqual([]);
    expect(rules[0]!.Ipv6Ranges ?? []).toEqual([]);
  });

  it('the load balancer security group admits only the listener port', async () => {
    const rules = await ingress(state.resources.albSecurityGroup!.id);
    expect(rules.map((r) => [r.IpProtocol, r.FromPort, r.ToPort])).toEqual(rules.map(() => ['tcp', 80, 80]));
    const sources = rules.flatMap((r) => [...(r.IpRanges ?? []).map((x) => x.CidrIp), ...(r.Ipv6Ranges ?? []).map((x) => x.CidrIpv6)]);
    expect(sources.sort()).toEqual(['0.0.0.0/0', '::/0']);
    expect(rules.flatMap((r) => r.UserIdGroupPairs ?? [])).toEqual([]);
  });

  it('ECR scans images on push and the log group has a retention', async () => {
    const { repositories = [] } = await aws.ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [STACK] }));
    expect(repositories[0]?.imageScanningConfiguration?.scanOnPush).toBe(true);
    const { logGroups = [] } = await aws.logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: `/ecs/${STACK}` }));
    expect(logGroups[0]?.retentionInDays).toBe(7);
  });

  it('the task definition gives the task no more than it needs', async () => {
    const { taskDefinition } = await aws.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: state.resources.taskDefinition!.id }));
    const container = taskDefinition!.containerDefinitions![0]!;
    expect(container.privileged ?? false).toBe(false);
    expect(taskDefinition!.taskRoleArn).toBeUndefined(); // the app calls no AWS API
    expect(container.environment?.map((e) => e.name).sort()).toEqual(['APP_VERSION', 'PORT']);
  });

  it('the state file is private and holds no secret', () => {
    const path = join(cwd, '.ecs-ha', `${STACK}.json`);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(cwd, '.ecs-ha')).mode & 0o777).toBe(0o700);
    const text = readFileSync(path, 'utf8');
    expect(text).not.toMatch(/secret|password|authorizationToken|testing/i);
  });
});
