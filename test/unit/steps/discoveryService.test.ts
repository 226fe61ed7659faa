import {
  CreateServiceCommand,
  DeleteServiceCommand,
  DeregisterInstanceCommand,
  GetServiceCommand,
  ListInstancesCommand,
  ListNamespacesCommand,
  ListServicesCommand,
  ListTagsForResourceCommand,
  ServiceDiscoveryClient,
} from '@aws-sdk/client-servicediscovery';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { isMutatingOperation } from '../../../src/aws/clients.js';
import { discoveryServiceStep } from '../../../src/steps/discoveryService.js';
import { awsError, testContext, type TestContext } from '../../helpers/context.js';
import { planContext, planThenEnsure, writesOf } from '../core/planAgreement.js';

const sd = mockClient(ServiceDiscoveryClient);
const namespaceId = 'ns-abc123';
const id = 'srv-12345678';
const arn = `arn:aws:servicediscovery:us-east-1:123456789012:service/${id}`;
const summary = { Id: id, Arn: arn, Name: 'app' };
const ourTags = { Tags: [{ Key: 'ecs-ha:stack', Value: 'demo' }] };

function mutatingCalls(): string[] {
  return sd
    .calls()
    .map((call) => (call.args[0] as object).constructor.name.replace(/Command$/, ''))
    .filter(isMutatingOperation);
}

function withNamespace(): TestContext {
  const ctx = testContext();
  ctx.state.record('namespace', { id: namespaceId, arn: 'arn:ns', origin: 'created', details: { name: 'demo.local' } });
  return ctx;
}

beforeEach(() => sd.reset());

