import {
  CreatePrivateDnsNamespaceCommand,
  DeleteNamespaceCommand,
  GetNamespaceCommand,
  GetOperationCommand,
  ListNamespacesCommand,
  ListTagsForResourceCommand,
  ServiceDiscoveryClient,
} from '@aws-sdk/client-servicediscovery';
import { GetHostedZoneCommand, Route53Client } from '@aws-sdk/client-route-53';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { isMutatingOperation } from '../../../src/aws/clients.js';
import { namespaceStep } from '../../../src/steps/namespace.js';
import { awsError, testContext, type TestContext } from '../../helpers/context.js';
import { planContext, planThenEnsure, single, writesOf } from '../core/planAgreement.js';

const sd = mockClient(ServiceDiscoveryClient);
const route53 = mockClient(Route53Client);
const id = 'ns-abc123';
const arn = `arn:aws:servicediscovery:us-east-1:123456789012:namespace/${id}`;
const summary = { Id: id, Arn: arn, Name: 'demo.local', Type: 'DNS_PRIVATE' as const };
const ourTags = { Tags: [{ Key: 'ecs-ha:stack', Value: 'demo' }] };

function mutatingCalls(): string[] {
  return sd
    .calls()
    .map((call) => (call.args[0] as object).constructor.name.replace(/Command$/, ''))
    .filter(isMutatingOperation);
}

function withNetwork(): TestContext {
  const ctx = testContext();
  ctx.state.record('network', { id: 'vpc-1234abcd', origin: 'adopted', details: { subnetIds: ['subnet-a', 'subnet-b'] } });
  return ctx;
}

beforeEach(() => {
  sd.reset();
  route53.reset();
});

/** GetNamespace → its private hosted zone → the VPCs it is associated with, as AWS answers. */
function namespaceInVpc(namespaceId: string, vpcId: string): void {
  const zone = `Z${namespaceId.toUpperCase().replace(/[^A-Z0-9]/g, '')}`;
  sd.on(GetNamespaceCommand, { Id: namespaceId }).resolves({
    Namespace: { Id: namespaceId, Name: 'demo.local', Type: 'DNS_PRIVATE', Properties: { DnsProperties: { HostedZoneId: zone } } },
  });
  route53.on(GetHostedZoneCommand, { Id: zone }).resolves({
    HostedZone: { Id: `/hostedzone/${zone}`, Name: 'demo.local.', CallerReference: 'ref', Config: { PrivateZone: true } },
    VPCs: [{ VPCRegion: 'us-east-1', VPCId: vpcId }],
  });
}

