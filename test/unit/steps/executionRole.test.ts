import {
  AttachRolePolicyCommand,
  CreateRoleCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  DetachRolePolicyCommand,
  GetRoleCommand,
  IAMClient,
  ListAttachedRolePoliciesCommand,
  ListRolePoliciesCommand,
} from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { isMutatingOperation } from '../../../src/aws/clients.js';
import { ExitCode, UsageError } from '../../../src/errors.js';
import { executionRoleStep, roleNameOf } from '../../../src/steps/executionRole.js';
import { awsError, testContext } from '../../helpers/context.js';
import { planContext, planThenEnsure, writesOf } from '../core/planAgreement.js';

const iam = mockClient(IAMClient);
const name = 'demo-us-east-1-task-execution';
const arn = `arn:aws:iam::123456789012:role/${name}`;
const policyArn = 'arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy';
const stackTag = { Key: 'ecs-ha:stack', Value: 'demo' };
const trust = encodeURIComponent(JSON.stringify({ Statement: [{ Principal: { Service: 'ecs-tasks.amazonaws.com' } }] }));
const role = { RoleName: name, Arn: arn, AssumeRolePolicyDocument: trust, Path: '/', RoleId: 'AROA1', CreateDate: new Date() };
const record = { id: name, arn, origin: 'created' } as const;

beforeEach(() => iam.reset());

function mutatingCalls(): string[] {
  return iam
    .calls()
    .map((call) => (call.args[0] as object).constructor.name.replace(/Command$/, ''))
    .filter(isMutatingOperation);
}