describe('discovery service step', () => {
  it('creates a tagged A-record service in the namespace and records it at once', async () => {
    const ctx = withNamespace();
    sd.on(ListServicesCommand).resolves({ Services: [] });
    sd.on(CreateServiceCommand).resolves({ Service: { Id: id, Arn: arn, Name: 'app' } });

    expect(await discoveryServiceStep.ensure(ctx)).toBe('created Cloud Map service app');

    expect(sd.commandCalls(ListServicesCommand)[0]!.args[0].input.Filters).toEqual([
      { Name: 'NAMESPACE_ID', Values: [namespaceId], Condition: 'EQ' },
    ]);
    expect(sd.commandCalls(CreateServiceCommand)[0]!.args[0].input).toEqual({
      Name: 'app',
      NamespaceId: namespaceId,
      CreatorRequestId: `ecs-ha-demo-svc-${namespaceId}`,
      DnsConfig: { RoutingPolicy: 'MULTIVALUE', DnsRecords: [{ Type: 'A', TTL: 10 }] },
      HealthCheckCustomConfig: { FailureThreshold: 1 },
      Tags: [{ Key: 'ecs-ha:stack', Value: 'demo' }],
    });
    expect(ctx.state.get('discoveryService')).toEqual({ id, arn, origin: 'created', details: { name: 'app' } });
  });

  it('makes one read call and nothing else when the recorded service exists', async () => {
    const ctx = withNamespace();
    ctx.state.record('discoveryService', { id, arn, origin: 'created', details: { name: 'app' } });
    sd.on(ListServicesCommand).resolves({ Services: [summary] });

    expect(await discoveryServiceStep.ensure(ctx)).toBe('Cloud Map service app exists');

    expect(sd.calls()).toHaveLength(1);
    expect(mutatingCalls()).toEqual([]);
  });

  it('ignores a same-named service of another namespace (the emulator ignores the filter)', async () => {
    const ctx = withNamespace();
    const foreign = { Id: 'srv-foreign', Arn: 'arn:foreign', Name: 'app' };
    sd.on(ListServicesCommand)
      .resolvesOnce({ Services: [foreign, { Id: 'srv-x', Arn: 'arn:x', Name: 'other' }], NextToken: 't2' })
      .resolves({ Services: [summary] });
    sd.on(GetServiceCommand, { Id: 'srv-foreign' }).resolves({ Service: { Id: 'srv-foreign', NamespaceId: 'ns-other' } });
    sd.on(GetServiceCommand, { Id: id }).resolves({ Service: { Id: id, NamespaceId: namespaceId } });
    sd.on(ListTagsForResourceCommand).resolves(ourTags);

    expect(await discoveryServiceStep.ensure(ctx)).toBe('Cloud Map service app found');

    expect(sd.commandCalls(ListServicesCommand)[1]!.args[0].input.NextToken).toBe('t2');
    expect(sd.commandCalls(ListTagsForResourceCommand).map((c) => c.args[0].input.ResourceARN)).toEqual([arn]);
    expect(ctx.state.get('discoveryService')).toMatchObject({ id, origin: 'created' });
    expect(mutatingCalls()).toEqual([]);
  });

  it('adopts an untagged service of the same name and never deletes it', async () => {
    const ctx = withNamespace();
    sd.on(ListServicesCommand).resolves({ Services: [summary] });
    sd.on(GetServiceCommand).resolves({ Service: { Id: id, NamespaceId: namespaceId } });
    sd.on(ListTagsForResourceCommand).resolves({ Tags: [] });

    expect(await discoveryServiceStep.ensure(ctx)).toContain('adopted');
    expect(ctx.state.get('discoveryService')?.origin).toBe('adopted');
    expect(sd.commandCalls(CreateServiceCommand)).toHaveLength(0);

    expect(await discoveryServiceStep.destroy(ctx)).toContain('kept');
    expect(sd.commandCalls(DeleteServiceCommand)).toHaveLength(0);
    expect(ctx.state.get('discoveryService')).toBeUndefined();
  });

  it('recreates a service deleted behind its back', async () => {
    const ctx = withNamespace();
    ctx.state.record('discoveryService', { id: 'srv-gone', arn: 'arn:gone', origin: 'created' });
    sd.on(ListServicesCommand).resolves({ Services: [] });
    sd.on(CreateServiceCommand).resolves({ Service: { Id: id, Arn: arn } });

    await discoveryServiceStep.ensure(ctx);

    expect(sd.commandCalls(CreateServiceCommand)).toHaveLength(1);
    expect(ctx.state.get('discoveryService')?.id).toBe(id);
  });

  it('takes over the service its own earlier request made when the response was lost', async () => {
    const ctx = withNamespace();
    sd.on(ListServicesCommand).resolves({ Services: [] });
    sd.on(CreateServiceCommand).rejects(
      Object.assign(awsError('ServiceAlreadyExists'), { CreatorRequestId: `ecs-ha-demo-svc-${namespaceId}`, ServiceId: id, ServiceArn: arn }),
    );

    await discoveryServiceStep.ensure(ctx);
    expect(ctx.state.get('discoveryService')).toMatchObject({ id, arn, origin: 'created' });
  });

  it('does not claim a service someone else is creating', async () => {
    const ctx = withNamespace();
    sd.on(ListServicesCommand).resolves({ Services: [] });
    sd.on(CreateServiceCommand).rejects(Object.assign(awsError('ServiceAlreadyExists'), { CreatorRequestId: 'theirs', ServiceId: id, ServiceArn: arn }));

    await expect(discoveryServiceStep.ensure(ctx)).rejects.toThrow('ServiceAlreadyExists');
    expect(ctx.state.get('discoveryService')).toBeUndefined();
  });

  it('retries deletion while ECS tasks are still registered, then forgets it', async () => {
    const ctx = withNamespace();
    ctx.state.record('discoveryService', { id, arn, origin: 'created' });
    sd.on(DeleteServiceCommand).rejectsOnce(awsError('ResourceInUse')).rejectsOnce(awsError('ResourceInUse')).resolves({});
    sd.on(ListInstancesCommand).resolves({ Instances: [] });

    expect(await discoveryServiceStep.destroy(ctx)).toBe('deleted Cloud Map service app');

    expect(sd.commandCalls(DeleteServiceCommand).map((c) => c.args[0].input)).toEqual([{ Id: id }, { Id: id }, { Id: id }]);
    expect(ctx.clock.slept).toHaveLength(2);
    expect(ctx.progressLines.join('\n')).toContain('ResourceInUse');
    expect(ctx.state.get('discoveryService')).toBeUndefined();
  });

  it('gives up on a service still in use once the wait time is over', async () => {
    const ctx = withNamespace();
    ctx.waitTimeoutMs = 30_000;
    ctx.state.record('discoveryService', { id, arn, origin: 'created' });
    sd.on(DeleteServiceCommand).rejects(awsError('ResourceInUse'));
    sd.on(ListInstancesCommand).resolves({ Instances: [] });

    await expect(discoveryServiceStep.destroy(ctx)).rejects.toThrow('ResourceInUse');
    expect(ctx.state.get('discoveryService')).toBeDefined();
  });

  it('deregisters the instances ECS left behind, so the deletion does not hang until the timeout', async () => {
    const ctx = withNamespace();
    ctx.state.record('discoveryService', { id, arn, origin: 'created' });
    const left = new Set(['task-a', 'task-b', 'task-c']);
    // Cloud Map refuses to delete a service that still has instances, for as long as it has them.
    sd.on(DeleteServiceCommand).callsFake(() => {
      if (left.size > 0) throw awsError('ResourceInUse', 'Service contains registered instances; delete the instances before deleting the service');
      return {};
    });
    sd.on(ListInstancesCommand)
      .resolvesOnce({ Instances: [{ Id: 'task-a' }, { Id: 'task-b' }], NextToken: 'more' })
      .resolves({ Instances: [{ Id: 'task-c' }] });
    sd.on(DeregisterInstanceCommand).callsFake((input: { InstanceId: string }) => {
      if (input.InstanceId === 'task-b') throw awsError('InstanceNotFound'); // ECS got to it first
      left.delete(input.InstanceId);
      left.delete('task-b');
      return { OperationId: 'op' };
    });

    expect(await discoveryServiceStep.destroy(ctx)).toBe('deleted Cloud Map service app');

    expect(sd.commandCalls(ListInstancesCommand).map((c) => c.args[0].input)).toEqual([{ ServiceId: id }, { ServiceId: id, NextToken: 'more' }]);
    expect(sd.commandCalls(DeregisterInstanceCommand).map((c) => c.args[0].input.InstanceId)).toEqual(['task-a', 'task-b', 'task-c']);
    expect(ctx.progressLines.join('\n')).toContain('deregistered 3 instance(s) ECS left');
    expect(ctx.state.get('discoveryService')).toBeUndefined();
  });

  it('counts a service already gone as removed', async () => {
    const ctx = withNamespace();
    ctx.state.record('discoveryService', { id, arn, origin: 'created' });
    sd.on(DeleteServiceCommand).rejects(awsError('ServiceNotFound'));

    await discoveryServiceStep.destroy(ctx);

    expect(ctx.state.get('discoveryService')).toBeUndefined();
  });

  it('stops on a permanent error and keeps the record', async () => {
    const ctx = withNamespace();
    ctx.state.record('discoveryService', { id, arn, origin: 'created' });
    sd.on(DeleteServiceCommand).rejects(awsError('AccessDeniedException'));

    await expect(discoveryServiceStep.destroy(ctx)).rejects.toThrow('AccessDeniedException');
    expect(sd.commandCalls(DeleteServiceCommand)).toHaveLength(1);
    expect(ctx.state.get('discoveryService')).toBeDefined();
  });

  it('discovers only a service carrying the stack tag', async () => {
    const tagged = withNamespace();
    sd.on(ListServicesCommand).resolves({ Services: [summary] });
    sd.on(GetServiceCommand).resolves({ Service: { Id: id, NamespaceId: namespaceId } });
    sd.on(ListTagsForResourceCommand).resolves(ourTags);
    await discoveryServiceStep.discover(tagged);
    expect(tagged.state.get('discoveryService')).toEqual({ id, arn, origin: 'created', details: { name: 'app' } });

    sd.reset();
    const untagged = withNamespace();
    sd.on(ListServicesCommand).resolves({ Services: [summary] });
    sd.on(GetServiceCommand).resolves({ Service: { Id: id, NamespaceId: namespaceId } });
    sd.on(ListTagsForResourceCommand).resolves({ Tags: [] });
    await discoveryServiceStep.discover(untagged);
    expect(untagged.state.get('discoveryService')).toBeUndefined();
  });

  it('discovers its service inside an adopted (unrecorded) namespace found by name', async () => {
    const ctx = testContext();
    sd.on(ListNamespacesCommand).resolves({ Namespaces: [{ Id: namespaceId, Arn: 'arn:ns', Name: 'demo.local', Type: 'DNS_PRIVATE' }] });
    sd.on(ListServicesCommand).resolves({ Services: [summary] });
    sd.on(GetServiceCommand).resolves({ Service: { Id: id, NamespaceId: namespaceId } });
    sd.on(ListTagsForResourceCommand).resolves(ourTags);

    await discoveryServiceStep.discover(ctx);

    expect(ctx.state.get('discoveryService')).toMatchObject({ id, origin: 'created' });
  });
});

