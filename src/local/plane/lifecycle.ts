/**
 * One task's life as ECS runs it: PROVISIONING → PENDING → ACTIVATING → RUNNING, and on stop
 * DEACTIVATING (Cloud Map instance removed, target drained) → STOPPING (SIGTERM, SIGKILL after the
 * stop timeout) → DEPROVISIONING → STOPPED. The process is real; the durations ECS adds
 * (provisioning, ENI attach) are short fixed delays on the plane's scaled clock.
 */
import { DeregisterInstanceCommand, RegisterInstanceCommand } from '@aws-sdk/client-servicediscovery';
import type { AwsClients } from '../../aws/clients.js';
import type { Balancers } from './balancers.js';
import { awslogsDestination, type LogShipper } from './logs.js';
import type { TaskMetadataServer } from './metadata.js';
import type { LocalTask, StopCode } from './model.js';
import { launchTask } from './runtime.js';
import type { PlaneClock } from './types.js';
import type { ContainerDefinition } from '@aws-sdk/client-ecs';

/** What the scheduler decided about a task before it starts. */
export interface TaskPlan {
  task: LocalTask;
  container: ContainerDefinition;
  family: string;
  revision: number;
  environment: Record<string, string>;
  targetGroupArn?: string;
  /** The Cloud Map service ID the task registers in (serviceRegistries). */
  discoveryServiceId?: string;
  /** The app folder that plays the image. */
  appDir: string;
}

export interface LifecycleHooks {
  event(task: LocalTask, message: string): void;
  /** The task reached STOPPED; `task.failed` says whether it counts as a failed launch. */
  exited(task: LocalTask): void;
  changed(): void;
}

/** ECS's provisioning and deprovisioning steps (ENI attach/detach) take a few seconds; shortened here. */
const PROVISION_MS = 1_000;
const DEPROVISION_MS = 1_000;
/** How long a container may take to accept connections before the launch counts as failed. */
const START_TIMEOUT_MS = 60_000;
const DEFAULT_STOP_TIMEOUT_S = 30;
/**
 * A container that dies on its own is noticed by ECS only when its agent reports it, and the target
 * is deregistered after that: until then the load balancer still sends it requests (502s).
 */
const EXIT_NOTICED_AFTER_MS = 5_000;

export class TaskLifecycle {
  private readonly stops = new Map<string, Promise<void>>();
  /** What each started task was launched with, so its stop can undo the registrations. */
  private readonly plans = new Map<string, TaskPlan>();

  constructor(
    private readonly aws: AwsClients,
    private readonly clock: PlaneClock,
    private readonly metadata: TaskMetadataServer,
    private readonly balancers: Balancers,
    private readonly logs: LogShipper,
    private readonly region: string,
    private readonly hooks: LifecycleHooks,
    private readonly python = 'python3',
  ) {}

  /** Runs the task to RUNNING (or to a failed start); does not wait for it to stop. */
  async start(plan: TaskPlan): Promise<void> {
    const { task } = plan;
    // StopTask can arrive at any await below.
    const stopRequested = (): boolean => task.desiredStatus === 'STOPPED';
    this.plans.set(task.arn, plan);
    const sleep = (ms: number) => new Promise((done) => setTimeout(done, this.clock.scaled(ms)));
    await sleep(PROVISION_MS);
    if (stopRequested()) return; // stop() finishes it
    task.lastStatus = 'PENDING';
    task.pullStartedAt = this.clock.now();
    task.pullStoppedAt = this.clock.now();
    this.hooks.changed();

    const destination = awslogsDestination(plan.container, task.id);
    this.publishMetadata(plan);
    try {
      const runtime = launchTask({
        taskId: task.id,
        appDir: plan.appDir,
        ip: task.ip,
        port: task.port,
        environment: plan.environment,
        hostname: `ip-${task.ip.replaceAll('.', '-')}`,
        metadataUri: this.metadata.uriFor(task.id),
        region: this.region,
        python: this.python,
        onOutput: (_stream, line) => destination && this.logs.add(destination, line),
        onExit: (exit) => this.onProcessExit(task, exit.code),
      });
      task.runtime = runtime;
      this.hooks.changed();
      await runtime.ready(this.clock.scaled(START_TIMEOUT_MS) + 10_000);
    } catch (error) {
      // A Dockerfile that cannot be run, or an app that never listens: the launch failed, as a bad image would.
      if (!stopRequested()) {
        if (!task.runtime) this.hooks.event(task, `(service ${task.serviceName}) failed to launch a task with (error ${(error as Error).message}).`);
        void this.stop(task, 'TaskFailedToStart', `Essential container in task exited`, { failed: true });
      }
      return;
    }
    if (stopRequested()) return;
    task.startedAt = this.clock.now();
    task.connectivityAt = this.clock.now();
    task.lastStatus = 'ACTIVATING';
    this.hooks.changed();
    if (plan.discoveryServiceId) await this.registerInstance(plan.discoveryServiceId, task, plan.family);
    const group = plan.targetGroupArn ? this.balancers.group(plan.targetGroupArn) : undefined;
    if (group && plan.targetGroupArn) {
      group.register({ id: task.ip, port: task.port, availabilityZone: task.availabilityZone });
      this.hooks.event(task, `(service ${task.serviceName}) registered 1 targets in (target-group ${plan.targetGroupArn})`);
    } else {
      task.everHealthy = true;
    }
    if (stopRequested()) return;
    task.lastStatus = 'RUNNING';
    this.publishMetadata(plan);
    this.hooks.changed();
  }

