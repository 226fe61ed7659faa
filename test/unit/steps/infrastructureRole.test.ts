import { AttachRolePolicyCommand, CreateRoleCommand, DeleteRoleCommand, DetachRolePolicyCommand, GetRoleCommand, IAMClient, ListAttachedRolePoliciesCommand, ListRolePoliciesCommand } from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { infrastructureRoleStep } from '../../../src/steps/infrastructureRole.js';
import { ACCOUNT, awsError, testContext } from '../../helpers/context.js';

const iam = mockClient(IAMClient);
const NAME = 'demo-us-east-1-ecs-infra';
const ARN = `arn:aws:iam::${ACCOUNT}:role/${NAME}`;
const POLICY = 'arn:aws:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers';
const role = (tags: Array<{ Key: string; Value: string }>) => ({ Role: { RoleName: NAME, Arn: ARN, Path: '/', RoleId: 'AROA1', CreateDate: new Date(0), Tags: tags } });
const blueGreen = () => testContext({ config: { deployment: { strategy: 'blue-green', bakeMinutes: 2 } } });

beforeEach(() => iam.reset());

describe('the ECS infrastructure role step', () => {
  it('creates a regional role ECS may assume, tagged, with the load balancer policy attached, and records it before attaching', async () => {
    const ctx = blueGreen();
    iam.on(GetRoleCommand).rejects(awsError('NoSuchEntityException', `The role with name ${NAME} cannot be found.`, 404));
    iam.on(CreateRoleCommand).resolves(role([]));
    iam.on(AttachRolePolicyCommand).callsFake(() => {
      expect(ctx.state.get('infrastructureRole')).toEqual({ id: NAME, arn: ARN, origin: 'created' });
      return {};
    });

    expect(await infrastructureRoleStep.ensure(ctx)).toBe(`created role ${NAME}`);

    const create = iam.commandCalls(CreateRoleCommand)[0]!.args[0].input;
    expect(JSON.parse(create.AssumeRolePolicyDocument!)).toEqual({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'ecs.amazonaws.com' }, Action: 'sts:AssumeRole' }] });
    expect(create.Tags).toEqual([{ Key: 'ecs-ha:stack', Value: 'demo' }, { Key: 'ecs-ha:region', Value: 'us-east-1' }]);
    expect(iam.commandCalls(AttachRolePolicyCommand)[0]!.args[0].input).toEqual({ RoleName: NAME, PolicyArn: POLICY });
  });

  it('a re-run reads and writes nothing more', async () => {
    const ctx = blueGreen();
    ctx.state.record('infrastructureRole', { id: NAME, arn: ARN, origin: 'created' });
    iam.on(GetRoleCommand).resolves(role([{ Key: 'ecs-ha:stack', Value: 'demo' }]));
    iam.on(ListAttachedRolePoliciesCommand).resolves({ AttachedPolicies: [{ PolicyArn: POLICY, PolicyName: 'AmazonECSInfrastructureRolePolicyForLoadBalancers' }] });

    expect(await infrastructureRoleStep.ensure(ctx)).toBe(`role ${NAME} exists`);
    expect(iam.commandCalls(CreateRoleCommand)).toHaveLength(0);
    expect(iam.commandCalls(AttachRolePolicyCommand)).toHaveLength(0);
  });

  it("adopts a role of its name without the stack tag, changes nothing on it, and down keeps it", async () => {
    const ctx = blueGreen();
    iam.on(GetRoleCommand).resolves(role([]));
    iam.on(ListAttachedRolePoliciesCommand).resolves({ AttachedPolicies: [] });

    expect(await infrastructureRoleStep.ensure(ctx)).toContain('adopted');
    expect(iam.commandCalls(AttachRolePolicyCommand)).toHaveLength(0);
    expect(ctx.notices.join('\n')).toContain('lacks AmazonECSInfrastructureRolePolicyForLoadBalancers');

    expect(await infrastructureRoleStep.destroy(ctx)).toContain('kept');
    expect(iam.commandCalls(DeleteRoleCommand)).toHaveLength(0);
    expect(iam.commandCalls(DetachRolePolicyCommand)).toHaveLength(0);
  });

  it('a rolling stack has none: no call at all', async () => {
    const ctx = testContext();
    expect(await infrastructureRoleStep.ensure(ctx)).toContain('no ECS infrastructure role');
    expect(iam.calls()).toHaveLength(0);
  });

  it('down detaches the policy and deletes a role it created; gone already counts as gone', async () => {
    const ctx = blueGreen();
    ctx.state.record('infrastructureRole', { id: NAME, arn: ARN, origin: 'created' });
    iam.on(ListAttachedRolePoliciesCommand).resolves({ AttachedPolicies: [{ PolicyArn: POLICY }] });
    iam.on(ListRolePoliciesCommand).resolves({ PolicyNames: [] });
    iam.on(DetachRolePolicyCommand).resolves({});
    iam.on(DeleteRoleCommand).resolves({});

    expect(await infrastructureRoleStep.destroy(ctx)).toBe(`deleted role ${NAME}`);
    expect(iam.commandCalls(DetachRolePolicyCommand)[0]!.args[0].input).toEqual({ RoleName: NAME, PolicyArn: POLICY });
    expect(ctx.state.get('infrastructureRole')).toBeUndefined();
  });

  it("proves ownership by its regional name and the stack tag; another region's role is not this stack's", async () => {
    const ctx = blueGreen();
    iam.on(GetRoleCommand).resolves(role([{ Key: 'ecs-ha:stack', Value: 'demo' }, { Key: 'ecs-ha:region', Value: 'eu-west-1' }]));
    expect(await infrastructureRoleStep.proveOwnership!(ctx, { id: NAME, arn: ARN, origin: 'created' })).toEqual({ kind: 'not-ours', reason: expect.stringContaining('ecs-ha:region=eu-west-1') });
    expect(await infrastructureRoleStep.proveOwnership!(ctx, { id: 'prod-admin', arn: `arn:aws:iam::${ACCOUNT}:role/prod-admin`, origin: 'created' })).toMatchObject({ kind: 'not-ours' });
  });
});
