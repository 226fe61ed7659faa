import {
  CreateServiceCommand,
  DeleteServiceCommand,
  DeregisterInstanceCommand,
  GetServiceCommand,
  ListInstancesCommand,
  ListServicesCommand,
  ListTagsForResourceCommand,
  type Service,
  type ServiceSummary,
} from '@aws-sdk/client-servicediscovery';
import { isAwsError } from '../aws/errors.js';
import { retryWhile } from '../aws/poll.js';
import { existingResource, type ReadContext } from '../engine/plan.js';
import type { Step, StepContext } from '../engine/step.js';
import { arnProblem, GONE, judge, nameProblem, recordProblem, tagProblem } from '../engine/ownership.js';
import { hasStackTag, stackTag } from '../engine/tags.js';
import { listNamespacesNamed } from './namespace.js';

interface FoundService {
  id: string;
  arn: string;
  /** Undefined when the record already says whose it is (no tag lookup made). */
  tagged?: boolean;
}

/** Services of our name in the namespace, across pages. */
async function servicesNamed(ctx: ReadContext, namespaceId: string): Promise<ServiceSummary[]> {
  const found: ServiceSummary[] = [];
  let NextToken: string | undefined;
  do {
    const page = await ctx.aws.serviceDiscovery.send(
      new ListServicesCommand({
        Filters: [{ Name: 'NAMESPACE_ID', Values: [namespaceId], Condition: 'EQ' }],
        ...(NextToken ? { NextToken } : {}),
      }),
    );
    found.push(...(page.Services ?? []).filter((s) => s.Name === ctx.names.discoveryService));
    NextToken = page.NextToken;
  } while (NextToken);
  return found;
}

/**
 * The service of our name in the namespace. AWS applies the NAMESPACE_ID filter; the emulator
 * ignores it and list entries carry no namespace, so unrecorded candidates are checked with GetService.
 */
async function findService(ctx: ReadContext, namespaceId: string): Promise<FoundService | undefined> {
  const candidates = await servicesNamed(ctx, namespaceId);
  const recordedId = ctx.state.get('discoveryService')?.id;
  const recorded = candidates.find((s) => s.Id === recordedId);
  if (recorded) return { id: recorded.Id!, arn: recorded.Arn! };
  for (const candidate of candidates) {
    const { Service } = await ctx.aws.serviceDiscovery.send(new GetServiceCommand({ Id: candidate.Id! }));
    if (Service?.NamespaceId !== namespaceId) continue;
    const { Tags } = await ctx.aws.serviceDiscovery.send(new ListTagsForResourceCommand({ ResourceARN: candidate.Arn! }));
    return { id: candidate.Id!, arn: candidate.Arn!, tagged: hasStackTag(Tags, ctx.config.stack) };
  }
  return undefined;
}

async function createService(ctx: StepContext, namespaceId: string): Promise<{ id: string; arn: string }> {
  // One request per namespace: a create retried after a lost response does not make a second service.
  const token = `ecs-ha-${ctx.config.stack}-svc-${namespaceId}`;
  try {
    const { Service } = await ctx.aws.serviceDiscovery.send(
      new CreateServiceCommand({
        Name: ctx.names.discoveryService,
        NamespaceId: namespaceId,
        CreatorRequestId: token,
        DnsConfig: { RoutingPolicy: 'MULTIVALUE', DnsRecords: [{ Type: 'A', TTL: 10 }] },
        // ECS reports task health to Cloud Map itself.
        HealthCheckCustomConfig: { FailureThreshold: 1 },
        Tags: [stackTag(ctx.config.stack)],
      }),
    );
    return { id: Service!.Id!, arn: Service!.Arn! };
  } catch (error) {
    const existing = error as { CreatorRequestId?: string; ServiceId?: string; ServiceArn?: string };
    // Our own earlier request made it (its response was lost); anyone else's is not claimed.
    if (isAwsError(error, 'ServiceAlreadyExists') && existing.CreatorRequestId === token && existing.ServiceId && existing.ServiceArn) {
      return { id: existing.ServiceId, arn: existing.ServiceArn };
    }
    throw error;
  }
}

/** Deregisters every instance still in the Cloud Map service; returns how many. */
async function deregisterLeftovers(ctx: StepContext, serviceId: string): Promise<number> {
  const ids: string[] = [];
  let NextToken: string | undefined;
  do {
    const page = await ctx.aws.serviceDiscovery.send(new ListInstancesCommand({ ServiceId: serviceId, ...(NextToken ? { NextToken } : {}) }));
    ids.push(...(page.Instances ?? []).map((i) => i.Id!).filter(Boolean));
    NextToken = page.NextToken;
  } while (NextToken);
  for (const id of ids) {
    try {
      await ctx.aws.serviceDiscovery.send(new DeregisterInstanceCommand({ ServiceId: serviceId, InstanceId: id }));
    } catch (error) {
      if (!isAwsError(error, 'InstanceNotFound')) throw error;
    }
  }
  return ids.length;
}