  private publishMetadata(plan: TaskPlan): void {
    const { task } = plan;
    this.metadata.set(task.id, {
      cluster: task.clusterArn,
      taskArn: task.arn,
      family: plan.family,
      revision: plan.revision,
      desiredStatus: task.desiredStatus,
      knownStatus: task.lastStatus,
      availabilityZone: task.availabilityZone,
      containerName: task.containerName,
      image: task.image,
      ip: task.ip,
      serviceName: task.serviceName,
      createdAt: task.createdAt,
      ...(task.startedAt ? { startedAt: task.startedAt } : {}),
      ...(task.pullStartedAt ? { pullStartedAt: task.pullStartedAt, pullStoppedAt: task.pullStoppedAt ?? task.pullStartedAt } : {}),
    });
  }

  /**
   * Stops the task as ECS does. Idempotent; `failed` marks a launch that never served (it counts
   * towards the deployment circuit breaker).
   */
  stop(task: LocalTask, code: StopCode, reason: string, options: { failed?: boolean } = {}): Promise<void> {
    const running = this.stops.get(task.arn);
    if (running) return running;
    task.desiredStatus = 'STOPPED';
    task.stopCode = code;
    task.stoppedReason = reason;
    task.stoppingAt = this.clock.now();
    task.failed = Boolean(options.failed);
    this.hooks.changed();
    const done = this.runStop(task).finally(() => this.hooks.exited(task));
    this.stops.set(task.arn, done);
    return done;
  }

  private async runStop(task: LocalTask): Promise<void> {
    const plan = this.plans.get(task.arn);
    this.plans.delete(task.arn);
    const wasServing = task.lastStatus === 'RUNNING' || task.lastStatus === 'ACTIVATING';
    if (wasServing) {
      task.lastStatus = 'DEACTIVATING';
      this.hooks.changed();
      if (plan?.discoveryServiceId) await this.deregisterInstance(plan.discoveryServiceId, task);
      const group = plan?.targetGroupArn ? this.balancers.group(plan.targetGroupArn) : undefined;
      if (group && plan?.targetGroupArn) {
        this.hooks.event(task, `(service ${task.serviceName}) has begun draining connections on 1 tasks.`);
        await group.deregister(task.ip, task.port);
        this.hooks.event(task, `(service ${task.serviceName}) deregistered 1 targets in (target-group ${plan.targetGroupArn})`);
      }
    }
    if (task.lastStatus !== 'PROVISIONING') {
      task.lastStatus = 'STOPPING';
      this.hooks.changed();
      const stopTimeout = (plan?.container.stopTimeout ?? DEFAULT_STOP_TIMEOUT_S) * 1000;
      if (task.runtime && task.exitCode === undefined) {
        const result = await task.runtime.stop(this.clock.scaled(stopTimeout));
        task.exitCode = result.code ?? (result.signal === 'SIGKILL' ? 137 : 143);
      }
      task.executionStoppedAt = this.clock.now();
      task.lastStatus = 'DEPROVISIONING';
      this.hooks.changed();
      await new Promise((done) => setTimeout(done, this.clock.scaled(DEPROVISION_MS)));
    }
    this.finish(task);
  }

  private finish(task: LocalTask): void {
    task.lastStatus = 'STOPPED';
    task.stoppedAt = this.clock.now();
    task.executionStoppedAt ??= task.stoppedAt;
    this.metadata.remove(task.id);
    this.hooks.changed();
  }

  /** The container exited on its own: ECS stops the task (EssentialContainerExited) and the service replaces it. */
  private onProcessExit(task: LocalTask, code: number | null): void {
    task.exitCode = code ?? 137;
    if (task.desiredStatus === 'STOPPED') return;
    setTimeout(() => {
      if (task.desiredStatus === 'RUNNING') void this.stop(task, 'EssentialContainerExited', 'Essential container in task exited', { failed: !task.everHealthy });
    }, this.clock.scaled(EXIT_NOTICED_AFTER_MS));
  }

  private async registerInstance(serviceId: string, task: LocalTask, family: string): Promise<void> {
    try {
      await this.aws.serviceDiscovery.send(
        new RegisterInstanceCommand({
          ServiceId: serviceId,
          InstanceId: task.id,
          Attributes: {
            AWS_INSTANCE_IPV4: task.ip,
            AVAILABILITY_ZONE: task.availabilityZone,
            AWS_INIT_HEALTH_STATUS: 'HEALTHY',
            ECS_CLUSTER_NAME: task.clusterArn.split('/').pop() ?? task.clusterArn,
            ECS_SERVICE_NAME: task.serviceName,
            ECS_TASK_DEFINITION_FAMILY: family,
            REGION: this.region,
          },
        }),
      );
    } catch {
      // The Cloud Map service was deleted under the task: ECS carries on without it too.
    }
  }

  private async deregisterInstance(serviceId: string, task: LocalTask): Promise<void> {
    try {
      await this.aws.serviceDiscovery.send(new DeregisterInstanceCommand({ ServiceId: serviceId, InstanceId: task.id }));
    } catch {
      // already gone
    }
  }
}
