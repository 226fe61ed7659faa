/**
 * The local ECS service scheduler: keeps each service at its desired count, spreads tasks over the
 * AZs of its subnets, replaces stopped and unhealthy tasks, rolls deployments out within
 * minimumHealthyPercent / maximumPercent (a new task definition or a change of subnets is a new
 * deployment, as on ECS), trips the deployment circuit breaker, and rebalances a steady service's
 * tasks over its AZs when Availability Zone rebalancing is ENABLED. Configuration is read from moto
 * on every pass; what moto does not keep (deployment settings) comes from the CreateService /
 * UpdateService requests the endpoint saw.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { UpdateServiceCommand, type AwsVpcConfiguration, type Service, type TaskDefinition } from '@aws-sdk/client-ecs';
import type { AwsClients } from '../../aws/clients.js';
import type { AppFolders } from './apps.js';
import type { Balancers } from './balancers.js';
import type { TaskLifecycle } from './lifecycle.js';
import { DEFAULT_SETTINGS, SERVING, STARTING, type LocalDeployment, type LocalService, type LocalTask, type ServiceSettings } from './model.js';
import { loopbackAddress } from './runtime.js';
import type { PlaneClock } from './types.js';
import type { MotoWorld, ServiceView } from './world.js';

const RECONCILE_MS = 500;
/** ECS keeps stopped tasks visible for at least an hour; a bounded number is enough here. */
const STOPPED_TASKS_KEPT = 200;
const EVENTS_KEPT = 100;

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');
const newDeploymentId = (): string => `ecs-svc/${BigInt(`0x${hex(8)}`).toString().slice(0, 19)}`;

export interface SchedulerOptions {
  world: MotoWorld;
  /** Straight to moto: the scheduler's own writes (a rollback's task definition). */
  aws: AwsClients;
  balancers: Balancers;
  clock: PlaneClock;
  account: string;
  region: string;
  appDir: string;
  /** Which folder plays which image; without it every task runs `appDir`. */
  apps?: AppFolders;
  /** Whether every task gets its own loopback address (Linux) or its own port on 127.0.0.1. */
  platform?: NodeJS.Platform;
  freePort: () => Promise<number>;
  lifecycle: () => TaskLifecycle;
  log?: (line: string) => void;
}

export class Scheduler {
  readonly services = new Map<string, LocalService>();
  readonly tasks = new Map<string, LocalTask>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  /** Where address allocation starts: random, so that two stacks' planes rarely try the same address first. */
  private hostIndex = Math.floor(Math.random() * 250);
  /** The network configuration each deployment was started with (deployment ID → awsvpcConfiguration). */
  private readonly deploymentNetworks = new Map<string, AwsVpcConfiguration>();
  /** Per service key: the task an Availability Zone rebalancing move started, until the move is done. */
  private readonly rebalanceMoves = new Map<string, string>();
  /** Service keys whose rebalancing is under way: "is AZ balanced" is said once it is done. */
  private readonly rebalancing = new Set<string>();
  /**
   * Passes started so far, and per service the document moto answered the last CreateService or
   * UpdateService that passed through the endpoint with, and how many passes had started then: a
   * pass that read moto before that call cannot have seen it, and schedules from that document
   * instead (a task stopped right after UpdateService is replaced from the new deployment).
   */
  private passes = 0;
  private readonly changedThroughEndpoint = new Map<string, { service: Service; pass: number }>();

  constructor(private readonly options: SchedulerOptions) {}

  start(): void {
    this.timer = setInterval(() => this.poke(), RECONCILE_MS);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.idle();
  }

  /** A reconcile pass runs now. */
  get busy(): boolean {
    return this.running !== undefined;
  }

