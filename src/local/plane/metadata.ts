/**
 * The ECS task metadata endpoint v4 for local tasks: one loopback HTTP server, one path prefix per
 * task (`/v4/<taskId>`), answering the container and task documents shaped as Fargate returns them.
 * On Fargate each container reaches its own task's data at a link-local address; here the path
 * prefix in ECS_CONTAINER_METADATA_URI_V4 plays that part.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { planeClock, type PlaneClock } from './types.js';

/** What the scheduler knows about a task, for its metadata documents. Times are epoch ms. */
export interface TaskMetadata {
  /** Cluster ARN (Fargate reports the ARN). */
  cluster: string;
  taskArn: string;
  family: string;
  revision: number | string;
  desiredStatus: string;
  knownStatus: string;
  availabilityZone: string;
  containerName: string;
  image: string;
  ip: string;
  /** Unset until the container has started (the real endpoint omits StartedAt then). */
  startedAt?: number;
  createdAt?: number;
  pullStartedAt?: number;
  pullStoppedAt?: number;
  serviceName?: string;
  /** Task-level cpu units and memory MiB of the task definition ("256", "512"). */
  cpu?: number | string;
  memory?: number | string;
  subnetCidr?: string;
  /** The container's exit code once it stopped. */
  exitCode?: number;
}

const JSON_HEADERS = { 'Content-Type': 'application/json' };

export class TaskMetadataServer {
  private readonly tasks = new Map<string, TaskMetadata & { firstSeen: number }>();
  private server: Server | undefined;
  private port = 0;

  constructor(private readonly clock: PlaneClock = planeClock(1)) {}

  async listen(): Promise<void> {
    if (this.server) return;
    const server = createServer((req, res) => this.handle(req, res));
    // The app's lookup has a 1 s timeout and is cached; idle keep-alive sockets must not hold close().
    server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  uriFor(taskId: string): string {
    if (!this.server) throw new Error('TaskMetadataServer.uriFor before listen()');
    return `http://127.0.0.1:${this.port}/v4/${encodeURIComponent(taskId)}`;
  }

  set(taskId: string, metadata: TaskMetadata): void {
    const firstSeen = this.tasks.get(taskId)?.firstSeen ?? this.clock.now();
    this.tasks.set(taskId, { ...metadata, firstSeen });
  }

  remove(taskId: string): void {
    this.tasks.delete(taskId);
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = new URL(req.url ?? '/', 'http://local').pathname.replace(/\/+$/, '');
    const match = /^\/v4\/([^/]+)(\/task)?$/.exec(path);
    const task = match?.[1] ? this.tasks.get(decodeURIComponent(match[1])) : undefined;
    if (!task) {
      res.writeHead(404, JSON_HEADERS).end(JSON.stringify({ error: 'not found' }));
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...JSON_HEADERS, Allow: 'GET, HEAD' }).end();
      return;
    }
    const body = JSON.stringify(match?.[2] ? taskDocument(task) : containerDocument(task), null, 2);
    res.writeHead(200, { ...JSON_HEADERS, 'Content-Length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  }
}

/** `${ECS_CONTAINER_METADATA_URI_V4}/task` */
export function taskDocument(task: TaskMetadata & { firstSeen?: number }): Record<string, unknown> {
  const pulled = task.pullStartedAt ?? task.createdAt ?? task.firstSeen;
  const limits = taskLimits(task);
  return {
    Cluster: task.cluster,
    ...(task.serviceName ? { ServiceName: task.serviceName } : {}),
    TaskARN: task.taskArn,
    Family: task.family,
    Revision: String(task.revision),
    DesiredStatus: task.desiredStatus,
    KnownStatus: task.knownStatus,
    ...(limits ? { Limits: limits } : {}),
    ...(pulled !== undefined ? { PullStartedAt: iso(pulled), PullStoppedAt: iso(task.pullStoppedAt ?? pulled) } : {}),
    AvailabilityZone: task.availabilityZone,
    LaunchType: 'FARGATE',
    Containers: [containerDocument(task)],
    ClockDrift: { ClockErrorBound: 0.5, ReferenceTimestamp: iso(Date.now() - (Date.now() % 1000)), ClockSynchronizationStatus: 'SYNCHRONIZED' },
    EphemeralStorageMetrics: { Utilized: 0, Reserved: 20496 },
  };
}

/** `${ECS_CONTAINER_METADATA_URI_V4}` */
export function containerDocument(task: TaskMetadata & { firstSeen?: number }): Record<string, unknown> {
  const taskId = task.taskArn.split('/').pop() ?? task.taskArn;
  const created = task.createdAt ?? task.firstSeen;
  const region = task.taskArn.split(':')[3] ?? '';
  return {
    // Fargate's DockerId: the task id, a dash, a 10-digit number.
    DockerId: `${taskId}-${digits(`${taskId}/${task.containerName}`)}`,
    Name: task.containerName,
    DockerName: task.containerName,
    Image: task.image,
    ImageID: '',
    Labels: {
      'com.amazonaws.ecs.cluster': task.cluster,
      'com.amazonaws.ecs.container-name': task.containerName,
      'com.amazonaws.ecs.task-arn': task.taskArn,
      'com.amazonaws.ecs.task-definition-family': task.family,
      'com.amazonaws.ecs.task-definition-version': String(task.revision),
    },
    DesiredStatus: task.desiredStatus,
    KnownStatus: task.knownStatus,
    ...(task.exitCode !== undefined ? { ExitCode: task.exitCode } : {}),
    Limits: { CPU: 0, Memory: 0 },
    ...(created !== undefined ? { CreatedAt: iso(created) } : {}),
    ...(task.startedAt !== undefined ? { StartedAt: iso(task.startedAt) } : {}),
    Type: 'NORMAL',
    LogDriver: 'awslogs',
    Networks: [
      {
        NetworkMode: 'awsvpc',
        IPv4Addresses: [task.ip],
        AttachmentIndex: 0,
        ...(task.subnetCidr ? { IPv4SubnetCIDRBlock: task.subnetCidr } : {}),
        PrivateDNSName: `ip-${task.ip.replaceAll('.', '-')}.${region ? `${region}.` : ''}compute.internal`,
      },
    ],
    Snapshotter: 'overlayfs',
  };
}

/** Task-level Limits: CPU in vCPUs, Memory in MiB; omitted when the task definition sets none. */
function taskLimits(task: TaskMetadata): { CPU: number; Memory: number } | undefined {
  const cpu = Number(task.cpu);
  const memory = Number(task.memory);
  if (!(cpu > 0) || !(memory > 0)) return undefined;
  return { CPU: cpu / 1024, Memory: memory };
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** A stable 10-digit number derived from a string (FNV-1a), so a task's DockerId never changes. */
function digits(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return String(1_000_000_000 + hash);
}
