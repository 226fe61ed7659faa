/**
 * A state file is only a file: one edited by hand (or copied from elsewhere) must not make `down`
 * delete what the user owns. Each test plants records and checks that nothing outside the stack is
 * touched, what the result says, and that the stack's own resources are still removed.
 */
import { DeleteRepositoryCommand, DescribeRepositoriesCommand, ECRClient, ListTagsForResourceCommand as ListEcrTags } from '@aws-sdk/client-ecr';
import { DeleteSecurityGroupCommand, DescribeSecurityGroupsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { ApplicationAutoScalingClient, DescribeScalableTargetsCommand } from '@aws-sdk/client-application-auto-scaling';
import { CloudWatchLogsClient, DescribeLogGroupsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DeleteServiceCommand, DescribeClustersCommand, DescribeServicesCommand, DescribeTaskDefinitionCommand, ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { ListNamespacesCommand, ServiceDiscoveryClient } from '@aws-sdk/client-servicediscovery';
import {
  DeleteLoadBalancerCommand,
  DeleteListenerCommand,
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeTagsCommand,
  DescribeTargetGroupsCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { DeleteRoleCommand, DetachRolePolicyCommand, GetRoleCommand, IAMClient, ListAttachedRolePoliciesCommand, ListRolePoliciesCommand } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { AwsClients } from '../../../src/aws/clients.js';
import { runDown, skippedError } from '../../../src/commands/down.js';
import { ExitCode } from '../../../src/errors.js';
import type { Session } from '../../../src/session.js';
import { StateStore } from '../../../src/state/store.js';
import { createReporter } from '../../../src/ui/reporter.js';
import { ACCOUNT, awsError, fakeClock, REGION, scriptedRunner } from '../../helpers/context.js';

const ecr = mockClient(ECRClient);
const iam = mockClient(IAMClient);
const ec2 = mockClient(EC2Client);
const ecs = mockClient(ECSClient);
const elbv2 = mockClient(ElasticLoadBalancingV2Client);
const sts = mockClient(STSClient);
const logs = mockClient(CloudWatchLogsClient);
const sd = mockClient(ServiceDiscoveryClient);
const autoScaling = mockClient(ApplicationAutoScalingClient);

const OTHER_ACCOUNT = '999999999999';
const STACK_TAG = { Key: 'ecs-ha:stack', Value: 'demo' };

function session(): Session & { warnings: string[] } {
  const warnings: string[] = [];
  const sink = { write: () => true } as unknown as NodeJS.WritableStream;
  const stderr = { write: (text: string) => (warnings.push(text), true) } as unknown as NodeJS.WritableStream;
  return {
    warnings,
    stack: 'demo',
    stateDir: mkdtempSync(join(tmpdir(), 'ecs-ha-own-')),
    local: false,
    json: false,
    aws: new AwsClients({ region: REGION, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 }),
    reporter: createReporter({ json: false, interactive: false, stdout: sink, stderr }),
    clock: fakeClock(),
    runner: scriptedRunner(),
    signal: new AbortController().signal,
  };
}

function plant(s: Session, records: Record<string, { id: string; arn?: string; origin: 'created' | 'adopted' }>): void {
  const state = StateStore.open(s.stateDir, 'demo', ACCOUNT, REGION);
  for (const [key, record] of Object.entries(records)) state.record(key, record);
}

const down = (s: Session) => runDown(s, { yes: true, timeoutMs: 60_000, ask: async () => true });

beforeEach(() => {
  for (const client of [ecr, iam, ec2, ecs, elbv2, sts, logs, sd, autoScaling]) client.reset();
  sts.on(GetCallerIdentityCommand).resolves({ Account: ACCOUNT });
  // Nothing of the stack's own exists unless a test says so.
  ecr.on(DescribeRepositoriesCommand).rejects(awsError('RepositoryNotFoundException', "The repository with name 'demo' does not exist in the registry with id '123456789012'"));
  iam.on(GetRoleCommand).rejects(awsError('NoSuchEntityException', 'The role with name demo-us-east-1-task-execution cannot be found.', 404));
  ec2.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [] });
  ecs.on(DescribeServicesCommand).resolves({ services: [] });
  elbv2.on(DescribeListenersCommand).resolves({ Listeners: [] });
  // What a look for the stack's own resources by name and tag finds: nothing.
  ecs.on(DescribeClustersCommand).resolves({ clusters: [], failures: [{ arn: 'demo', reason: 'MISSING' }] });
  ecs.on(DescribeTaskDefinitionCommand).rejects(awsError('ClientException', 'Unable to describe task definition.'));
  logs.on(DescribeLogGroupsCommand).resolves({ logGroups: [] });
  elbv2.on(DescribeTargetGroupsCommand).rejects(awsError('TargetGroupNotFoundException', 'One or more target groups not found'));
  sd.on(ListNamespacesCommand).resolves({ Namespaces: [] });
  autoScaling.on(DescribeScalableTargetsCommand).resolves({ ScalableTargets: [] });
});

describe('down with a state file edited to point at what the user owns', () => {
  it("skips a repository of another name (the user's prod-images), deletes none of its images, and still removes the stack's own repository", async () => {
    const s = session();
    plant(s, { repository: { id: 'prod-images', arn: `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/prod-images`, origin: 'created' } });
    const ownArn = `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/demo`;
    ecr.on(DescribeRepositoriesCommand, { repositoryNames: ['demo'] }).resolves({ repositories: [{ repositoryName: 'demo', repositoryArn: ownArn, repositoryUri: 'x/demo' }] });
    ecr.on(ListEcrTags, { resourceArn: ownArn }).resolves({ tags: [STACK_TAG] });
    ecr.on(DeleteRepositoryCommand).resolves({});

    const result = await down(s);

    const deletes = ecr.commandCalls(DeleteRepositoryCommand).map((c) => c.args[0].input.repositoryName);
    expect(deletes).toEqual(['demo']);
    expect(result.skipped).toEqual([{ resource: 'repository prod-images', reason: expect.stringContaining('"prod-images", not "demo"') }]);
    expect(result.deleted).toEqual(['repository demo']);
    expect(s.warnings.join('')).toContain("skipped ECR repository prod-images: not provably this stack's");
    const error = skippedError(result);
    expect(error).toMatchObject({ exitCode: ExitCode.failed, resultPrinted: true, message: expect.stringContaining('repository prod-images') });
  });

  it('skips a role of another name (prod-admin): no policy detached, no role deleted', async () => {
    const s = session();
    plant(s, { executionRole: { id: 'prod-admin', arn: `arn:aws:iam::${ACCOUNT}:role/prod-admin`, origin: 'created' } });

    const result = await down(s);

    expect(iam.commandCalls(DetachRolePolicyCommand)).toHaveLength(0);
    expect(iam.commandCalls(DeleteRoleCommand)).toHaveLength(0);
    expect(iam.commandCalls(GetRoleCommand).map((c) => c.args[0].input.RoleName)).not.toContain('prod-admin');
    expect(result.skipped[0]).toMatchObject({ resource: 'executionRole prod-admin' });
    expect(result.deleted).toEqual([]);
  });

  it("skips a role of the stack's name that lacks the stack tag (someone else made it)", async () => {
    const s = session();
    const name = 'demo-us-east-1-task-execution';
    plant(s, { executionRole: { id: name, arn: `arn:aws:iam::${ACCOUNT}:role/${name}`, origin: 'created' } });
    iam.on(GetRoleCommand).resolves({ Role: { RoleName: name, Arn: `arn:aws:iam::${ACCOUNT}:role/${name}`, Path: '/', RoleId: 'AROA', CreateDate: new Date(), Tags: [{ Key: 'team', Value: 'prod' }] } });

    const result = await down(s);

    expect(iam.commandCalls(DeleteRoleCommand)).toHaveLength(0);
    expect(iam.commandCalls(ListAttachedRolePoliciesCommand)).toHaveLength(0);
    expect(iam.commandCalls(ListRolePoliciesCommand)).toHaveLength(0);
    expect(result.skipped[0]!.reason).toContain('does not carry the tag ecs-ha:stack=demo');
  });

  it("skips a security group the user owns (another name, no tag) and never sends it a delete", async () => {
    const s = session();
    plant(s, { taskSecurityGroup: { id: 'sg-0123abcd', origin: 'created' } });
    ec2.on(DescribeSecurityGroupsCommand, { GroupIds: ['sg-0123abcd'] }).resolves({ SecurityGroups: [{ GroupId: 'sg-0123abcd', GroupName: 'prod-db', OwnerId: ACCOUNT, Tags: [] }] });

    const result = await down(s);

    expect(ec2.commandCalls(DeleteSecurityGroupCommand)).toHaveLength(0);
    expect(result.skipped[0]).toMatchObject({ resource: 'taskSecurityGroup sg-0123abcd', reason: expect.stringContaining('"prod-db", not "demo-tasks"') });
  });

  it('never sends a call about a record whose ARN is in another account or region', async () => {
    const s = session();
    const foreignLb = `arn:aws:elasticloadbalancing:${REGION}:${OTHER_ACCOUNT}:loadbalancer/app/demo-alb/50dc6c495c0c9188`;
    const otherRegionListener = `arn:aws:elasticloadbalancing:eu-west-1:${ACCOUNT}:listener/app/demo-alb/50dc6c495c0c9188/f2f7dc8efc522ab2`;
    plant(s, { loadBalancer: { id: foreignLb, arn: foreignLb, origin: 'created' }, listener: { id: otherRegionListener, arn: otherRegionListener, origin: 'created' } });
    elbv2.on(DescribeLoadBalancersCommand).rejects(awsError('LoadBalancerNotFoundException', 'One or more load balancers not found'));

    const result = await down(s);

    const sentArns = elbv2.calls().flatMap((c) => JSON.stringify(c.args[0].input));
    expect(sentArns.join()).not.toContain(OTHER_ACCOUNT);
    expect(sentArns.join()).not.toContain('eu-west-1');
    expect(elbv2.commandCalls(DeleteLoadBalancerCommand)).toHaveLength(0);
    expect(elbv2.commandCalls(DeleteListenerCommand)).toHaveLength(0);
    expect(result.skipped.map((x) => x.reason)).toEqual([
      expect.stringContaining(`in region eu-west-1, not the stack's region ${REGION}`),
      expect.stringContaining(`in account ${OTHER_ACCOUNT}, not the stack's account ${ACCOUNT}`),
    ]);
    // Not "removed", not "already gone": never ours to check.
    expect(result.alreadyGone).toEqual([]);
    expect(existsSync(join(s.stateDir, 'demo.json'))).toBe(false);
  });

  it('a listener is proved through its load balancer: one of a load balancer that is not the stack\'s is skipped', async () => {
    const s = session();
    const lbArn = `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:loadbalancer/app/prod-alb/50dc6c495c0c9188`;
    const listenerArn = `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:listener/app/prod-alb/50dc6c495c0c9188/f2f7dc8efc522ab2`;
    plant(s, { listener: { id: listenerArn, arn: listenerArn, origin: 'created' } });
    elbv2.on(DescribeListenersCommand).resolves({ Listeners: [{ ListenerArn: listenerArn, LoadBalancerArn: lbArn, Port: 80 }] });
    elbv2.on(DescribeLoadBalancersCommand).resolves({ LoadBalancers: [{ LoadBalancerArn: lbArn, LoadBalancerName: 'prod-alb' }] });
    elbv2.on(DescribeTagsCommand).resolves({ TagDescriptions: [{ ResourceArn: lbArn, Tags: [] }] });

    const result = await down(s);

    expect(elbv2.commandCalls(DeleteListenerCommand)).toHaveLength(0);
    expect(result.skipped[0]!.reason).toMatch(/its load balancer .*prod-alb.* is not this stack's: its name is "prod-alb", not "demo-alb"/);
  });

  it("an ECS service in another cluster (the user's prod cluster) is not scaled down or deleted", async () => {
    const s = session();
    const state = StateStore.open(s.stateDir, 'demo', ACCOUNT, REGION);
    state.record('service', { id: 'demo', arn: `arn:aws:ecs:${REGION}:${ACCOUNT}:service/prod/demo`, origin: 'created', details: { cluster: 'prod' } });

    const result = await down(s);

    expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(0);
    expect(ecs.commandCalls(DeleteServiceCommand)).toHaveLength(0);
    expect(ecs.commandCalls(DescribeServicesCommand).map((c) => c.args[0].input.cluster)).not.toContain('prod');
    expect(result.skipped[0]!.reason).toContain('its cluster is "prod", not "demo"');
  });

  it('a recorded resource of the stack that no longer exists is "already gone", not "deleted"', async () => {
    const s = session();
    plant(s, { repository: { id: 'demo', arn: `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/demo`, origin: 'created' } });

    const result = await down(s);

    expect(ecr.commandCalls(DeleteRepositoryCommand)).toHaveLength(0);
    expect(result).toMatchObject({ deleted: [], alreadyGone: ['repository demo'], skipped: [] });
    expect(skippedError(result)).toBeUndefined();
  });
});
