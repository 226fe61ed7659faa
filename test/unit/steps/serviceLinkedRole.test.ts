import { CreateServiceLinkedRoleCommand, GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { isMutatingOperation } from '../../../src/aws/clients.js';
import { runGraph } from '../../../src/engine/graph.js';
import { EnvironmentError, ExitCode } from '../../../src/errors.js';
import { clusterStep } from '../../../src/steps/cluster.js';
import { ALL_STEPS } from '../../../src/steps/index.js';
import { serviceStep } from '../../../src/steps/service.js';
import { serviceLinkedRoleStep } from '../../../src/steps/serviceLinkedRole.js';
import { awsError, testContext } from '../../helpers/context.js';
import { planThenEnsure, writesOf } from '../core/planAgreement.js';

const iam = mockClient(IAMClient);
const name = 'AWSServiceRoleForECS';
const arn = `arn:aws:iam::123456789012:role/aws-service-role/ecs.amazonaws.com/${name}`;
const role = { RoleName: name, Arn: arn, Path: '/aws-service-role/ecs.amazonaws.com/', RoleId: 'AROA2', CreateDate: new Date() };

/** IAM errors as the SDK throws them: the exception name, and the wire code in `Code`. */
function iamError(exception: string, code: string, message: string, status = 400): Error {
  return Object.assign(awsError(exception, message, status), { Code: code });
}
const noSuchRole = iamError('NoSuchEntityException', 'NoSuchEntity', `The role with name ${name} cannot be found.`, 404);
const taken = iamError('InvalidInputException', 'InvalidInput', `Service role name ${name} has been taken in this account, please try a different suffix.`);
const createDenied = iamError(
  'AccessDenied',
  'AccessDenied',
  `User: arn:aws:iam::123456789012:user/dev is not authorized to perform: iam:CreateServiceLinkedRole on resource: ${arn}`,
  403,
);
const readDenied = iamError('AccessDenied', 'AccessDenied', `User: arn:aws:iam::123456789012:user/dev is not authorized to perform: iam:GetRole on resource: role ${name}`, 403);

beforeEach(() => iam.reset());

function callNames(): string[] {
  return iam.calls().map((call) => (call.args[0] as object).constructor.name.replace(/Command$/, ''));
}

describe('ECS service-linked role step', () => {
  it('makes no mutating call when the role exists, and records it as kept (not created by ecs-ha)', async () => {
    const ctx = testContext();
    iam.on(GetRoleCommand).resolves({ Role: role });

    expect(await serviceLinkedRoleStep.ensure(ctx)).toContain('exists');

    expect(iam.commandCalls(GetRoleCommand)[0]!.args[0].input).toEqual({ RoleName: name });
    expect(callNames().filter(isMutatingOperation)).toEqual([]);
    expect(ctx.state.get('serviceLinkedRole')).toEqual({
      id: name,
      arn,
      origin: 'adopted',
      details: { awsServiceName: 'ecs.amazonaws.com', createdByEcsHa: false },
    });
  });

  it('creates the role for ecs.amazonaws.com when it is missing, and records that ecs-ha created it', async () => {
    const ctx = testContext();
    iam.on(GetRoleCommand).rejects(noSuchRole);
    iam.on(CreateServiceLinkedRoleCommand).resolves({ Role: role });

    expect(await serviceLinkedRoleStep.ensure(ctx)).toContain(`created service-linked role ${name}`);

    expect(callNames()).toEqual(['GetRole', 'CreateServiceLinkedRole']);
    expect(iam.commandCalls(CreateServiceLinkedRoleCommand)[0]!.args[0].input).toEqual({ AWSServiceName: 'ecs.amazonaws.com' });
    expect(ctx.state.get('serviceLinkedRole')).toEqual({
      id: name,
      arn,
      origin: 'adopted',
      details: { awsServiceName: 'ecs.amazonaws.com', createdByEcsHa: true },
    });
  });

  it('on a re-run looks up the role by the name IAM gave it, and changes nothing', async () => {
    const ctx = testContext();
    const record = { id: 'AWSServiceRoleForecs', arn: 'arn:aws:iam::123456789012:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForecs', origin: 'adopted', details: { awsServiceName: 'ecs.amazonaws.com', createdByEcsHa: true } } as const;
    ctx.state.record('serviceLinkedRole', record);
    iam.on(GetRoleCommand).resolves({ Role: { ...role, RoleName: record.id, Arn: record.arn } });

    await serviceLinkedRoleStep.ensure(ctx);

    expect(callNames()).toEqual(['GetRole']);
    expect(iam.commandCalls(GetRoleCommand)[0]!.args[0].input).toEqual({ RoleName: record.id });
    expect(ctx.state.get('serviceLinkedRole')).toEqual(record);
  });

  it('takes "has been taken" (made meanwhile by another run or by ECS) as: it exists', async () => {
    const ctx = testContext();
    iam.on(GetRoleCommand).rejects(noSuchRole);
    iam.on(CreateServiceLinkedRoleCommand).rejects(taken);

    expect(await serviceLinkedRoleStep.ensure(ctx)).toContain('exists');

    expect(ctx.state.get('serviceLinkedRole')).toMatchObject({ id: name, origin: 'adopted', details: { createdByEcsHa: false, knownOnlyByCreate: true } });

    // The next run trusts that answer instead of repeating the failing create (a no-op up makes no mutating call).
    iam.resetHistory();
    expect(await serviceLinkedRoleStep.ensure(ctx)).toBe(`service-linked role ${name} exists`);
    expect(callNames()).toEqual([]);
  });

  it('does not take another InvalidInput for "exists"', async () => {
    const ctx = testContext();
    iam.on(GetRoleCommand).rejects(noSuchRole);
    iam.on(CreateServiceLinkedRoleCommand).rejects(iamError('InvalidInputException', 'InvalidInput', 'Invalid AWS service name.'));

    await expect(serviceLinkedRoleStep.ensure(ctx)).rejects.toThrow('Invalid AWS service name');
    expect(ctx.state.get('serviceLinkedRole')).toBeUndefined();
  });

  it('exits 3 naming iam:CreateServiceLinkedRole and the one-time admin command when the role is missing and may not be created', async () => {
    const ctx = testContext();
    iam.on(GetRoleCommand).rejects(noSuchRole);
    iam.on(CreateServiceLinkedRoleCommand).rejects(createDenied);

    const error = await serviceLinkedRoleStep.ensure(ctx).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(EnvironmentError);
    expect((error as EnvironmentError).exitCode).toBe(ExitCode.environment);
    expect((error as EnvironmentError).message).toContain('lack the permission iam:CreateServiceLinkedRole');
    expect((error as EnvironmentError).message).toContain(`${name} does not exist in account 123456789012`);
    expect((error as EnvironmentError).hint).toContain('aws iam create-service-linked-role --aws-service-name ecs.amazonaws.com');
    expect(ctx.state.get('serviceLinkedRole')).toBeUndefined();
  });

  it('without iam:GetRole, lets CreateServiceLinkedRole tell whether the role exists', async () => {
    const ctx = testContext();
    iam.on(GetRoleCommand).rejects(readDenied);
    iam.on(CreateServiceLinkedRoleCommand).rejects(taken);

    expect(await serviceLinkedRoleStep.ensure(ctx)).toContain('exists');
    expect(ctx.state.get('serviceLinkedRole')).toMatchObject({ id: name, origin: 'adopted' });
  });

  it('may neither read nor create the role: goes on with a notice that says what to do, and records nothing', async () => {
    const ctx = testContext();
    iam.on(GetRoleCommand).rejects(readDenied);
    iam.on(CreateServiceLinkedRoleCommand).rejects(createDenied);

    expect(await serviceLinkedRoleStep.ensure(ctx)).toContain('not checked');

    expect(ctx.notices.join('\n')).toMatch(/iam:GetRole.*iam:CreateServiceLinkedRole.*aws iam create-service-linked-role --aws-service-name ecs\.amazonaws\.com/s);
    expect(ctx.state.get('serviceLinkedRole')).toBeUndefined();
  });

  it('stops on any other error of the lookup', async () => {
    const ctx = testContext();
    iam.on(GetRoleCommand).rejects(iamError('ServiceFailureException', 'ServiceFailure', 'internal error', 500));

    await expect(serviceLinkedRoleStep.ensure(ctx)).rejects.toThrow('internal error');
    expect(iam.commandCalls(CreateServiceLinkedRoleCommand)).toHaveLength(0);
  });

  it.each([
    ['created by ecs-ha', { origin: 'adopted', details: { awsServiceName: 'ecs.amazonaws.com', createdByEcsHa: true } }],
    ['there before', { origin: 'adopted', details: { awsServiceName: 'ecs.amazonaws.com', createdByEcsHa: false } }],
    ['even if a state file says created', { origin: 'created' }],
  ] as const)('is never deleted by destroy (%s): no IAM call, the record is dropped and the summary says kept', async (_case, fields) => {
    const ctx = testContext();
    ctx.state.record('serviceLinkedRole', { id: name, arn, ...fields });

    const summary = await serviceLinkedRoleStep.destroy(ctx);

    expect(iam.calls()).toHaveLength(0);
    expect(summary).toMatch(new RegExp(`^kept service-linked role ${name} \\(`));
    expect(summary).toContain('never deleted');
    expect(ctx.state.get('serviceLinkedRole')).toBeUndefined();
  });

  it('discovery (down without a state file) records nothing, so nothing of it is up for deletion', async () => {
    const ctx = testContext();
    iam.on(GetRoleCommand).resolves({ Role: role });

    await serviceLinkedRoleStep.discover(ctx);

    expect(ctx.state.isEmpty()).toBe(true);
  });

  it('runs before the cluster and the service on up, and after them on down', async () => {
    expect(ALL_STEPS).toContain(serviceLinkedRoleStep);
    expect(clusterStep.dependsOn).toContain(serviceLinkedRoleStep.id);
    const order = async (reverse: boolean) => {
      const ran: string[] = [];
      await runGraph(ALL_STEPS, async (step) => void ran.push(step.id), { reverse });
      return ran;
    };
    const up = await order(false);
    expect(up.indexOf(serviceLinkedRoleStep.id)).toBeLessThan(up.indexOf(clusterStep.id));
    expect(up.indexOf(serviceLinkedRoleStep.id)).toBeLessThan(up.indexOf(serviceStep.id));
    const down = await order(true);
    expect(down.indexOf(serviceLinkedRoleStep.id)).toBeGreaterThan(down.indexOf(clusterStep.id));
    expect(down.indexOf(serviceLinkedRoleStep.id)).toBeGreaterThan(down.indexOf(serviceStep.id));
  });
});

describe('ECS service-linked role plan', () => {
  const writes = writesOf(iam);

  it('create: a new account has none', async () => {
    const ctx = testContext();
    iam.on(GetRoleCommand).rejects(noSuchRole);
    iam.on(CreateServiceLinkedRoleCommand).resolves({ Role: role });

    expect(await planThenEnsure(serviceLinkedRoleStep, ctx, writes)).toMatchObject({ action: 'create', detail: expect.stringContaining('the account has none') });
  });

  it('create: it may not be read, so up asks IAM to create it', async () => {
    const ctx = testContext();
    iam.on(GetRoleCommand).rejects(readDenied);
    iam.on(CreateServiceLinkedRoleCommand).rejects(taken);

    expect(await planThenEnsure(serviceLinkedRoleStep, ctx, writes)).toMatchObject({ action: 'create', detail: expect.stringContaining('iam:GetRole is not allowed') });
  });

  it('adopt: the account has it and the state does not say so yet (up records it, down keeps it)', async () => {
    const ctx = testContext();
    iam.on(GetRoleCommand).resolves({ Role: role });

    expect((await planThenEnsure(serviceLinkedRoleStep, ctx, writes)).action).toBe('adopt');
  });

  it('keep: recorded and there', async () => {
    const ctx = testContext();
    ctx.state.record('serviceLinkedRole', { id: name, arn, origin: 'adopted', details: { awsServiceName: 'ecs.amazonaws.com', createdByEcsHa: true } });
    iam.on(GetRoleCommand).resolves({ Role: role });

    expect(await planThenEnsure(serviceLinkedRoleStep, ctx, writes)).toMatchObject({ action: 'keep' });
    expect(callNames()).toEqual(['GetRole', 'GetRole']);
  });
});
