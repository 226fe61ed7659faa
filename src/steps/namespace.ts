import {
  CreatePrivateDnsNamespaceCommand,
  DeleteNamespaceCommand,
  GetNamespaceCommand,
  GetOperationCommand,
  ListNamespacesCommand,
  ListTagsForResourceCommand,
  type Namespace,
  type NamespaceSummary,
} from '@aws-sdk/client-servicediscovery';
import { GetHostedZoneCommand } from '@aws-sdk/client-route-53';
import { awsErrorMessage, isAwsError } from '../aws/errors.js';
import { pollUntil, retryWhile } from '../aws/poll.js';
import { existingResource, type ReadContext } from '../engine/plan.js';
import { lookedUp, type Step, type StepContext } from '../engine/step.js';
import { arnProblem, GONE, judge, nameProblem, recordProblem, tagProblem } from '../engine/ownership.js';
import { hasStackTag, stackTag } from '../engine/tags.js';
import { OperationError } from '../errors.js';

/** Cloud Map namespace operations usually finish within a minute. */
const OPERATION_POLL_MS = 3_000;

/** Private DNS namespaces of our name. The emulator ignores Filters, so the name and type are matched here too. */
export async function listNamespacesNamed(ctx: ReadContext): Promise<NamespaceSummary[]> {
  const name = ctx.names.namespace;
  const found: NamespaceSummary[] = [];
  let NextToken: string | undefined;
  do {
    const page = await ctx.aws.serviceDiscovery.send(
      new ListNamespacesCommand({
        Filters: [
          { Name: 'TYPE', Values: ['DNS_PRIVATE'], Condition: 'EQ' },
          { Name: 'NAME', Values: [name], Condition: 'EQ' },
        ],
        ...(NextToken ? { NextToken } : {}),
      }),
    );
    found.push(...(page.Namespaces ?? []).filter((ns) => ns.Name === name && ns.Type === 'DNS_PRIVATE'));
    NextToken = page.NextToken;
  } while (NextToken);
  return found;
}

async function isTagged(ctx: ReadContext, arn: string | undefined): Promise<boolean> {
  if (!arn) return false;
  const { Tags } = await ctx.aws.serviceDiscovery.send(new ListTagsForResourceCommand({ ResourceARN: arn }));
  return hasStackTag(Tags, ctx.config.stack);
}

type FoundNamespace =
  | { namespace: NamespaceSummary; tagged?: boolean }
  /** Only namespaces of our name that are not the stack's: which VPC each is in decides whether one is adopted. */
  | { untagged: NamespaceSummary[] };

/** The recorded namespace if it still exists (no tag lookup needed), else the one carrying the stack tag, else the untagged ones of that name. */
async function findNamespace(ctx: ReadContext): Promise<FoundNamespace | undefined> {
  const candidates = await listNamespacesNamed(ctx);
  const recordedId = ctx.state.get('namespace')?.id;
  const recorded = candidates.find((ns) => ns.Id === recordedId);
  if (recorded) return { namespace: recorded };
  for (const namespace of candidates) {
    if (await isTagged(ctx, namespace.Arn)) return { namespace, tagged: true };
  }
  return candidates.length > 0 ? { untagged: candidates } : undefined;
}

/**
 * The VPCs a private namespace answers in: those of its Route 53 hosted zone (Cloud Map does not
 * report them). Undefined when the zone lists none, as moto's do; AWS's private zones always list one.
 */
async function namespaceVpcs(ctx: ReadContext, namespaceId: string): Promise<string[] | undefined> {
  const { Namespace } = await ctx.aws.serviceDiscovery.send(new GetNamespaceCommand({ Id: namespaceId }));
  const hostedZoneId = Namespace?.Properties?.DnsProperties?.HostedZoneId;
  if (!hostedZoneId) return undefined;
  const { VPCs = [] } = await ctx.aws.route53.send(new GetHostedZoneCommand({ Id: hostedZoneId }));
  const ids = VPCs.flatMap((vpc) => (vpc.VPCId ? [vpc.VPCId] : []));
  return ids.length > 0 ? ids : undefined;
}

/**
 * Of the untagged namespaces of our name, the one in the stack's VPC (adopted); one in another VPC
 * is someone else's and would not resolve for our tasks, so it is left alone and named.
 */
async function adoptableNamespace(ctx: ReadContext, untagged: NamespaceSummary[], vpcId: string): Promise<NamespaceSummary | undefined> {
  for (const namespace of untagged) {
    const vpcs = await namespaceVpcs(ctx, namespace.Id!);
    if (!vpcs || vpcs.includes(vpcId)) return namespace;
    ctx.notice(
      `Cloud Map namespace ${ctx.names.namespace} (${namespace.Id}) is in ${vpcs.join(', ')}, not in the stack's VPC ${vpcId}: it is not this stack's and is left alone; a namespace of the same name is created in ${vpcId}`,
    );
  }
  return undefined;
}