describe('task execution role step', () => {
  it('creates a tagged role trusted by ECS tasks, records it, then attaches the execution policy', async () => {
    const ctx = testContext();
    iam.on(GetRoleCommand).rejects(awsError('NoSuchEntityException', 'role not found', 404));
    iam.on(CreateRoleCommand).resolves({ Role: role });
    iam.on(AttachRolePolicyCommand).callsFake(() => {
      expect(ctx.state.get('executionRole')).toEqual(record);
      return {};
    });

    expect(await executionRoleStep.ensure(ctx)).toBe(`created role ${name}`);

    const create = iam.commandCalls(CreateRoleCommand)[0]!.args[0].input;
    expect(create.RoleName).toBe(name);
    expect(create.Tags).toEqual([stackTag, { Key: 'ecs-ha:region', Value: 'us-east-1' }]);
    expect(create.Description).toContain('demo');
    expect(JSON.parse(create.AssumeRolePolicyDocument!)).toEqual({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Service: 'ecs-tasks.amazonaws.com' }, Action: 'sts:AssumeRole' }],
    });
    expect(iam.commandCalls(AttachRolePolicyCommand)[0]!.args[0].input).toEqual({ RoleName: name, PolicyArn: policyArn });
    expect(ctx.state.get('executionRole')).toEqual(record);
  });

  it('understands the wire error code NoSuchEntity as well as the SDK name', async () => {
    const ctx = testContext();
    iam.on(GetRoleCommand).rejects(Object.assign(awsError('NoSuchEntityException'), { Code: 'NoSuchEntity' }));
    iam.on(CreateRoleCommand).resolves({ Role: role });
    iam.on(AttachRolePolicyCommand).resolves({});

    expect(await executionRoleStep.ensure(ctx)).toContain('created');
  });

  it('makes no mutating call when its role exists with the policy attached', async () => {
    const ctx = testContext();
    ctx.state.record('executionRole', record);
    iam.on(GetRoleCommand).resolves({ Role: { ...role, Tags: [stackTag] } });
    iam.on(ListAttachedRolePoliciesCommand).resolves({ AttachedPolicies: [{ PolicyArn: policyArn, PolicyName: 'x' }] });

    expect(await executionRoleStep.ensure(ctx)).toBe(`role ${name} exists`);

    expect(iam.calls()).toHaveLength(2);
    expect(mutatingCalls()).toEqual([]);
  });

  it('re-attaches the execution policy to its own role when it went missing', async () => {
    const ctx = testContext();
    ctx.state.record('executionRole', record);
    iam.on(GetRoleCommand).resolves({ Role: role });
    iam.on(ListAttachedRolePoliciesCommand).resolves({ AttachedPolicies: [] });
    iam.on(AttachRolePolicyCommand).resolves({});

    await executionRoleStep.ensure(ctx);

    expect(mutatingCalls()).toEqual(['AttachRolePolicy']);
    expect(iam.commandCalls(AttachRolePolicyCommand)[0]!.args[0].input).toEqual({ RoleName: name, PolicyArn: policyArn });
  });

  it('adopts an untagged role of the same name, does not change it, and never deletes it', async () => {
    const ctx = testContext();
    iam.on(GetRoleCommand).resolves({ Role: { ...role, Tags: [] } });
    iam.on(ListAttachedRolePoliciesCommand).resolves({ AttachedPolicies: [] });

    expect(await executionRoleStep.ensure(ctx)).toContain('adopted');

    expect(mutatingCalls()).toEqual([]);
    expect(ctx.notices.join('\n')).toContain('lacks AmazonECSTaskExecutionRolePolicy');
    expect(ctx.state.get('executionRole')).toEqual({ ...record, origin: 'adopted' });

    expect(await executionRoleStep.destroy(ctx)).toContain('kept');
    expect(mutatingCalls()).toEqual([]);
    expect(ctx.state.get('executionRole')).toBeUndefined();
  });

  it('treats a tagged role missing from the state as its own', async () => {
    const ctx = testContext();
    iam.on(GetRoleCommand).resolves({ Role: { ...role, Tags: [stackTag] } });
    iam.on(ListAttachedRolePoliciesCommand).resolves({ AttachedPolicies: [{ PolicyArn: policyArn }] });

    expect(await executionRoleStep.ensure(ctx)).toBe(`found role ${name}`);

    expect(ctx.state.get('executionRole')).toEqual(record);
  });

  it('recreates a role deleted behind its back', async () => {
    const ctx = testContext();
    ctx.state.record('executionRole', record);
    iam.on(GetRoleCommand).rejects(awsError('NoSuchEntityException'));
    iam.on(CreateRoleCommand).resolves({ Role: role });
    iam.on(AttachRolePolicyCommand).resolves({});

    await executionRoleStep.ensure(ctx);

    expect(mutatingCalls()).toEqual(['CreateRole', 'AttachRolePolicy']);
  });

  describe('with --execution-role', () => {
    const userArn = 'arn:aws:iam::123456789012:role/service/my-exec';
    const userRole = { ...role, RoleName: 'my-exec', Arn: userArn };

    it('takes the name from a role ARN', () => {
      expect(roleNameOf(userArn)).toBe('my-exec');
      expect(roleNameOf('my-exec')).toBe('my-exec');
    });

    it('adopts the given role without changing it, and says so', async () => {
      const ctx = testContext({ config: { executionRole: userArn } });
      iam.on(GetRoleCommand).resolves({ Role: userRole });
      iam.on(ListAttachedRolePoliciesCommand).resolves({ AttachedPolicies: [{ PolicyArn: policyArn }] });

      expect(await executionRoleStep.ensure(ctx)).toContain('adopted role my-exec');

      expect(iam.commandCalls(GetRoleCommand)[0]!.args[0].input).toEqual({ RoleName: 'my-exec' });
      expect(mutatingCalls()).toEqual([]);
      expect(ctx.state.get('executionRole')).toEqual({ id: 'my-exec', arn: userArn, origin: 'adopted' });
      expect(ctx.notices.join('\n')).toMatch(/adopted.*keeps it/);
    });

    it('adopts even a role carrying the stack tag, and warns when it lacks the policy or the trust', async () => {
      const ctx = testContext({ config: { executionRole: 'my-exec' } });
      iam.on(GetRoleCommand).resolves({ Role: { ...userRole, Tags: [stackTag], AssumeRolePolicyDocument: '{}' } });
      iam.on(ListAttachedRolePoliciesCommand).resolves({ AttachedPolicies: [] });

      await executionRoleStep.ensure(ctx);

      expect(ctx.state.get('executionRole')?.origin).toBe('adopted');
      expect(mutatingCalls()).toEqual([]);
      expect(ctx.notices.join('\n')).toContain('AmazonECSTaskExecutionRolePolicy is not attached');
      expect(ctx.notices.join('\n')).toContain('ecs-tasks.amazonaws.com');
    });

    it('refuses a role that does not exist with a usage error naming the option', async () => {
      const ctx = testContext({ config: { executionRole: 'nope' } });
      iam.on(GetRoleCommand).rejects(awsError('NoSuchEntityException'));

      const error = await executionRoleStep.ensure(ctx).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(UsageError);
      expect((error as UsageError).exitCode).toBe(ExitCode.usage);
      expect((error as UsageError).message).toContain('--execution-role');
      expect(mutatingCalls()).toEqual([]);
    });
  });

  it('detaches managed policies, deletes inline ones, then deletes its role', async () => {
    const ctx = testContext();
    ctx.state.record('executionRole', record);
    iam.on(ListAttachedRolePoliciesCommand).resolves({ AttachedPolicies: [{ PolicyArn: policyArn }, { PolicyArn: 'arn:aws:iam::aws:policy/extra' }] });
    iam.on(ListRolePoliciesCommand).resolves({ PolicyNames: ['inline'] });
    iam.on(DetachRolePolicyCommand).resolves({});
    iam.on(DeleteRolePolicyCommand).resolves({});
    iam.on(DeleteRoleCommand).resolves({});

    expect(await executionRoleStep.destroy(ctx)).toBe(`deleted role ${name}`);

    expect(mutatingCalls()).toEqual(['DetachRolePolicy', 'DetachRolePolicy', 'DeleteRolePolicy', 'DeleteRole']);
    expect(iam.commandCalls(DetachRolePolicyCommand).map((c) => c.args[0].input)).toEqual([
      { RoleName: name, PolicyArn: policyArn },
      { RoleName: name, PolicyArn: 'arn:aws:iam::aws:policy/extra' },
    ]);
    expect(iam.commandCalls(DeleteRolePolicyCommand)[0]!.args[0].input).toEqual({ RoleName: name, PolicyName: 'inline' });
    expect(iam.commandCalls(DeleteRoleCommand)[0]!.args[0].input).toEqual({ RoleName: name });
    expect(ctx.state.get('executionRole')).toBeUndefined();
  });

  it('retries while the role is in conflict, then succeeds', async () => {
    const ctx = testContext();
    ctx.state.record('executionRole', record);
    iam.on(ListAttachedRolePoliciesCommand).resolves({ AttachedPolicies: [] });
    iam.on(ListRolePoliciesCommand).resolves({ PolicyNames: [] });
    iam
      .on(DeleteRoleCommand)
      .rejectsOnce(Object.assign(awsError('DeleteConflictException', 'must detach all policies first', 409), { Code: 'DeleteConflict' }))
      .rejectsOnce(awsError('DeleteConflictException'))
      .resolves({});

    await executionRoleStep.destroy(ctx);

    expect(iam.commandCalls(DeleteRoleCommand)).toHaveLength(3);
    expect(iam.commandCalls(ListAttachedRolePoliciesCommand)).toHaveLength(3);
    expect(ctx.clock.slept).toHaveLength(2);
    expect(ctx.progressLines.join('\n')).toContain('DeleteConflict');
    expect(ctx.state.get('executionRole')).toBeUndefined();
  });

  it('counts a role already gone as removed', async () => {
    const ctx = testContext();
    ctx.state.record('executionRole', record);
    iam.on(ListAttachedRolePoliciesCommand).rejects(awsError('NoSuchEntityException'));

    expect(await executionRoleStep.destroy(ctx)).toBe(`role ${name} was already gone`);

    expect(mutatingCalls()).toEqual([]);
    expect(ctx.state.get('executionRole')).toBeUndefined();
  });

  it('stops on a permanent error and keeps the record', async () => {
    const ctx = testContext();
    ctx.state.record('executionRole', record);
    iam.on(ListAttachedRolePoliciesCommand).resolves({ AttachedPolicies: [] });
    iam.on(ListRolePoliciesCommand).resolves({ PolicyNames: [] });
    iam.on(DeleteRoleCommand).rejects(awsError('AccessDenied', 'not allowed', 403));

    await expect(executionRoleStep.destroy(ctx)).rejects.toThrow('not allowed');
    expect(ctx.clock.slept).toHaveLength(0);
    expect(ctx.state.get('executionRole')).toEqual(record);
  });

  it('discovers only a role carrying the stack tag', async () => {
    const tagged = testContext();
    iam.on(GetRoleCommand).resolves({ Role: { ...role, Tags: [stackTag] } });
    await executionRoleStep.discover(tagged);
    expect(tagged.state.get('executionRole')).toEqual(record);

    iam.reset();
    const untagged = testContext();
    iam.on(GetRoleCommand).resolves({ Role: { ...role, Tags: [{ Key: 'ecs-ha:stack', Value: 'other' }] } });
    await executionRoleStep.discover(untagged);
    expect(untagged.state.get('executionRole')).toBeUndefined();

    iam.reset();
    const missing = testContext();
    iam.on(GetRoleCommand).rejects(awsError('NoSuchEntityException'));
    await executionRoleStep.discover(missing);
    expect(missing.state.get('executionRole')).toBeUndefined();
  });

  describe('one account, several regions', () => {
    it('a stack of the same name in another region makes its own role, not the first region\'s', async () => {
      const ctx = testContext({ region: 'eu-west-1' });
      const euName = 'demo-eu-west-1-task-execution';
      // Only the us-east-1 stack's role exists in the account.
      iam.on(GetRoleCommand).callsFake((input: { RoleName: string }) => {
        if (input.RoleName === name) return { Role: { ...role, Tags: [stackTag, { Key: 'ecs-ha:region', Value: 'us-east-1' }] } };
        throw awsError('NoSuchEntityException', `The role with name ${input.RoleName} cannot be found.`, 404);
      });
      iam.on(CreateRoleCommand).resolves({ Role: { ...role, RoleName: euName, Arn: `arn:aws:iam::123456789012:role/${euName}` } });

      expect(await executionRoleStep.ensure(ctx)).toBe(`created role ${euName}`);
      expect(iam.commandCalls(CreateRoleCommand)[0]!.args[0].input.Tags).toContainEqual({ Key: 'ecs-ha:region', Value: 'eu-west-1' });
      expect(ctx.state.get('executionRole')).toMatchObject({ id: euName, origin: 'created' });
    });

    it('a role of the stack\'s name tagged for another region is not taken as this stack\'s own (kept by down)', async () => {
      const ctx = testContext();
      iam.on(GetRoleCommand).resolves({ Role: { ...role, Tags: [stackTag, { Key: 'ecs-ha:region', Value: 'eu-west-1' }] } });
      iam.on(ListAttachedRolePoliciesCommand).resolves({ AttachedPolicies: [{ PolicyArn: policyArn }] });

      expect(await executionRoleStep.ensure(ctx)).toContain('adopted');
      expect(await executionRoleStep.destroy(ctx)).toContain('kept');
      expect(iam.commandCalls(DeleteRoleCommand)).toHaveLength(0);
    });

    it('down without a state file never finds the older shared role name, which another region may use', async () => {
      const ctx = testContext();
      iam.on(GetRoleCommand).callsFake((input: { RoleName: string }) => {
        if (input.RoleName === 'demo-task-execution') return { Role: { ...role, RoleName: 'demo-task-execution', Tags: [stackTag] } };
        throw awsError('NoSuchEntityException', 'not found', 404);
      });
      await executionRoleStep.discover(ctx);
      expect(ctx.state.get('executionRole')).toBeUndefined();
    });

    it('a stack whose state recorded the older shared name keeps using (and removing) that one', async () => {
      const ctx = testContext();
      const legacy = { id: 'demo-task-execution', arn: 'arn:aws:iam::123456789012:role/demo-task-execution', origin: 'created' as const };
      ctx.state.record('executionRole', legacy);
      iam.on(GetRoleCommand).resolves({ Role: { ...role, RoleName: legacy.id, Arn: legacy.arn, Tags: [stackTag] } });
      iam.on(ListAttachedRolePoliciesCommand).resolves({ AttachedPolicies: [{ PolicyArn: policyArn }] });

      expect(await executionRoleStep.ensure(ctx)).toBe('role demo-task-execution exists');
      expect(iam.commandCalls(GetRoleCommand)[0]!.args[0].input).toEqual({ RoleName: 'demo-task-execution' });
    });
  });
});