describe('namespace step', () => {
  it('creates a tagged private namespace in the VPC, waits for the operation and records it', async () => {
    const ctx = withNetwork();
    sd.on(ListNamespacesCommand).resolves({ Namespaces: [] });
    sd.on(CreatePrivateDnsNamespaceCommand).resolves({ OperationId: 'op-1' });
    sd.on(GetOperationCommand, { OperationId: 'op-1' })
      .resolvesOnce({ Operation: { Id: 'op-1', Status: 'PENDING' } })
      .resolves({ Operation: { Id: 'op-1', Status: 'SUCCESS', Targets: { NAMESPACE: id } } });
    sd.on(GetNamespaceCommand, { Id: id }).resolves({ Namespace: { Id: id, Arn: arn, Name: 'demo.local' } });

    expect(await namespaceStep.ensure(ctx)).toBe('created namespace demo.local');

    const create = sd.commandCalls(CreatePrivateDnsNamespaceCommand)[0]!.args[0].input;
    expect(create).toEqual({
      Name: 'demo.local',
      Vpc: 'vpc-1234abcd',
      Tags: [{ Key: 'ecs-ha:stack', Value: 'demo' }],
      CreatorRequestId: 'ecs-ha-demo-ns',
    });
    expect(ctx.clock.slept).toHaveLength(1);
    expect(ctx.state.get('namespace')).toEqual({ id, arn, origin: 'created', details: { name: 'demo.local' } });
  });

  it('asks for private namespaces of its name and matches name and type itself (the emulator ignores filters)', async () => {
    const ctx = withNetwork();
    sd.on(ListNamespacesCommand)
      .resolvesOnce({
        Namespaces: [
          { Id: 'ns-other', Arn: 'arn:other', Name: 'demo.local.example', Type: 'DNS_PRIVATE' },
          { Id: 'ns-public', Arn: 'arn:public', Name: 'demo.local', Type: 'DNS_PUBLIC' },
        ],
        NextToken: 'page-2',
      })
      .resolves({ Namespaces: [summary] });
    sd.on(ListTagsForResourceCommand).resolves(ourTags);

    expect(await namespaceStep.ensure(ctx)).toBe('namespace demo.local found');

    const lists = sd.commandCalls(ListNamespacesCommand).map((c) => c.args[0].input);
    expect(lists[0]!.Filters).toEqual([
      { Name: 'TYPE', Values: ['DNS_PRIVATE'], Condition: 'EQ' },
      { Name: 'NAME', Values: ['demo.local'], Condition: 'EQ' },
    ]);
    expect(lists[1]!.NextToken).toBe('page-2');
    expect(sd.commandCalls(ListTagsForResourceCommand).map((c) => c.args[0].input.ResourceARN)).toEqual([arn]);
    expect(ctx.state.get('namespace')).toMatchObject({ id, origin: 'created' });
  });

  it('makes one read call and nothing else when the recorded namespace exists', async () => {
    const ctx = withNetwork();
    ctx.state.record('namespace', { id, arn, origin: 'created', details: { name: 'demo.local' } });
    sd.on(ListNamespacesCommand).resolves({ Namespaces: [summary] });

    expect(await namespaceStep.ensure(ctx)).toBe('namespace demo.local exists');

    expect(sd.calls()).toHaveLength(1);
    expect(mutatingCalls()).toEqual([]);
  });

  it("adopts an untagged namespace of the same name in the stack's VPC and never deletes it", async () => {
    const ctx = withNetwork();
    sd.on(ListNamespacesCommand).resolves({ Namespaces: [summary] });
    sd.on(ListTagsForResourceCommand).resolves({ Tags: [] });
    namespaceInVpc(id, 'vpc-1234abcd');

    expect(await namespaceStep.ensure(ctx)).toContain('adopted');
    expect(ctx.state.get('namespace')?.origin).toBe('adopted');
    expect(ctx.notices.join('\n')).toContain('demo.local');

    expect(await namespaceStep.destroy(ctx)).toContain('kept');
    expect(sd.commandCalls(DeleteNamespaceCommand)).toHaveLength(0);
    expect(ctx.state.get('namespace')).toBeUndefined();
  });

  it("does not adopt a namespace of its name in another VPC: names it and creates its own in the stack's VPC", async () => {
    const ctx = withNetwork();
    const theirs = { ...summary, Id: 'ns-theirs', Arn: 'arn:aws:servicediscovery:us-east-1:123456789012:namespace/ns-theirs' };
    sd.on(ListNamespacesCommand).resolves({ Namespaces: [theirs] });
    sd.on(ListTagsForResourceCommand).resolves({ Tags: [] });
    namespaceInVpc('ns-theirs', 'vpc-0other');
    sd.on(CreatePrivateDnsNamespaceCommand).resolves({ OperationId: 'op-1' });
    sd.on(GetOperationCommand, { OperationId: 'op-1' }).resolves({ Operation: { Id: 'op-1', Status: 'SUCCESS', Targets: { NAMESPACE: id } } });
    sd.on(GetNamespaceCommand, { Id: id }).resolves({ Namespace: { Id: id, Arn: arn, Name: 'demo.local' } });

    expect(await namespaceStep.ensure(ctx)).toBe('created namespace demo.local');

    expect(sd.commandCalls(CreatePrivateDnsNamespaceCommand)[0]!.args[0].input).toMatchObject({ Name: 'demo.local', Vpc: 'vpc-1234abcd' });
    expect(ctx.state.get('namespace')).toMatchObject({ id, origin: 'created' });
    expect(ctx.notices.join('\n')).toMatch(/ns-theirs\) is in vpc-0other, not in the stack's VPC vpc-1234abcd/);
  });

  it('prefers the tagged one when two namespaces share the name', async () => {
    const ctx = withNetwork();
    const other = { ...summary, Id: 'ns-theirs', Arn: 'arn:theirs' };
    sd.on(ListNamespacesCommand).resolves({ Namespaces: [other, summary] });
    sd.on(ListTagsForResourceCommand, { ResourceARN: 'arn:theirs' }).resolves({ Tags: [] });
    sd.on(ListTagsForResourceCommand, { ResourceARN: arn }).resolves(ourTags);

    await namespaceStep.ensure(ctx);

    expect(ctx.state.get('namespace')).toMatchObject({ id, origin: 'created' });
  });

  it('recreates a namespace deleted behind its back', async () => {
    const ctx = withNetwork();
    ctx.state.record('namespace', { id: 'ns-gone', arn: 'arn:gone', origin: 'created', details: { name: 'demo.local' } });
    sd.on(ListNamespacesCommand).resolves({ Namespaces: [] });
    sd.on(CreatePrivateDnsNamespaceCommand).resolves({ OperationId: 'op-2' });
    sd.on(GetOperationCommand).resolves({ Operation: { Status: 'SUCCESS', Targets: { NAMESPACE: id } } });
    sd.on(GetNamespaceCommand).resolves({ Namespace: { Id: id, Arn: arn } });

    await namespaceStep.ensure(ctx);

    expect(sd.commandCalls(CreatePrivateDnsNamespaceCommand)).toHaveLength(1);
    expect(ctx.state.get('namespace')?.id).toBe(id);
  });

  it('creates again with a fresh request id when the stable one answers with a namespace deleted since', async () => {
    const ctx = withNetwork();
    sd.on(ListNamespacesCommand).resolves({ Namespaces: [] });
    sd.on(CreatePrivateDnsNamespaceCommand).resolvesOnce({ OperationId: 'op-old' }).resolves({ OperationId: 'op-new' });
    sd.on(GetOperationCommand, { OperationId: 'op-old' }).resolves({ Operation: { Status: 'SUCCESS', Targets: { NAMESPACE: 'ns-deleted' } } });
    sd.on(GetOperationCommand, { OperationId: 'op-new' }).resolves({ Operation: { Status: 'SUCCESS', Targets: { NAMESPACE: id } } });
    sd.on(GetNamespaceCommand, { Id: 'ns-deleted' }).rejects(awsError('NamespaceNotFound'));
    sd.on(GetNamespaceCommand, { Id: id }).resolves({ Namespace: { Id: id, Arn: arn } });

    await namespaceStep.ensure(ctx);

    const tokens = sd.commandCalls(CreatePrivateDnsNamespaceCommand).map((c) => c.args[0].input.CreatorRequestId);
    expect(tokens[0]).toBe('ecs-ha-demo-ns');
    expect(tokens[1]).toMatch(/^ecs-ha-demo-ns-\d+$/);
    expect(ctx.state.get('namespace')).toMatchObject({ id, arn, origin: 'created' });
  });

  it('reports a failed create operation with its error message', async () => {
    const ctx = withNetwork();
    sd.on(ListNamespacesCommand).resolves({ Namespaces: [] });
    sd.on(CreatePrivateDnsNamespaceCommand).resolves({ OperationId: 'op-3' });
    sd.on(GetOperationCommand).resolves({ Operation: { Status: 'FAIL', ErrorCode: 'CANNOT_CREATE_HOSTED_ZONE', ErrorMessage: 'zone limit reached' } });

    await expect(namespaceStep.ensure(ctx)).rejects.toThrow(/CANNOT_CREATE_HOSTED_ZONE: zone limit reached/);
    expect(ctx.state.get('namespace')).toBeUndefined();
  });

  it('follows a create already in progress instead of failing on DuplicateRequest', async () => {
    const ctx = withNetwork();
    sd.on(ListNamespacesCommand).resolves({ Namespaces: [] });
    sd.on(CreatePrivateDnsNamespaceCommand).rejects(Object.assign(awsError('DuplicateRequest'), { DuplicateOperationId: 'op-running' }));
    sd.on(GetOperationCommand, { OperationId: 'op-running' }).resolves({ Operation: { Status: 'SUCCESS', Targets: { NAMESPACE: id } } });
    sd.on(GetNamespaceCommand).resolves({ Namespace: { Id: id, Arn: arn } });

    await namespaceStep.ensure(ctx);

    expect(ctx.state.get('namespace')).toMatchObject({ id, origin: 'created' });
  });

  it('deletes the namespace, waiting for the operation, and forgets it', async () => {
    const ctx = withNetwork();
    ctx.state.record('namespace', { id, arn, origin: 'created', details: { name: 'demo.local' } });
    sd.on(DeleteNamespaceCommand).resolves({ OperationId: 'op-del' });
    sd.on(GetOperationCommand, { OperationId: 'op-del' })
      .resolvesOnce({ Operation: { Status: 'SUBMITTED' } })
      .resolves({ Operation: { Status: 'SUCCESS' } });

    expect(await namespaceStep.destroy(ctx)).toBe('deleted namespace demo.local');

    expect(sd.commandCalls(DeleteNamespaceCommand)[0]!.args[0].input).toEqual({ Id: id });
    expect(sd.commandCalls(GetOperationCommand)).toHaveLength(2);
    expect(ctx.state.get('namespace')).toBeUndefined();
  });

  it('retries deletion while services are still in the namespace', async () => {
    const ctx = withNetwork();
    ctx.state.record('namespace', { id, arn, origin: 'created' });
    sd.on(DeleteNamespaceCommand)
      .rejectsOnce(awsError('ResourceInUse'))
      .rejectsOnce(awsError('ResourceInUse'))
      .resolves({ OperationId: 'op-del' });
    sd.on(GetOperationCommand).resolves({ Operation: { Status: 'SUCCESS' } });

    await namespaceStep.destroy(ctx);

    expect(sd.commandCalls(DeleteNamespaceCommand)).toHaveLength(3);
    expect(ctx.clock.slept).toHaveLength(2);
    expect(ctx.progressLines.join('\n')).toContain('ResourceInUse');
    expect(ctx.state.get('namespace')).toBeUndefined();
  });

  it('counts a namespace already gone as removed', async () => {
    const ctx = withNetwork();
    ctx.state.record('namespace', { id, arn, origin: 'created' });
    sd.on(DeleteNamespaceCommand).rejects(awsError('NamespaceNotFound'));

    await namespaceStep.destroy(ctx);

    expect(ctx.state.get('namespace')).toBeUndefined();
  });

  it('stops on a permanent error and keeps the record', async () => {
    const ctx = withNetwork();
    ctx.state.record('namespace', { id, arn, origin: 'created' });
    sd.on(DeleteNamespaceCommand).rejects(awsError('AccessDeniedException'));

    await expect(namespaceStep.destroy(ctx)).rejects.toThrow('AccessDeniedException');
    expect(sd.commandCalls(DeleteNamespaceCommand)).toHaveLength(1);
    expect(ctx.state.get('namespace')).toBeDefined();
  });

  it('discovers only a namespace carrying the stack tag', async () => {
    const tagged = testContext();
    sd.on(ListNamespacesCommand).resolves({ Namespaces: [summary] });
    sd.on(ListTagsForResourceCommand).resolves(ourTags);
    await namespaceStep.discover(tagged);
    expect(tagged.state.get('namespace')).toEqual({ id, arn, origin: 'created', details: { name: 'demo.local' } });

    sd.reset();
    const untagged = testContext();
    sd.on(ListNamespacesCommand).resolves({ Namespaces: [summary] });
    sd.on(ListTagsForResourceCommand).resolves({ Tags: [{ Key: 'ecs-ha:stack', Value: 'other' }] });
    await namespaceStep.discover(untagged);
    expect(untagged.state.get('namespace')).toBeUndefined();
  });
});

