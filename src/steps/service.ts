import {
  CreateServiceCommand,
  DeleteServiceCommand,
  DescribeServicesCommand,
  DescribeTasksCommand,
  ListTasksCommand,
  UpdateServiceCommand,
  type Service,
  type UpdateServiceCommandInput,
} from '@aws-sdk/client-ecs';
import { DescribeTargetHealthCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { awsErrorMessage, isAwsError } from '../aws/errors.js';
import { pollUntil } from '../aws/poll.js';
import { existingResource, type ReadContext } from '../engine/plan.js';
import { lookedUp, type Step, type StepContext } from '../engine/step.js';
import { arnProblem, GONE, judge, lastSegment, nameProblem, recordProblem, tagProblem } from '../engine/ownership.js';
import { ecsStackTag, hasStackTag } from '../engine/tags.js';
import { deploymentConfigurationFor, deploymentMatches, describeSettings, isNative, wantedDeployment, type DeploymentSettings } from '../deploy/strategy.js';
import { OperationError } from '../errors.js';
import { listServiceTaskArns } from '../inspect/stack.js';
import { retryWhileServiceLinkedRoleSettles } from './serviceLinkedRole.js';
import { isRolePropagationError } from './taskDefinition.js';

/** Waits poll every 2 s (one cheap describe call): `up` says "healthy" within seconds of it being so. */
const WAIT_POLL_MS = 2_000;
/** On an endpoint override, how long a service may list no task at all before it is taken to run none. */
const FIRST_TASK_WITHIN_MS = 10_000;
/** Ours to keep: the grace period that covers app start plus the first health checks. */
const HEALTH_CHECK_GRACE_SECONDS = 30;
const GONE_CODES = ['ServiceNotFoundException', 'ServiceNotActiveException', 'ClusterNotFoundException'];

function clusterOf(ctx: StepContext): string {
  const recorded = ctx.state.get('service')?.details?.cluster;
  return typeof recorded === 'string' ? recorded : (ctx.state.get('cluster')?.id ?? ctx.names.cluster);
}

/** The service of our name in any status (ECS keeps INACTIVE ones for a while); undefined if none or no cluster. */
async function describeService(ctx: ReadContext, cluster: string, withTags = true): Promise<Service | undefined> {
  try {
    const { services = [] } = await ctx.aws.ecs.send(
      new DescribeServicesCommand({ cluster, services: [ctx.names.service], ...(withTags ? { include: ['TAGS'] } : {}) }),
    );
    return services.find((s) => s.serviceName === ctx.names.service);
  } catch (error) {
    if (isAwsError(error, 'ClusterNotFoundException')) return undefined;
    throw error;
  }
}

function isLive(service: Service | undefined): boolean {
  return service?.status === 'ACTIVE' || service?.status === 'DRAINING';
}

/** Waits until a deleted service is INACTIVE or gone, so its name can be used again and its tasks are stopping. */
async function waitUntilInactive(ctx: StepContext, cluster: string): Promise<void> {
  await pollUntil(
    async () => {
      const service = await describeService(ctx, cluster, false);
      if (!service || !isLive(service)) return { done: true, value: undefined };
      return { done: false, status: `${service.status}, ${service.runningCount ?? 0} running` };
    },
    {
      clock: ctx.clock,
      what: `service ${ctx.names.service} to be deleted`,
      timeoutMs: ctx.waitTimeoutMs,
      intervalMs: WAIT_POLL_MS,
      onWait: (seconds, status) => ctx.progress(`service ${ctx.names.service} ${status} (${seconds}s)`),
    },
  );
}

/** "target group does not have an associated load balancer" right after the listener was made, or a new role. */
function isCreateTransient(error: unknown): boolean {
  return (isAwsError(error, 'InvalidParameterException') && /associated (with a |with an? )?load balancer/i.test(awsErrorMessage(error))) || isRolePropagationError(error);
}

/** What the service deploys with: `up --strategy` / `deploy --strategy`, else what the state remembers, else rolling. */
function settingsOf(ctx: ReadContext): DeploymentSettings {
  return wantedDeployment(ctx.config.deployment, ctx.state.get('service'));
}

/**
 * The service's one load balancer entry. Rolling: the target group, as always. Native strategies:
 * also the advancedConfiguration ECS needs to shift traffic (API reference, AdvancedConfiguration):
 * the second target group, the production listener rule, and the role ECS assumes to change it.
 */
export function loadBalancersFor(ctx: ReadContext, settings: DeploymentSettings): NonNullable<UpdateServiceCommandInput['loadBalancers']> {
  const { state, names, config } = ctx;
  const entry = { targetGroupArn: state.require('targetGroup').id, containerName: names.container, containerPort: config.appPort };
  if (!isNative(settings)) return [entry];
  return [
    {
      ...entry,
      advancedConfiguration: {
        alternateTargetGroupArn: state.require('alternateTargetGroup').id,
        productionListenerRule: state.require('listenerRule').id,
        roleArn: state.require('infrastructureRole').arn!,
      },
    },
  ];
}

/** The service record's details: the cluster, and the strategy when it is not rolling or was asked for, so that `deploy` and a plain `up` keep it. */
function serviceDetails(ctx: ReadContext, cluster: unknown): Record<string, unknown> {
  const settings = settingsOf(ctx);
  const remember = isNative(settings) || ctx.config.deployment !== undefined || ctx.state.get('service')?.details?.deployment !== undefined;
  return { cluster, ...(remember ? { deployment: settings } : {}) };
}

/** Records the strategy the service deploys with next to its cluster, when it is not recorded as it is. */
function rememberDeployment(ctx: StepContext): void {
  const recorded = ctx.state.get('service');
  if (!recorded) return;
  const details = { ...recorded.details, ...serviceDetails(ctx, recorded.details?.cluster) };
  if (JSON.stringify(details) !== JSON.stringify(recorded.details ?? {})) ctx.state.record('service', { ...recorded, details });
}

async function createService(ctx: StepContext, cluster: string): Promise<Service> {
  const { config, names, state } = ctx;
  const settings = settingsOf(ctx);
  // Retried while ECS cannot use a new role (its service-linked one, the execution role) or listener yet.
  const { service } = await retryWhileServiceLinkedRoleSettles(ctx, { what: 'creating the ECS service', operation: 'CreateService', alsoRetry: isCreateTransient }, () =>
    ctx.aws.ecs.send(
      new CreateServiceCommand({
        cluster,
        serviceName: names.service,
        taskDefinition: state.require('taskDefinition').id,
        desiredCount: config.count,
        launchType: 'FARGATE',
        platformVersion: 'LATEST',
        networkConfiguration: {
          awsvpcConfiguration: {
            subnets: state.require('network').details?.subnetIds as string[],
            securityGroups: [state.require('taskSecurityGroup').id],
            // Public subnets without NAT: the tasks need a public IP to pull from ECR.
            assignPublicIp: 'ENABLED',
          },
        },
        loadBalancers: loadBalancersFor(ctx, settings),
        serviceRegistries: [{ registryArn: state.require('discoveryService').arn! }],
        healthCheckGracePeriodSeconds: HEALTH_CHECK_GRACE_SECONDS,
        // Set explicitly: the default changed in 2025 (new services rebalance), older ones do not.
        availabilityZoneRebalancing: 'ENABLED',
        deploymentConfiguration: deploymentConfigurationFor(settings),
        propagateTags: 'SERVICE',
        enableECSManagedTags: true,
        tags: [ecsStackTag(config.stack)],
      }),
    ),
  );
  return service!;
}

/**
 * The primary deployment, when the circuit breaker marked it FAILED: ECS launches no more tasks for
 * it and rolls nothing back on a first deployment, so waiting on it would never end.
 */
function failedPrimary(service: Service): { id?: string; reason?: string } | undefined {
  const primary = (service.deployments ?? []).find((d) => d.status === 'PRIMARY');
  return primary?.rolloutState === 'FAILED' ? { ...(primary.id ? { id: primary.id } : {}), ...(primary.rolloutStateReason ? { reason: primary.rolloutStateReason } : {}) } : undefined;
}

/** What differs between the running service and the wanted one; empty when nothing does. */
function changesFor(ctx: ReadContext, service: Service): Partial<UpdateServiceCommandInput> {
  const changes: Partial<UpdateServiceCommandInput> = {};
  // After the user fixed what failed it (an image, a role), only a new deployment tries again.
  if (failedPrimary(service)) changes.forceNewDeployment = true;
  const taskDefinition = ctx.state.require('taskDefinition').id;
  if (service.taskDefinition !== taskDefinition) changes.taskDefinition = taskDefinition;
  // Only an explicit --count (and no autoscaling) sets it: a plain `up` keeps what `scale` or the autoscaler set.
  if (ctx.config.updateDesiredCount && service.desiredCount !== ctx.config.count) changes.desiredCount = ctx.config.count;
  // The emulator does not report the grace period; only a reported, different value counts.
  const grace = service.healthCheckGracePeriodSeconds;
  if (grace !== undefined && grace !== HEALTH_CHECK_GRACE_SECONDS) changes.healthCheckGracePeriodSeconds = HEALTH_CHECK_GRACE_SECONDS;
  // A changed strategy (or its settings) sets the whole deploymentConfiguration and the load balancer entry with it.
  const settings = settingsOf(ctx);
  const advanced = service.loadBalancers?.[0]?.advancedConfiguration;
  const wantedEntry = loadBalancersFor(ctx, settings)[0]!;
  const entryDiffers = service.loadBalancers !== undefined && JSON.stringify(advanced ?? null) !== JSON.stringify(wantedEntry.advancedConfiguration ?? null);
  if (!deploymentMatches(service.deploymentConfiguration, settings) || entryDiffers) {
    changes.deploymentConfiguration = deploymentConfigurationFor(settings);
    changes.loadBalancers = [wantedEntry];
  }
  // Likewise: moto does not report it; a service that says DISABLED gets it turned on.
  if (service.availabilityZoneRebalancing !== undefined && service.availabilityZoneRebalancing !== 'ENABLED') changes.availabilityZoneRebalancing = 'ENABLED';
  // A zone a `chaos --kill-az` drill left out (it was killed before giving it back): the stack's subnets
  // again, the rest of the awsvpcConfiguration as it is.
  const stackSubnets = ctx.state.get('network')?.details?.subnetIds;
  const awsvpc = service.networkConfiguration?.awsvpcConfiguration;
  if (Array.isArray(stackSubnets) && awsvpc?.subnets && [...awsvpc.subnets].sort().join() !== [...(stackSubnets as string[])].sort().join()) {
    changes.networkConfiguration = { awsvpcConfiguration: { ...awsvpc, subnets: [...(stackSubnets as string[])] } };
  }
  return changes;
}

const CHANGE_LABELS: Record<string, string> = {
  forceNewDeployment: 'a new deployment, as the last one FAILED',
  availabilityZoneRebalancing: 'Availability Zone rebalancing',
  taskDefinition: 'task definition',
  desiredCount: 'desired count',
  healthCheckGracePeriodSeconds: 'health check grace period',
  networkConfiguration: 'restored the subnets of a zone a chaos drill left out',
  deploymentConfiguration: 'deployment strategy',
  loadBalancers: 'load balancer configuration of the strategy',
};

/** What an update changes, for a plan: "desired count 2 → 3, task definition demo:1 → demo:2". */
function describeUpdate(service: Service, changes: Partial<UpdateServiceCommandInput>): string {
  const shown = (value: unknown, key: string): string => (key === 'taskDefinition' && typeof value === 'string' ? value.slice(value.lastIndexOf('/') + 1) : String(value));
  return Object.entries(changes)
    .map(([key, value]) => {
      const label = CHANGE_LABELS[key] ?? key;
      const before = (service as Record<string, unknown>)[key];
      return before === undefined || typeof value === 'object' ? label : `${label} ${shown(before, key)} → ${shown(value, key)}`;
    })
    .join(', ');
}

export const serviceStep: Step = {
  id: 'service',
  title: 'ECS service',
  // The native strategies' resources (none with rolling) are named in the service's load balancer entry.
  dependsOn: ['cluster', 'taskDefinition', 'listener', 'taskSecurityGroup', 'discoveryService', 'alternateTargetGroup', 'listenerRule', 'infrastructureRole'],
  // The cluster step records the cluster under this name, so the lookup need not wait for it.
  lookup: (ctx) => describeService(ctx, ctx.state.get('cluster')?.id ?? ctx.names.cluster),

  async ensure(ctx) {
    const name = ctx.names.service;
    const cluster = ctx.state.require('cluster').id;
    const recorded = ctx.state.get('service');
    let existing = await lookedUp(ctx, (c) => describeService(c, cluster));
    if (existing?.status === 'DRAINING') {
      // A service being deleted keeps its name until it is INACTIVE.
      ctx.progress(`service ${name} is still being deleted; waiting before creating it again`);
      await waitUntilInactive(ctx, cluster);
      existing = undefined;
    }
    if (existing?.status === 'ACTIVE') {
      const origin = recorded?.origin ?? (hasStackTag(existing.tags, ctx.config.stack) ? 'created' : 'adopted');
      if (!recorded) ctx.state.record('service', { id: name, arn: existing.serviceArn!, origin, details: { cluster } });
      if (origin === 'adopted') {
        ctx.notice(`ECS service ${name} was not created by ecs-ha; it is used as it is (not updated) and will be kept`);
        return `adopted service ${name} (not created by ecs-ha, will be kept)`;
      }
      const changes = changesFor(ctx, existing);
      rememberDeployment(ctx);
      if (Object.keys(changes).length === 0) return `service ${name} ${recorded ? 'exists' : 'found'}`;
      const failed = failedPrimary(existing);
      if (failed) ctx.notice(`the last deployment of service ${name}${failed.id ? ` (${failed.id})` : ''} FAILED${failed.reason ? `: ${failed.reason}` : ''}; starting a new one`);
      await ctx.aws.ecs.send(new UpdateServiceCommand({ cluster, service: name, ...changes }));
      return `updated service ${name} (${Object.keys(changes).map((key) => CHANGE_LABELS[key]).join(', ')})`;
    }
    const service = await createService(ctx, cluster);
    ctx.state.record('service', { id: name, arn: service.serviceArn!, origin: 'created', details: serviceDetails(ctx, cluster) });
    const settings = settingsOf(ctx);
    return `created service ${name} (${ctx.config.count} tasks${isNative(settings) ? `, deploys ${describeSettings(settings)}` : ''})`;
  },

  async plan(ctx) {
    const name = ctx.names.service;
    const resource = `ECS service ${name}`;
    const created = `${ctx.config.count} tasks on Fargate, behind the load balancer, in Cloud Map`;
    // A new cluster has no service yet.
    // Besides what up records, the plan notes the count the service would run, for the cost estimate.
    const foreseeNew = (cluster: string): void => ctx.state.foreseeNew('service', 'ECS service', { id: name, origin: 'created', details: { cluster, desiredCount: ctx.config.count } });
    if (ctx.state.isNew('cluster')) {
      foreseeNew(ctx.state.require('cluster').id);
      return { action: 'create', resource, detail: created };
    }
    const cluster = ctx.state.require('cluster').id;
    const recorded = ctx.state.get('service');
    const existing = await describeService(ctx, cluster);
    if (existing?.status === 'ACTIVE') {
      const origin = recorded?.origin ?? (hasStackTag(existing.tags, ctx.config.stack) ? 'created' : 'adopted');
      const changes = origin === 'adopted' ? {} : changesFor(ctx, existing);
      const desiredCount = changes.desiredCount ?? existing.desiredCount;
      ctx.state.foresee('service', { id: name, arn: existing.serviceArn!, origin, details: { cluster: recorded?.details?.cluster ?? cluster, desiredCount } });
      if (origin === 'adopted') return existingResource(resource, recorded !== undefined, origin, 'used as it is, never updated');
      if (Object.keys(changes).length > 0) return { action: 'update', resource, detail: describeUpdate(existing, changes) };
      return existingResource(resource, recorded !== undefined, origin, `${desiredCount ?? 0} tasks`);
    }
    foreseeNew(cluster);
    // One being deleted keeps its name until it is INACTIVE: up waits for that, then creates it.
    return { action: 'create', resource, detail: existing?.status === 'DRAINING' ? `${created}, once the service of that name being deleted is gone` : created };
  },

  async proveOwnership(ctx, record) {
    const cluster = clusterOf(ctx);
    const early = judge(
      nameProblem(lastSegment(record.id), ctx.names.service),
      nameProblem(lastSegment(cluster), ctx.names.cluster, 'cluster'),
      recordProblem(record, ctx.state),
      cluster.startsWith('arn:') && arnProblem(cluster, ctx.state),
    );
    if (early.kind !== 'ours') return early;
    const existing = await describeService(ctx, cluster);
    if (!isLive(existing)) return GONE;
    return judge(arnProblem(existing!.serviceArn, ctx.state), tagProblem(hasStackTag(existing!.tags, ctx.config.stack), ctx.config.stack));
  },

  async destroy(ctx) {
    const recorded = ctx.state.get('service');
    if (!recorded) return 'no ECS service recorded';
    if (recorded.origin === 'adopted') {
      ctx.state.forget('service');
      return `kept service ${recorded.id} (adopted)`;
    }
    const cluster = clusterOf(ctx);
    const existing = await describeService(ctx, cluster, false);
    if (existing?.status === 'ACTIVE') {
      try {
        // Scaling to 0 first lets ECS drain the targets before the service goes away.
        if (existing.desiredCount !== 0) await ctx.aws.ecs.send(new UpdateServiceCommand({ cluster, service: recorded.id, desiredCount: 0 }));
        await ctx.aws.ecs.send(new DeleteServiceCommand({ cluster, service: recorded.id, force: true }));
      } catch (error) {
        if (!isAwsError(error, ...GONE_CODES)) throw error;
      }
    }
    if (isLive(existing)) await waitUntilInactive(ctx, cluster);
    ctx.state.forget('service');
    return `deleted service ${recorded.id}`;
  },

  async discover(ctx) {
    const cluster = ctx.state.get('cluster')?.id ?? ctx.names.cluster;
    const existing = await describeService(ctx, cluster);
    if (existing && isLive(existing) && hasStackTag(existing.tags, ctx.config.stack)) {
      ctx.state.record('service', { id: ctx.names.service, arn: existing.serviceArn!, origin: 'created', details: { cluster } });
    }
  },
};

/**
 * Whether the endpoint starts tasks for the service at all. ECS lists a service's first tasks
 * (PROVISIONING, or STOPPED after a failed launch) within seconds; an emulator that runs no
 * containers, such as plain moto, never lists one.
 */
export async function serviceRunsTasks(ctx: StepContext, withinMs = FIRST_TASK_WITHIN_MS): Promise<boolean> {
  const cluster = clusterOf(ctx);
  const started = ctx.clock.now();
  for (;;) {
    for (const desiredStatus of ['RUNNING', 'STOPPED'] as const) {
      const { taskArns = [] } = await ctx.aws.ecs.send(new ListTasksCommand({ cluster, serviceName: ctx.names.service, desiredStatus, maxResults: 1 }));
      if (taskArns.length > 0) return true;
    }
    const service = await describeService(ctx, cluster, false);
    if ((service?.desiredCount ?? 0) === 0) return true; // nothing to list yet, and nothing to wait for either
    if (ctx.clock.now() - started >= withinMs) return false;
    await ctx.clock.sleep(1_000);
  }
}

export interface ServiceHealth {
  runningCount: number;
  healthyTargets: number;
  availabilityZones: string[];
}

function failedRolloutError(ctx: StepContext, service: Service, reason: string | undefined): OperationError {
  const events = (service.events ?? []).slice(0, 4).map((event) => `  - ${event.message}`);
  const logGroup = ctx.state.get('logGroup')?.id ?? ctx.names.logGroup;
  return new OperationError(
    `the deployment of service ${ctx.names.service} failed${reason ? `: ${reason}` : ''}${events.length ? `\nlatest service events:\n${events.join('\n')}` : ''}`,
    `read the app's logs in the log group ${logGroup} (aws logs tail ${logGroup} --since 30m) to see why the tasks stopped`,
  );
}

/** What ECS says when tasks cannot start or stay healthy: shown while `up` waits, as they come. */
const FAILURE_EVENT = /unable to assume|CannotPullContainerError|ResourceInitializationError|failed ELB health checks|is unhealthy in|deployment failed|failed to launch|unable to place|Essential container/i;

/** Shows the service's new failure events once each; the events already there when the wait began are history. */
function showFailureEvents(ctx: StepContext, service: Service, seen: Set<string>, firstLook: boolean): void {
  for (const event of [...(service.events ?? [])].reverse()) {
    const key = event.id ?? `${String(event.createdAt)} ${event.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (!firstLook && event.message && FAILURE_EVENT.test(event.message)) ctx.notice(`ECS: ${event.message}`);
  }
}

/**
 * Waits until the service runs its desired count in one completed deployment, then until the
 * target group reports that many healthy targets, then reports which AZs the tasks run in.
 */
export async function waitUntilServiceHealthy(ctx: StepContext, timeoutMs: number): Promise<ServiceHealth> {
  const name = ctx.names.service;
  const cluster = clusterOf(ctx);
  const targetGroupArn = ctx.state.require('targetGroup').id;
  const started = ctx.clock.now();
  const elapsed = () => Math.round((ctx.clock.now() - started) / 1000);
  const remaining = () => Math.max(0, timeoutMs - (ctx.clock.now() - started));

  const seenEvents = new Set<string>();
  let firstLook = true;
  const { running, desired } = await pollUntil(
    async () => {
      const service = await describeService(ctx, cluster, false);
      if (!service || !isLive(service)) {
        throw new OperationError(`service ${name} is ${service?.status ?? 'missing'} in cluster ${cluster}`, 'run `ecs-ha up` again');
      }
      showFailureEvents(ctx, service, seenEvents, firstLook);
      firstLook = false;
      const deployments = service.deployments ?? [];
      // Only the PRIMARY one counts: a FAILED deployment being replaced (after a fix) is history.
      const failed = deployments.find((d) => d.status === 'PRIMARY' && d.rolloutState === 'FAILED');
      if (failed) throw failedRolloutError(ctx, service, failed.rolloutStateReason);
      const running = service.runningCount ?? 0;
      const desired = service.desiredCount ?? 0;
      const pending = service.pendingCount ?? 0;
      const rollout = deployments[0]?.rolloutState;
      const steady = running === desired && pending === 0 && deployments.length === 1 && (rollout === undefined || rollout === 'COMPLETED');
      if (steady) return { done: true, value: { running, desired } };
      const details = [`${running}/${desired} running`];
      if (pending > 0) details.push(`${pending} pending`);
      if (deployments.length > 1) details.push(`${deployments.length} deployments`);
      else if (pending === 0 && running === desired && rollout && rollout !== 'COMPLETED') details.push(`rollout ${rollout.toLowerCase().replace('_', ' ')}`);
      return { done: false, status: details.join(', ') };
    },
    { clock: ctx.clock, what: `service ${name} to run its tasks`, timeoutMs, intervalMs: WAIT_POLL_MS, onWait: (_s, status) => ctx.progress(`${status} (${elapsed()}s)`) },
  );

  const healthyTargets = await pollUntil(
    async () => {
      const { TargetHealthDescriptions = [] } = await ctx.aws.elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn }));
      const states = TargetHealthDescriptions.map((t) => t.TargetHealth?.State);
      const healthy = states.filter((s) => s === 'healthy').length;
      const unhealthy = TargetHealthDescriptions.filter((t) => t.TargetHealth?.State === 'unhealthy');
      // Healthy means every registered target: one still draining after a scale-in is not done yet.
      const others = states.filter((s) => s !== 'healthy' && s !== 'unhealthy');
      if (healthy >= desired && unhealthy.length === 0 && others.length === 0) return { done: true, value: healthy };
      const reason = unhealthy[0]?.TargetHealth?.Description;
      const otherCounts = [...new Set(others)].map((state) => `${others.filter((s) => s === state).length} ${state ?? 'unknown'}`);
      return {
        done: false,
        status: `${running}/${desired} running, ${healthy}/${desired} targets healthy${unhealthy.length ? `, ${unhealthy.length} unhealthy (${reason ?? 'failing health checks'})` : ''}${healthy >= desired && otherCounts.length ? `, ${otherCounts.join(', ')}` : ''}`,
      };
    },
    {
      clock: ctx.clock,
      what: `the targets of service ${name} to become healthy`,
      timeoutMs: remaining(),
      intervalMs: WAIT_POLL_MS,
      onWait: (_s, status) => ctx.progress(`${status} (${elapsed()}s)`),
    },
  );

  const taskArns = await listServiceTaskArns(ctx.aws, cluster, name);
  const zones = new Set<string>();
  // DescribeTasks takes at most 100 tasks a call.
  for (let i = 0; i < taskArns.length; i += 100) {
    const { tasks = [] } = await ctx.aws.ecs.send(new DescribeTasksCommand({ cluster, tasks: taskArns.slice(i, i + 100) }));
    for (const task of tasks) if (task.availabilityZone) zones.add(task.availabilityZone);
  }
  const availabilityZones = [...zones].sort();
  return { runningCount: running, healthyTargets, availabilityZones };
}