  /** Resolves once no reconcile pass runs or is queued behind the running one. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Runs a reconcile pass now (or right after the one in progress). */
  poke(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.reconcile()
      .catch((error: unknown) => this.options.log?.(`reconcile failed: ${(error as Error).message}`))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.poke();
        }
      });
  }

  // ---- what the endpoint tells the scheduler ----

  serviceCreated(clusterName: string, service: Service, settings: Partial<ServiceSettings>): void {
    const key = `${clusterName}/${service.serviceName}`;
    this.changedThroughEndpoint.set(key, { service, pass: this.passes });
    this.services.set(key, {
      key,
      arn: service.serviceArn ?? key,
      clusterArn: service.clusterArn ?? '',
      name: service.serviceName ?? '',
      settings: { ...DEFAULT_SETTINGS, ...settings },
      deployments: [],
      events: [],
      deleted: false,
      desiredCount: service.desiredCount ?? 0,
      rollingBack: false,
      steady: false,
    });
    // The first deployment exists as soon as the service does, as on ECS.
    if (service.taskDefinition) this.startDeployment(this.services.get(key)!, service.taskDefinition, networkOf(service));
    this.poke();
  }

  /** ECS starts the new deployment within the UpdateService call, so the next DescribeServices shows it. */
  serviceUpdated(clusterName: string, service: Service, settings: Partial<ServiceSettings>, forceNewDeployment: boolean): void {
    const local = this.services.get(`${clusterName}/${service.serviceName}`);
    if (!local) return;
    this.changedThroughEndpoint.set(local.key, { service, pass: this.passes });
    local.settings = { ...local.settings, ...settings };
    if (service.desiredCount !== undefined) local.desiredCount = service.desiredCount;
    const primary = local.deployments[0];
    const changed = forceNewDeployment || primary?.taskDefinition !== service.taskDefinition || this.subnetsChanged(primary, service);
    if (service.taskDefinition && changed) this.startDeployment(local, service.taskDefinition, networkOf(service));
    this.poke();
  }

  serviceDeleted(clusterName: string, serviceName: string): void {
    const local = this.services.get(`${clusterName}/${serviceName}`);
    if (local) local.deleted = true;
    this.poke();
  }

  /** The network configuration a deployment was started with, as DescribeServices shows it per deployment. */
  deploymentNetwork(deploymentId: string): { awsvpcConfiguration: AwsVpcConfiguration } | undefined {
    const awsvpc = this.deploymentNetworks.get(deploymentId);
    return awsvpc ? { awsvpcConfiguration: awsvpc } : undefined;
  }

  service(clusterName: string, serviceName: string): LocalService | undefined {
    return this.services.get(`${clusterName}/${serviceName}`);
  }

  /** The live (not deleted) service a task belongs to. */
  serviceOf(task: LocalTask): LocalService | undefined {
    return [...this.services.values()].find((s) => s.clusterArn === task.clusterArn && s.name === task.serviceName && !s.deleted);
  }

  tasksOf(local: LocalService): LocalTask[] {
    return [...this.tasks.values()].filter((t) => t.clusterArn === local.clusterArn && t.serviceName === local.name);
  }

  stopTask(task: LocalTask, reason: string | undefined): void {
    void this.options.lifecycle().stop(task, 'UserInitiated', reason || 'Task stopped by user');
    this.poke();
  }

  // ---- reconcile ----

  private async reconcile(): Promise<void> {
    const { world, balancers, clock } = this.options;
    const readAt = clock.now();
    const pass = ++this.passes;
    const [views, loadBalancers] = await Promise.all([world.services(), world.loadBalancers()]);
    const groupArns = new Set<string>();
    for (const lb of loadBalancers) if (lb.targetGroupArn) groupArns.add(lb.targetGroupArn);
    for (const { service } of views) for (const lb of service.loadBalancers ?? []) if (lb.targetGroupArn) groupArns.add(lb.targetGroupArn);
    balancers.syncTargetGroups(await world.targetGroups([...groupArns]));
    await balancers.syncLoadBalancers(loadBalancers, readAt);

    const seen = new Set<string>();
    for (const read of views) {
      const key = `${read.clusterName}/${read.service.serviceName}`;
      seen.add(key);
      const changed = this.changedThroughEndpoint.get(key);
      const view = changed && changed.pass >= pass ? { ...read, service: changed.service } : read;
      let local = this.services.get(key);
      if (!local || (local.deleted && view.service.status === 'ACTIVE' && local.arn !== view.service.serviceArn)) {
        // A service the endpoint did not see created (the plane restarted): ECS's defaults apply.
        this.serviceCreated(view.clusterName, view.service, {});
        local = this.services.get(key)!;
      }
      if (view.service.status !== 'ACTIVE') local.deleted = true;
      await this.reconcileService(local, view);
    }
    for (const local of this.services.values()) {
      // Created while this pass was reading moto: not listed yet, not deleted.
      if (!seen.has(local.key) && (this.changedThroughEndpoint.get(local.key)?.pass ?? 0) < pass) local.deleted = true;
      if (local.deleted) this.drainDeleted(local);
    }
    this.forgetOldStoppedTasks();
  }

  private drainDeleted(local: LocalService): void {
    const reason = `Scaling activity initiated by (deployment ${local.deployments[0]?.id ?? 'unknown'})`;
    for (const task of this.tasksOf(local)) {
      if (task.desiredStatus === 'RUNNING') void this.options.lifecycle().stop(task, 'ServiceSchedulerInitiated', reason);
    }
  }

  private async reconcileService(local: LocalService, view: ServiceView): Promise<void> {
    if (local.deleted || local.rollingBack) return;
    const { service } = view;
    local.desiredCount = service.desiredCount ?? 0;
    const taskDefinitionArn = service.taskDefinition;
    if (!taskDefinitionArn) return;
    let primary = local.deployments[0];
    // A change the endpoint did not see (made straight to moto): a new deployment all the same.
    if (!primary || primary.taskDefinition !== taskDefinitionArn || this.subnetsChanged(primary, service)) {
      primary = this.startDeployment(local, taskDefinitionArn, networkOf(service));
    }

    const desired = service.desiredCount ?? 0;
    const { minimumHealthyPercent, maximumPercent } = local.settings;
    const upper = Math.max(1, Math.floor((desired * maximumPercent) / 100));
    const lower = Math.ceil((desired * minimumHealthyPercent) / 100);
    const lifecycle = this.options.lifecycle();
    const targetGroupArn = service.loadBalancers?.[0]?.targetGroupArn;
    const group = targetGroupArn ? this.options.balancers.group(targetGroupArn) : undefined;
    const healthy = (task: LocalTask): boolean => {
      if (task.lastStatus !== 'RUNNING') return false;
      if (!group) return true;
      return group.health(task.ip).some((t) => t.port === task.port && t.state === 'healthy');
    };
    for (const task of this.tasksOf(local)) if (healthy(task)) task.everHealthy = true;

    // A target that stays unhealthy past the grace period gets its task replaced.
    const graceMs = this.options.clock.scaled(local.settings.healthCheckGracePeriodSeconds * 1000);
    for (const task of this.live(local)) {
      if (!group || task.lastStatus !== 'RUNNING' || (task.startedAt ?? 0) + graceMs > this.options.clock.now()) continue;
      const target = group.health(task.ip).find((t) => t.port === task.port);
      if (target?.state !== 'unhealthy') continue;
      this.event(local, `(service ${local.name}) (port ${task.port}) is unhealthy in (target-group ${targetGroupArn}) due to (reason ${target.description ?? 'Health checks failed'}).`);
      void lifecycle.stop(task, 'ServiceSchedulerInitiated', `Task failed ELB health checks in (target-group ${targetGroupArn})`, { failed: !task.everHealthy });
      this.event(local, `(service ${local.name}) has stopped 1 running tasks: (task ${task.id}).`);
    }

    const live = this.live(local);
    const primaryLive = live.filter((t) => t.deploymentId === primary.id);
    // Start the primary deployment's tasks, within maximumPercent.
    if (primary.rolloutState !== 'FAILED') {
      let room = Math.min(desired - primaryLive.length, upper - live.length);
      if (room > 0) {
        const definition = await this.options.world.taskDefinition(primary.taskDefinition);
        const zones = await this.options.world.zonesOf(service.networkConfiguration?.awsvpcConfiguration?.subnets ?? []);
        const started: string[] = [];
        while (room-- > 0 && zones.size > 0) {
          const task = await this.launch(local, view, primary, definition, zones, targetGroupArn);
          started.push(task.id);
        }
        if (started.length > 0) this.event(local, `(service ${local.name}) has started ${started.length} tasks: ${started.map((id) => `(task ${id})`).join(' ')}.`);
      }
    }

    // Stop older deployments' tasks while minimumHealthyPercent stays met: unhealthy ones first.
    let healthyCount = this.live(local).filter(healthy).length;
    const old = this.live(local)
      .filter((t) => t.deploymentId !== primary.id)
      .sort((a, b) => Number(healthy(a)) - Number(healthy(b)));
    const stopped: string[] = [];
    for (const task of old) {
      if (healthy(task)) {
        if (healthyCount - 1 < lower) break;
        healthyCount--;
      }
      void lifecycle.stop(task, 'ServiceSchedulerInitiated', `Scaling activity initiated by (deployment ${primary.id})`);
      stopped.push(task.id);
    }
    // Scale in: the newest not-serving tasks first, then from the AZ with the most tasks.
    const extra = this.live(local).filter((t) => t.deploymentId === primary.id);
    let excess = extra.length - desired;
    const moving = this.rebalanceMoves.get(local.key);
    const moved = moving ? this.tasks.get(moving) : undefined;
    if (moving && (moved?.desiredStatus !== 'RUNNING' || moved.deploymentId !== primary.id)) this.rebalanceMoves.delete(local.key);
    else if (moved && excess > 0) {
      // An AZ rebalancing move stops a task in the busiest AZ only once its new task serves.
      if (!healthy(moved)) excess = 0;
      else {
        const victim = this.scaleInVictim(extra.filter((t) => t !== moved), healthy);
        if (victim) {
          extra.splice(extra.indexOf(victim), 1);
          void lifecycle.stop(victim, 'ServiceSchedulerInitiated', `Availability Zone rebalancing initiated by (deployment ${primary.id})`);
          this.event(local, `${local.name} has stopped 1 running tasks in ${victim.availabilityZone} due to AZ rebalancing: ${victim.id}.`);
          excess--;
        }
        this.rebalanceMoves.delete(local.key);
      }
    }
    for (; excess > 0; excess--) {
      const victim = this.scaleInVictim(extra, healthy);
      if (!victim) break;
      extra.splice(extra.indexOf(victim), 1);
      void lifecycle.stop(victim, 'ServiceSchedulerInitiated', `Scaling activity initiated by (deployment ${primary.id})`);
      stopped.push(victim.id);
    }
    if (stopped.length > 0) this.event(local, `(service ${local.name}) has stopped ${stopped.length} running tasks: ${stopped.map((id) => `(task ${id})`).join(' ')}.`);

    this.settleDeployments(local, primary, desired, healthy);
    if (local.steady && local.settings.availabilityZoneRebalancing === 'ENABLED' && primary.rolloutState === 'COMPLETED') {
      await this.rebalance(local, view, primary, upper, targetGroupArn);
    }
  }

  /**
   * Availability Zone rebalancing, as ECS describes it: once the service is steady, when its tasks
   * are not spread evenly over the AZs of its subnets (one AZ has two or more tasks more than
   * another), it starts a task in the AZ with the fewest, within maximumPercent, and stops one in
   * the AZ with the most once the new one is healthy (in the scale-in step); one move at a time,
   * until the spread is even.
   */
  private async rebalance(local: LocalService, view: ServiceView, primary: LocalDeployment, upper: number, targetGroupArn: string | undefined): Promise<void> {
    if (this.rebalanceMoves.has(local.key)) return;
    const zones = await this.options.world.zonesOf(view.service.networkConfiguration?.awsvpcConfiguration?.subnets ?? []);
    const zoneNames = [...new Set(zones.values())].sort();
    if (zoneNames.length < 2) return;
    const live = this.live(local);
    const counts = new Map(zoneNames.map((zone) => [zone, 0]));
    for (const task of live) if (task.deploymentId === primary.id && counts.has(task.availabilityZone)) counts.set(task.availabilityZone, counts.get(task.availabilityZone)! + 1);
    const spread = [...counts.values()];
    const described = zoneNames.map((zone) => `${counts.get(zone)} tasks in ${zone}`).join(', ');
    if (Math.max(...spread) - Math.min(...spread) <= 1) {
      if (this.rebalancing.delete(local.key)) this.event(local, `service (${local.name}) is AZ balanced with ${described}.`);
      return;
    }
    if (live.length >= upper) return; // maximumPercent leaves no room for the extra task
    if (!this.rebalancing.has(local.key)) {
      this.rebalancing.add(local.key);
      this.event(local, `service (${local.name}) is not AZ balanced with ${described}. AZ Rebalancing in progress.`);
    }
    const definition = await this.options.world.taskDefinition(primary.taskDefinition);
    // The spread puts it in the AZ with the fewest tasks.
    const task = await this.launch(local, view, primary, definition, zones, targetGroupArn);
    this.rebalanceMoves.set(local.key, task.arn);
    local.steady = false;
    this.event(local, `${local.name} has started 1 tasks in ${task.availabilityZone} to AZ Rebalance: ${task.id}.`);
  }

  /** Whether the service's subnets are no longer those its primary deployment was started with. */
  private subnetsChanged(primary: LocalDeployment | undefined, service: Service): boolean {
    const started = primary ? this.deploymentNetworks.get(primary.id) : undefined;
    const now = networkOf(service);
    if (!started || !now) return false;
    return sortedSubnets(started).join(',') !== sortedSubnets(now).join(',');
  }

  private settleDeployments(local: LocalService, primary: LocalDeployment, desired: number, healthy: (t: LocalTask) => boolean): void {
    const now = this.options.clock.now();
    const tasks = this.tasksOf(local);
    // An older deployment is gone once none of its tasks is left running or stopping.
    const kept = local.deployments.filter((d) => d === primary || tasks.some((t) => t.deploymentId === d.id && t.lastStatus !== 'STOPPED'));
    for (const gone of local.deployments.filter((d) => !kept.includes(d))) this.deploymentNetworks.delete(gone.id);
    local.deployments = kept;

    const primaryHealthy = tasks.filter((t) => t.deploymentId === primary.id && t.desiredStatus === 'RUNNING' && healthy(t)).length;
    const primaryLive = tasks.filter((t) => t.deploymentId === primary.id && t.desiredStatus === 'RUNNING').length;
    if (primary.rolloutState === 'IN_PROGRESS' && local.deployments.length === 1 && primaryHealthy === desired && primaryLive === desired) {
      primary.rolloutState = 'COMPLETED';
      primary.rolloutStateReason = `ECS deployment ${primary.id} completed.`;
      primary.updatedAt = now;
      this.event(local, `(service ${local.name}) (deployment ${primary.id}) deployment completed.`);
    }
    const running = tasks.filter((t) => SERVING.has(t.lastStatus)).length;
    const steady = primary.rolloutState === 'COMPLETED' && local.deployments.length === 1 && running === desired && !tasks.some((t) => STARTING.has(t.lastStatus));
    if (steady && !local.steady) this.event(local, `(service ${local.name}) has reached a steady state.`);
    local.steady = steady;
  }

  private scaleInVictim(tasks: LocalTask[], healthy: (t: LocalTask) => boolean): LocalTask | undefined {
    const notServing = tasks.filter((t) => !healthy(t));
    if (notServing.length > 0) return notServing[notServing.length - 1];
    const perZone = new Map<string, LocalTask[]>();
    for (const task of tasks) perZone.set(task.availabilityZone, [...(perZone.get(task.availabilityZone) ?? []), task]);
    const busiest = [...perZone.values()].sort((a, b) => b.length - a.length)[0];
    return busiest?.[busiest.length - 1];
  }

  private live(local: LocalService): LocalTask[] {
    return this.tasksOf(local).filter((t) => t.desiredStatus === 'RUNNING');
  }

  private startDeployment(local: LocalService, taskDefinition: string, network: AwsVpcConfiguration | undefined, reason?: string): LocalDeployment {
    const now = this.options.clock.now();
    for (const deployment of local.deployments) deployment.status = 'ACTIVE';
    const id = newDeploymentId();
    const deployment: LocalDeployment = {
      id,
      status: 'PRIMARY',
      taskDefinition,
      createdAt: now,
      updatedAt: now,
      rolloutState: 'IN_PROGRESS',
      rolloutStateReason: reason ?? `ECS deployment ${id} in progress.`,
      failedTasks: 0,
    };
    local.deployments.unshift(deployment);
    if (network) this.deploymentNetworks.set(id, network);
    local.steady = false;
    // A new deployment spreads its own tasks: a rebalancing move under way ends here.
    this.rebalanceMoves.delete(local.key);
    return deployment;
  }

  /** A task of the primary deployment stopped without ever serving: the circuit breaker counts it. */
  taskExited(task: LocalTask): void {
    const local = this.serviceOf(task);
    const primary = local?.deployments[0];
    if (local && primary && task.failed && task.deploymentId === primary.id && primary.rolloutState === 'IN_PROGRESS') {
      primary.failedTasks++;
      primary.updatedAt = this.options.clock.now();
      const { enable, rollback } = local.settings.circuitBreaker;
      if (enable && primary.failedTasks >= circuitBreakerThreshold(local.desiredCount)) {
        // Not awaited: a rejection (moto refusing the rollback's UpdateService) must not take the plane down.
        void this.tripCircuitBreaker(local, primary, rollback).catch((error: unknown) => this.options.log?.(`circuit breaker rollback of ${local.key} failed: ${(error as Error).message}`));
      }
    }
    this.poke();
  }

  private async tripCircuitBreaker(local: LocalService, failed: LocalDeployment, rollback: boolean): Promise<void> {
    failed.rolloutState = 'FAILED';
    failed.rolloutStateReason = 'ECS deployment circuit breaker: tasks failed to start.';
    this.event(local, `(service ${local.name}) (deployment ${failed.id}) deployment failed: tasks failed to start.`);
    const previous = local.deployments.find((d) => d !== failed && d.rolloutState === 'COMPLETED') ?? local.deployments.find((d) => d !== failed);
    if (!rollback || !previous) return;
    local.rollingBack = true;
    // Moto keeps the failed deployment's network configuration: the rollback runs with it.
    const back = this.startDeployment(local, previous.taskDefinition, this.deploymentNetworks.get(failed.id), `ECS deployment circuit breaker: rolling back to deploymentId ${previous.id}.`);
    // The previous deployment's tasks run the same task definition: they carry on in the rollback.
    for (const task of this.tasksOf(local)) if (task.deploymentId === previous.id) task.deploymentId = back.id;
    local.deployments = local.deployments.filter((d) => d !== previous);
    failed.status = 'ACTIVE';
    this.event(local, `(service ${local.name}) rolling back to deployment ${previous.id}.`);
    const clusterName = local.key.split('/')[0];
    try {
      const { service } = await this.options.aws.ecs.send(new UpdateServiceCommand({ cluster: clusterName, service: local.name, taskDefinition: previous.taskDefinition }));
      // Its own change, as one through the endpoint: a pass that read moto before it must not redeploy the failed revision.
      if (service) this.changedThroughEndpoint.set(local.key, { service, pass: this.passes });
    } finally {
      local.rollingBack = false;
    }
    this.poke();
  }

  private async launch(local: LocalService, view: ServiceView, deployment: LocalDeployment, definition: TaskDefinition, zones: Map<string, string>, targetGroupArn: string | undefined): Promise<LocalTask> {
    const { clock, account, region } = this.options;
    // Spread, as ECS places a service's tasks: the AZ with the fewest of this service's tasks, then
    // the subnet order; only over the AZs of the subnets given now, never one they left out.
    const zoneNames = [...new Set(zones.values())];
    const counts = new Map(zoneNames.map((z) => [z, 0]));
    for (const task of this.live(local)) if (counts.has(task.availabilityZone)) counts.set(task.availabilityZone, counts.get(task.availabilityZone)! + 1);
    const zone = [...counts.entries()].sort((a, b) => a[1] - b[1] || zoneNames.indexOf(a[0]) - zoneNames.indexOf(b[0]))[0]![0];
    const subnetId = [...zones.entries()].find(([, z]) => z === zone)![0];
    const container = definition.containerDefinitions?.[0] ?? {};
    const containerPort = container.portMappings?.[0]?.containerPort ?? 8080;
    const { ip, port } = await this.address(zoneIndex(zone, zoneNames), containerPort);
    const id = hex(16);
    const task: LocalTask = {
      arn: `arn:aws:ecs:${region}:${account}:task/${view.clusterName}/${id}`,
      id,
      clusterArn: view.clusterArn,
      serviceName: local.name,
      deploymentId: deployment.id,
      taskDefinitionArn: deployment.taskDefinition,
      containerName: container.name ?? 'app',
      image: container.image ?? '',
      availabilityZone: zone,
      subnetId,
      ip,
      port,
      lastStatus: 'PROVISIONING',
      desiredStatus: 'RUNNING',
      createdAt: clock.now(),
      failed: false,
      everHealthy: false,
    };
    this.tasks.set(task.arn, task);
    const environment: Record<string, string> = {};
    for (const { name, value } of container.environment ?? []) if (name) environment[name] = value ?? '';
    const registryArn = view.service.serviceRegistries?.[0]?.registryArn;
    void this.options
      .lifecycle()
      .start({
        task,
        container,
        family: definition.family ?? '',
        revision: definition.revision ?? 0,
        environment,
        // The image's code, as on ECS: the folder it was built from (a new app folder is a new image).
        appDir: this.options.apps?.folderFor(container.image ?? '', definition.runtimePlatform?.cpuArchitecture) ?? this.options.appDir,
        ...(targetGroupArn ? { targetGroupArn } : {}),
        ...(registryArn ? { discoveryServiceId: registryArn.split('/').pop()! } : {}),
      })
      .catch((error: unknown) => this.options.log?.(`task ${id} failed to start: ${(error as Error).message}`));
    return task;
  }

  /**
   * A loopback address for a new task in the AZ: its own address and the container port where the
   * OS has many loopback addresses, else its own port. In use (another stack's plane, a task still
   * stopping) means the next one.
   */
  private async address(azIndex: number, containerPort: number): Promise<{ ip: string; port: number }> {
    const taken = new Set([...this.tasks.values()].filter((t) => t.lastStatus !== 'STOPPED').map((t) => `${t.ip}:${t.port}`));
    for (let attempt = 0; attempt < 250; attempt++) {
      const { ip, sharedHost } = loopbackAddress(azIndex, this.hostIndex++, this.options.platform);
      const port = sharedHost ? await this.options.freePort() : containerPort;
      if (!taken.has(`${ip}:${port}`) && (await canListen(ip, port))) return { ip, port };
    }
    throw new Error(`no free loopback address for a task in AZ index ${azIndex}`);
  }

  event(local: LocalService, message: string): void {
    local.events.unshift({ id: hex(16).replace(/^(.{8})(.{4})(.{4})(.{4})/, '$1-$2-$3-$4-'), createdAt: this.options.clock.now(), message });
    local.events.length = Math.min(local.events.length, EVENTS_KEPT);
  }

  private forgetOldStoppedTasks(): void {
    const stopped = [...this.tasks.values()].filter((t) => t.lastStatus === 'STOPPED');
    for (const task of stopped.slice(0, Math.max(0, stopped.length - STOPPED_TASKS_KEPT))) this.tasks.delete(task.arn);
  }
}

function canListen(ip: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, ip, () => server.close(() => resolve(true)));
  });
}

/**
 * The AZ's part of a task's loopback address (127.0.<index + 1>.n): from its letter (us-east-1a → 0),
 * so that it stays the same when the service's subnets change; the subnet order otherwise.
 */
function zoneIndex(zone: string, zoneNames: string[]): number {
  const letter = /[a-z]$/.exec(zone)?.[0];
  return letter ? letter.charCodeAt(0) - 'a'.charCodeAt(0) : zoneNames.indexOf(zone);
}

function networkOf(service: Service): AwsVpcConfiguration | undefined {
  return service.networkConfiguration?.awsvpcConfiguration;
}

function sortedSubnets(network: AwsVpcConfiguration): string[] {
  return [...(network.subnets ?? [])].sort();
}

/** ECS: half the desired count, at least 3 and at most 200 failed tasks. */
export function circuitBreakerThreshold(desired: number): number {
  return Math.min(200, Math.max(3, Math.ceil(desired * 0.5)));
}