describe('task execution role plan', () => {
  const writes = writesOf(iam);
  const noRole = () => awsError('NoSuchEntityException', 'role not found', 404);

  it('create: no role of the name; its ARN, which the task definition names, is foreseen as IAM gives it', async () => {
    const ctx = testContext();
    iam.on(GetRoleCommand).rejects(noRole());
    iam.on(CreateRoleCommand).resolves({ Role: role });
    iam.on(AttachRolePolicyCommand).resolves({});

    expect(await planThenEnsure(executionRoleStep, ctx, writes)).toMatchObject({ action: 'create', resource: `task execution role ${name}` });
  });

  it('keep: its role exists with the policy attached', async () => {
    const ctx = testContext();
    ctx.state.record('executionRole', record);
    iam.on(GetRoleCommand).resolves({ Role: { ...role, Tags: [stackTag] } });
    iam.on(ListAttachedRolePoliciesCommand).resolves({ AttachedPolicies: [{ PolicyArn: policyArn }] });

    expect(await planThenEnsure(executionRoleStep, ctx, writes)).toEqual({ action: 'keep', resource: `task execution role ${name}` });
  });

  it('update: its role lost the execution policy', async () => {
    const ctx = testContext();
    ctx.state.record('executionRole', record);
    iam.on(GetRoleCommand).resolves({ Role: role });
    iam.on(ListAttachedRolePoliciesCommand).resolves({ AttachedPolicies: [] });
    iam.on(AttachRolePolicyCommand).resolves({});

    expect(await planThenEnsure(executionRoleStep, ctx, writes)).toMatchObject({ action: 'update', detail: 'attach AmazonECSTaskExecutionRolePolicy' });
  });

  it('adopt: an untagged role of the name, left as it is even without the policy', async () => {
    const ctx = testContext();
    iam.on(GetRoleCommand).resolves({ Role: { ...role, Tags: [] } });
    iam.on(ListAttachedRolePoliciesCommand).resolves({ AttachedPolicies: [] });

    const change = await planThenEnsure(executionRoleStep, ctx, writes);

    expect(change.action).toBe('adopt');
    expect(change.detail).toContain('lacks AmazonECSTaskExecutionRolePolicy, left as it is');
  });

  it('adopt, then keep: a role given with --execution-role', async () => {
    const userArn = 'arn:aws:iam::123456789012:role/service/my-exec';
    const userRole = { ...role, RoleName: 'my-exec', Arn: userArn };
    const ctx = testContext({ config: { executionRole: userArn } });
    iam.on(GetRoleCommand).resolves({ Role: userRole });
    iam.on(ListAttachedRolePoliciesCommand).resolves({ AttachedPolicies: [{ PolicyArn: policyArn }] });

    expect(await planThenEnsure(executionRoleStep, ctx, writes)).toMatchObject({ action: 'adopt', detail: expect.stringContaining('given with --execution-role') });
    expect((await planThenEnsure(executionRoleStep, ctx, writes)).action).toBe('keep');
  });

  it('a given role that does not exist is the usage error up gives, before anything', async () => {
    const ctx = testContext({ config: { executionRole: 'nope' } });
    iam.on(GetRoleCommand).rejects(noRole());

    await expect(executionRoleStep.plan!(planContext(ctx))).rejects.toBeInstanceOf(UsageError);
  });
});