describe('namespace plan', () => {
  const writes = writesOf(sd, route53);

  it('create: no private namespace of the name', async () => {
    const ctx = withNetwork();
    sd.on(ListNamespacesCommand).resolves({ Namespaces: [] });
    sd.on(CreatePrivateDnsNamespaceCommand).resolves({ OperationId: 'op-1' });
    sd.on(GetOperationCommand, { OperationId: 'op-1' }).resolves({ Operation: { Id: 'op-1', Status: 'SUCCESS', Targets: { NAMESPACE: id } } });
    sd.on(GetNamespaceCommand, { Id: id }).resolves({ Namespace: { Id: id, Arn: arn, Name: 'demo.local' } });

    expect(await planThenEnsure(namespaceStep, ctx, writes)).toEqual({ action: 'create', resource: 'Cloud Map namespace demo.local', detail: 'private DNS, in vpc-1234abcd' });
  });

  it('keep: the recorded namespace', async () => {
    const ctx = withNetwork();
    ctx.state.record('namespace', { id, arn, origin: 'created', details: { name: 'demo.local' } });
    sd.on(ListNamespacesCommand).resolves({ Namespaces: [summary] });

    expect(await planThenEnsure(namespaceStep, ctx, writes)).toEqual({ action: 'keep', resource: 'Cloud Map namespace demo.local' });
  });

  it('adopt: an untagged namespace of the name in the stack VPC', async () => {
    const ctx = withNetwork();
    sd.on(ListNamespacesCommand).resolves({ Namespaces: [summary] });
    sd.on(ListTagsForResourceCommand).resolves({ Tags: [] });
    namespaceInVpc(id, 'vpc-1234abcd');

    expect((await planThenEnsure(namespaceStep, ctx, writes)).action).toBe('adopt');
  });

  it('create: the untagged namespace of the name is in another VPC, and is left alone', async () => {
    const ctx = withNetwork();
    sd.on(ListNamespacesCommand).resolves({ Namespaces: [summary] });
    sd.on(ListTagsForResourceCommand).resolves({ Tags: [] });
    namespaceInVpc(id, 'vpc-other');

    expect(single(await namespaceStep.plan!(planContext(ctx))).action).toBe('create');
    expect(ctx.notices.join('\n')).toContain('is left alone');
    expect(writes()).toEqual([]);
  });
});