/** Polls a Cloud Map operation until it succeeds; returns its targets (NAMESPACE → id …). */
async function waitForOperation(ctx: StepContext, operationId: string, what: string): Promise<Record<string, string>> {
  return pollUntil(
    async () => {
      const { Operation } = await ctx.aws.serviceDiscovery.send(new GetOperationCommand({ OperationId: operationId }));
      const status = Operation?.Status ?? 'UNKNOWN';
      if (status === 'SUCCESS') return { done: true, value: Operation?.Targets ?? {} };
      if (status === 'FAIL') {
        throw new OperationError(
          `Cloud Map operation ${operationId} (${what}) failed: ${Operation?.ErrorCode ?? 'error'}: ${Operation?.ErrorMessage ?? 'no message'}`,
        );
      }
      return { done: false, status: `operation ${status}` };
    },
    {
      clock: ctx.clock,
      what,
      timeoutMs: ctx.waitTimeoutMs,
      intervalMs: OPERATION_POLL_MS,
      onWait: (seconds, status) => ctx.progress(`${what}: ${status} (${seconds}s)`),
    },
  );
}

function requestToken(ctx: StepContext, attempt: number): string {
  return attempt === 0 ? `ecs-ha-${ctx.config.stack}-ns` : `ecs-ha-${ctx.config.stack}-ns-${ctx.clock.now()}`;
}

function isOurToken(ctx: StepContext, token: string | undefined): boolean {
  return token !== undefined && new RegExp(`^ecs-ha-${ctx.config.stack}-ns(-\\d+)?$`).test(token);
}

/** Starts the create; an already-running or already-done create of the same request is followed instead. */
async function startCreate(ctx: StepContext, vpcId: string, creatorRequestId: string): Promise<{ operationId?: string; namespaceId?: string }> {
  try {
    const { OperationId } = await ctx.aws.serviceDiscovery.send(
      new CreatePrivateDnsNamespaceCommand({
        Name: ctx.names.namespace,
        Vpc: vpcId,
        Tags: [stackTag(ctx.config.stack)],
        CreatorRequestId: creatorRequestId,
      }),
    );
    return { operationId: OperationId! };
  } catch (error) {
    if (isAwsError(error, 'DuplicateRequest')) return { operationId: (error as { DuplicateOperationId?: string }).DuplicateOperationId! };
    if (isAwsError(error, 'NamespaceAlreadyExists')) {
      const existing = error as { NamespaceId?: string; CreatorRequestId?: string };
      // Ours only when our own request made it (e.g. a create still finishing); never claim someone else's.
      if (existing.NamespaceId && isOurToken(ctx, existing.CreatorRequestId)) return { namespaceId: existing.NamespaceId };
      throw new OperationError(
        `Cloud Map namespace ${ctx.names.namespace} already exists (${existing.NamespaceId ?? 'unknown id'}) but was not listed yet`,
        'run the command again in a minute',
        { cause: error },
      );
    }
    if (isAwsError(error, 'ConflictingDomainExists')) {
      throw new OperationError(
        `cannot create Cloud Map namespace ${ctx.names.namespace} in ${vpcId}: ${awsErrorMessage(error)}`,
        'another private DNS namespace or hosted zone in this VPC conflicts with it; remove it or use another --stack',
        { cause: error },
      );
    }
    throw error;
  }
}

/** Creates the namespace and records it as soon as its id is known. */
async function createNamespace(ctx: StepContext, vpcId: string): Promise<string> {
  const name = ctx.names.namespace;
  // The first token is deterministic so that a create retried after a lost response is the same request.
  for (let attempt = 0; attempt < 2; attempt++) {
    const started = await startCreate(ctx, vpcId, requestToken(ctx, attempt));
    const namespaceId = started.namespaceId ?? (await waitForOperation(ctx, started.operationId!, `namespace ${name} to be created`)).NAMESPACE;
    if (!namespaceId) throw new OperationError(`Cloud Map did not report the id of the new namespace ${name}`);
    ctx.state.record('namespace', { id: namespaceId, origin: 'created', details: { name } });
    try {
      const { Namespace } = await ctx.aws.serviceDiscovery.send(new GetNamespaceCommand({ Id: namespaceId }));
      ctx.state.record('namespace', { id: namespaceId, arn: Namespace!.Arn!, origin: 'created', details: { name } });
      return namespaceId;
    } catch (error) {
      if (!isAwsError(error, 'NamespaceNotFound')) throw error;
      // The token answered with a namespace deleted since (a `down` earlier); create anew with a fresh token.
      ctx.state.forget('namespace');
    }
  }
  throw new OperationError(`Cloud Map reported namespace ${name} created, but it does not exist`);
}

