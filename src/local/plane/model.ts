/**
 * What the local scheduler knows about services, deployments and tasks, and how ECS words them in
 * DescribeServices / DescribeTasks answers.
 */
import type { RunningTask } from './runtime.js';

export type TaskStatus = 'PROVISIONING' | 'PENDING' | 'ACTIVATING' | 'RUNNING' | 'DEACTIVATING' | 'STOPPING' | 'DEPROVISIONING' | 'STOPPED';
export type StopCode = 'TaskFailedToStart' | 'EssentialContainerExited' | 'UserInitiated' | 'ServiceSchedulerInitiated';

export interface LocalTask {
  arn: string;
  id: string;
  clusterArn: string;
  serviceName: string;
  deploymentId: string;
  taskDefinitionArn: string;
  containerName: string;
  image: string;
  availabilityZone: string;
  subnetId: string;
  ip: string;
  port: number;
  lastStatus: TaskStatus;
  desiredStatus: 'RUNNING' | 'STOPPED';
  createdAt: number;
  pullStartedAt?: number;
  pullStoppedAt?: number;
  startedAt?: number;
  connectivityAt?: number;
  stoppingAt?: number;
  executionStoppedAt?: number;
  stoppedAt?: number;
  stopCode?: StopCode;
  stoppedReason?: string;
  exitCode?: number;
  /** Counts towards the deployment circuit breaker: it stopped before it ever served healthy. */
  failed: boolean;
  /** Became healthy behind its target group (or RUNNING without one) at least once. */
  everHealthy: boolean;
  runtime?: RunningTask;
}

export interface LocalDeployment {
  id: string;
  status: 'PRIMARY' | 'ACTIVE';
  taskDefinition: string;
  createdAt: number;
  updatedAt: number;
  rolloutState: 'IN_PROGRESS' | 'COMPLETED' | 'FAILED';
  rolloutStateReason: string;
  failedTasks: number;
}

export interface ServiceEvent {
  id: string;
  createdAt: number;
  message: string;
}

/** What CreateService / UpdateService said that moto does not keep. */
export interface ServiceSettings {
  minimumHealthyPercent: number;
  maximumPercent: number;
  circuitBreaker: { enable: boolean; rollback: boolean };
  healthCheckGracePeriodSeconds: number;
  availabilityZoneRebalancing?: string;
}

export const DEFAULT_SETTINGS: ServiceSettings = {
  minimumHealthyPercent: 100,
  maximumPercent: 200,
  circuitBreaker: { enable: false, rollback: false },
  healthCheckGracePeriodSeconds: 0,
};

export interface LocalService {
  /** `<cluster name>/<service name>` */
  key: string;
  arn: string;
  clusterArn: string;
  name: string;
  settings: ServiceSettings;
  deployments: LocalDeployment[];
  events: ServiceEvent[];
  /** Set once DeleteService was called: every task stops, then the service is INACTIVE. */
  deleted: boolean;
  /** The desired count moto reported on the last pass. */
  desiredCount: number;
  /** Set while a circuit-breaker rollback writes the previous task definition back to moto. */
  rollingBack: boolean;
  /** Last known steady state, so "has reached a steady state" is said once per change. */
  steady: boolean;
}

export const SERVING: ReadonlySet<TaskStatus> = new Set(['RUNNING']);
export const STARTING: ReadonlySet<TaskStatus> = new Set(['PROVISIONING', 'PENDING', 'ACTIVATING']);

const seconds = (ms: number | undefined): number | undefined => (ms === undefined ? undefined : ms / 1000);

/** A task as DescribeTasks returns it. */
export function describeTaskJson(task: LocalTask): Record<string, unknown> {
  const stopped = task.lastStatus === 'STOPPED';
  return {
    taskArn: task.arn,
    clusterArn: task.clusterArn,
    taskDefinitionArn: task.taskDefinitionArn,
    group: `service:${task.serviceName}`,
    startedBy: task.deploymentId,
    launchType: 'FARGATE',
    platformVersion: '1.4.0',
    platformFamily: 'Linux',
    availabilityZone: task.availabilityZone,
    lastStatus: task.lastStatus,
    desiredStatus: task.desiredStatus,
    healthStatus: 'UNKNOWN',
    connectivity: task.connectivityAt ? 'CONNECTED' : undefined,
    createdAt: seconds(task.createdAt),
    pullStartedAt: seconds(task.pullStartedAt),
    pullStoppedAt: seconds(task.pullStoppedAt),
    connectivityAt: seconds(task.connectivityAt),
    startedAt: seconds(task.startedAt),
    stoppingAt: seconds(task.stoppingAt),
    executionStoppedAt: seconds(task.executionStoppedAt),
    stoppedAt: seconds(task.stoppedAt),
    stopCode: task.stopCode,
    stoppedReason: task.stoppedReason,
    attachments: [
      {
        id: `eni-attachment-${task.id.slice(0, 8)}`,
        type: 'ElasticNetworkInterface',
        status: stopped ? 'DELETED' : task.lastStatus === 'PROVISIONING' ? 'PRECREATED' : 'ATTACHED',
        details: [
          { name: 'subnetId', value: task.subnetId },
          { name: 'networkInterfaceId', value: `eni-${task.id.slice(0, 17)}` },
          { name: 'privateIPv4Address', value: task.ip },
        ],
      },
    ],
    containers: [
      {
        containerArn: `${task.arn.replace(':task/', ':container/')}/${task.containerName}`,
        taskArn: task.arn,
        name: task.containerName,
        image: task.image,
        lastStatus: stopped ? 'STOPPED' : task.startedAt ? 'RUNNING' : 'PENDING',
        exitCode: task.exitCode,
        networkInterfaces: [{ attachmentId: `eni-attachment-${task.id.slice(0, 8)}`, privateIpv4Address: task.ip }],
        networkBindings: [],
      },
    ],
    tags: [],
    version: 1,
  };
}