describe('discovery service plan', () => {
  const writes = writesOf(sd);

  it('create: a new namespace holds no service, and is not asked', async () => {
    const planCtx = planContext(testContext());
    planCtx.state.foreseeNew('namespace', 'Cloud Map namespace');

    expect(await discoveryServiceStep.plan!(planCtx)).toMatchObject({ action: 'create', resource: 'Cloud Map service app.demo.local' });
    expect(sd.calls()).toHaveLength(0);
  });

  it('create: no service of the name in the namespace', async () => {
    const ctx = withNamespace();
    sd.on(ListServicesCommand).resolves({ Services: [] });
    sd.on(CreateServiceCommand).resolves({ Service: { Id: id, Arn: arn, Name: 'app' } });

    expect((await planThenEnsure(discoveryServiceStep, ctx, writes)).action).toBe('create');
  });

  it('keep: the recorded service', async () => {
    const ctx = withNamespace();
    ctx.state.record('discoveryService', { id, arn, origin: 'created', details: { name: 'app' } });
    sd.on(ListServicesCommand).resolves({ Services: [summary] });

    expect(await planThenEnsure(discoveryServiceStep, ctx, writes)).toEqual({ action: 'keep', resource: 'Cloud Map service app.demo.local' });
  });

  it('adopt: an untagged service of the name in the namespace', async () => {
    const ctx = withNamespace();
    sd.on(ListServicesCommand).resolves({ Services: [summary] });
    sd.on(GetServiceCommand).resolves({ Service: { Id: id, Arn: arn, Name: 'app', NamespaceId: namespaceId } });
    sd.on(ListTagsForResourceCommand).resolves({ Tags: [] });

    expect((await planThenEnsure(discoveryServiceStep, ctx, writes)).action).toBe('adopt');
  });
});