export const namespaceStep: Step = {
  id: 'namespace',
  title: 'Cloud Map namespace',
  dependsOn: ['network'],
  lookup: findNamespace,

  async ensure(ctx) {
    const name = ctx.names.namespace;
    const recorded = ctx.state.get('namespace');
    const vpcId = ctx.state.require('network').id;
    const found = await lookedUp(ctx, findNamespace);
    if (found && 'namespace' in found) {
      if (recorded?.id === found.namespace.Id) return `namespace ${name} exists`;
      ctx.state.record('namespace', { id: found.namespace.Id!, arn: found.namespace.Arn!, origin: 'created', details: { name } });
      return `namespace ${name} found`;
    }
    const adoptable = found ? await adoptableNamespace(ctx, found.untagged, vpcId) : undefined;
    if (adoptable) {
      ctx.state.record('namespace', { id: adoptable.Id!, arn: adoptable.Arn!, origin: 'adopted', details: { name } });
      ctx.notice(`Cloud Map namespace ${name} already exists and was not created by ecs-ha; it is used and will be kept`);
      return `adopted namespace ${name} (not created by ecs-ha, will be kept)`;
    }
    ctx.progress(`creating Cloud Map namespace ${name} in ${vpcId}`);
    await createNamespace(ctx, vpcId);
    return `created namespace ${name}`;
  },

  async plan(ctx) {
    const name = ctx.names.namespace;
    const resource = `Cloud Map namespace ${name}`;
    const recorded = ctx.state.get('namespace');
    const vpcId = ctx.state.require('network').id;
    const found = await findNamespace(ctx);
    if (found && 'namespace' in found) {
      const inState = recorded?.id === found.namespace.Id;
      if (!inState) ctx.state.foresee('namespace', { id: found.namespace.Id!, arn: found.namespace.Arn!, origin: 'created', details: { name } });
      return existingResource(resource, inState, inState && recorded ? recorded.origin : 'created');
    }
    const adoptable = found ? await adoptableNamespace(ctx, found.untagged, vpcId) : undefined;
    if (adoptable) {
      ctx.state.foresee('namespace', { id: adoptable.Id!, arn: adoptable.Arn!, origin: 'adopted', details: { name } });
      return existingResource(resource, false, 'adopted');
    }
    ctx.state.foreseeNew('namespace', 'Cloud Map namespace');
    return { action: 'create', resource, detail: `private DNS, in ${vpcId}` };
  },

  async proveOwnership(ctx, record) {
    const early = judge(recordProblem(record, ctx.state), !/^ns-[a-z0-9]+$/.test(record.id) && `"${record.id}" is not a Cloud Map namespace ID`);
    if (early.kind !== 'ours') return early;
    let namespace: Namespace | undefined;
    try {
      namespace = (await ctx.aws.serviceDiscovery.send(new GetNamespaceCommand({ Id: record.id }))).Namespace;
    } catch (error) {
      if (isAwsError(error, 'NamespaceNotFound')) return GONE;
      throw error;
    }
    if (!namespace) return GONE;
    return judge(nameProblem(namespace.Name, ctx.names.namespace), arnProblem(namespace.Arn, ctx.state), tagProblem(await isTagged(ctx, namespace.Arn), ctx.config.stack));
  },

  async destroy(ctx) {
    const recorded = ctx.state.get('namespace');
    if (!recorded) return 'no namespace recorded';
    if (recorded.origin === 'adopted') {
      ctx.state.forget('namespace');
      return `kept namespace ${ctx.names.namespace} (adopted)`;
    }
    const what = `namespace ${ctx.names.namespace} to be deleted`;
    try {
      // Cloud Map refuses while the namespace still holds services (ours is being deleted just before).
      const { OperationId } = await retryWhile(() => ctx.aws.serviceDiscovery.send(new DeleteNamespaceCommand({ Id: recorded.id })), {
        clock: ctx.clock,
        what,
        retryOn: ['ResourceInUse', 'DuplicateRequest'],
        timeoutMs: ctx.waitTimeoutMs,
        onRetry: (seconds, code) => ctx.progress(`namespace still in use (${code}) after ${seconds}s, retrying`),
      });
      if (OperationId) await waitForOperation(ctx, OperationId, what);
    } catch (error) {
      if (!isAwsError(error, 'NamespaceNotFound')) throw error;
    }
    ctx.state.forget('namespace');
    return `deleted namespace ${ctx.names.namespace}`;
  },

  async discover(ctx) {
    const found = await findNamespace(ctx);
    if (found && 'namespace' in found && found.tagged) {
      ctx.state.record('namespace', {
        id: found.namespace.Id!,
        arn: found.namespace.Arn!,
        origin: 'created',
        details: { name: ctx.names.namespace },
      });
    }
  },
};