export const discoveryServiceStep: Step = {
  id: 'discoveryService',
  title: 'Cloud Map service',
  dependsOn: ['namespace'],

  async ensure(ctx) {
    const name = ctx.names.discoveryService;
    const namespaceId = ctx.state.require('namespace').id;
    const recorded = ctx.state.get('discoveryService');
    const found = await findService(ctx, namespaceId);
    if (found) {
      if (recorded?.id === found.id) return `Cloud Map service ${name} exists`;
      const origin = found.tagged ? 'created' : 'adopted';
      ctx.state.record('discoveryService', { id: found.id, arn: found.arn, origin, details: { name } });
      if (origin === 'adopted') {
        ctx.notice(`Cloud Map service ${name} in ${ctx.names.namespace} was not created by ecs-ha; it is used and will be kept`);
        return `adopted Cloud Map service ${name} (not created by ecs-ha, will be kept)`;
      }
      return `Cloud Map service ${name} found`;
    }
    const created = await createService(ctx, namespaceId);
    ctx.state.record('discoveryService', { id: created.id, arn: created.arn, origin: 'created', details: { name } });
    return `created Cloud Map service ${name}`;
  },

  async plan(ctx) {
    const name = ctx.names.discoveryService;
    const resource = `Cloud Map service ${name}.${ctx.names.namespace}`;
    const detail = 'A records, multivalue, TTL 10 s';
    // A new namespace holds no service yet (and has no ID to ask about).
    if (ctx.state.isNew('namespace')) {
      ctx.state.foreseeNew('discoveryService', 'Cloud Map service');
      return { action: 'create', resource, detail: `${detail}, in the new namespace` };
    }
    const namespaceId = ctx.state.require('namespace').id;
    const recorded = ctx.state.get('discoveryService');
    const found = await findService(ctx, namespaceId);
    if (found) {
      if (recorded?.id === found.id) return existingResource(resource, true, recorded.origin);
      const origin = found.tagged ? 'created' : 'adopted';
      ctx.state.foresee('discoveryService', { id: found.id, arn: found.arn, origin, details: { name } });
      return existingResource(resource, false, origin);
    }
    ctx.state.foreseeNew('discoveryService', 'Cloud Map service');
    return { action: 'create', resource, detail };
  },

  async proveOwnership(ctx, record) {
    const early = judge(recordProblem(record, ctx.state), !/^srv-[a-z0-9]+$/.test(record.id) && `"${record.id}" is not a Cloud Map service ID`);
    if (early.kind !== 'ours') return early;
    let service: Service | undefined;
    try {
      service = (await ctx.aws.serviceDiscovery.send(new GetServiceCommand({ Id: record.id }))).Service;
    } catch (error) {
      if (isAwsError(error, 'ServiceNotFound')) return GONE;
      throw error;
    }
    if (!service) return GONE;
    const { Tags } = await ctx.aws.serviceDiscovery.send(new ListTagsForResourceCommand({ ResourceARN: service.Arn! }));
    return judge(nameProblem(service.Name, ctx.names.discoveryService), arnProblem(service.Arn, ctx.state), tagProblem(hasStackTag(Tags, ctx.config.stack), ctx.config.stack));
  },

  async destroy(ctx) {
    const recorded = ctx.state.get('discoveryService');
    if (!recorded) return 'no Cloud Map service recorded';
    const name = ctx.names.discoveryService;
    if (recorded.origin === 'adopted') {
      ctx.state.forget('discoveryService');
      return `kept Cloud Map service ${name} (adopted)`;
    }
    let leftoversCleared = false;
    const deleteService = async (): Promise<void> => {
      try {
        await ctx.aws.serviceDiscovery.send(new DeleteServiceCommand({ Id: recorded.id }));
      } catch (error) {
        if (isAwsError(error, 'ResourceInUse') && !leftoversCleared) {
          // The ECS service is gone by now (it is removed first): an instance still here is one ECS left behind.
          leftoversCleared = true;
          const removed = await deregisterLeftovers(ctx, recorded.id);
          if (removed > 0) ctx.progress(`deregistered ${removed} instance(s) ECS left in Cloud Map service ${name}`);
        }
        throw error;
      }
    };
    try {
      // Deregistration is asynchronous: the service stays in use for a moment after.
      await retryWhile(deleteService, {
        clock: ctx.clock,
        what: `Cloud Map service ${name} to have no instances`,
        retryOn: ['ResourceInUse'],
        timeoutMs: ctx.waitTimeoutMs,
        onRetry: (seconds, code) => ctx.progress(`Cloud Map service still has instances (${code}) after ${seconds}s, retrying`),
      });
    } catch (error) {
      if (!isAwsError(error, 'ServiceNotFound')) throw error;
    }
    ctx.state.forget('discoveryService');
    return `deleted Cloud Map service ${name}`;
  },

  async discover(ctx) {
    // An adopted namespace is not recorded by its discover, yet may hold our tagged service.
    const recordedNamespace = ctx.state.get('namespace')?.id;
    const namespaceIds = recordedNamespace ? [recordedNamespace] : (await listNamespacesNamed(ctx)).map((ns) => ns.Id!);
    for (const namespaceId of namespaceIds) {
      const found = await findService(ctx, namespaceId);
      if (!found?.tagged) continue;
      ctx.state.record('discoveryService', {
        id: found.id,
        arn: found.arn,
        origin: 'created',
        details: { name: ctx.names.discoveryService },
      });
      return;
    }
  },
};
