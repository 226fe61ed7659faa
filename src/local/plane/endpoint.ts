/**
 * The one local AWS endpoint every SDK call of `--local` goes to. It passes each call through to
 * moto, except what moto cannot answer because it runs nothing: ECS tasks (ListTasks,
 * DescribeTasks, StopTask), the live parts of services and clusters (counts, deployments, events,
 * the deployment settings moto drops), target health, the load balancer's address, and the tags of
 * Application Auto Scaling's scalable targets.
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Service } from '@aws-sdk/client-ecs';
import { AppFolders, APPS_PATH, TOKEN_HEADER } from './apps.js';
import type { Balancers } from './balancers.js';
import { describeTargetHealthXml } from './loadBalancer.js';
import { describeTaskJson, SERVING, STARTING, type LocalService, type LocalTask, type ServiceSettings } from './model.js';
import { identifyCall, jsonError, jsonReply, queryParam, xmlReply, type Reply } from './protocol.js';
import type { Scheduler } from './scheduler.js';

/** AWS JSON documents, read and patched field by field. */
type Json = Record<string, any>;

const lastPart = (ref: string): string => ref.split('/').pop() ?? ref;
const clusterNameOf = (ref: string | undefined): string => lastPart(ref ?? 'default');
const seconds = (ms: number): number => ms / 1000;

/** One scalable target as Application Auto Scaling names it: namespace, resource ID, dimension. */
const scalableTargetKey = (input: Json): string => `${input.ServiceNamespace}|${input.ResourceId}|${input.ScalableDimension}`;

export class LocalEndpoint {
  private server: Server | undefined;
  /**
   * The tags of each scalable target, by its ARN: moto takes Tags in RegisterScalableTarget but has
   * no ListTagsForResource or TagResource for Application Auto Scaling, so the plane keeps them.
   */
  private readonly scalableTargetTags = new Map<string, { target: string; tags: Record<string, string> }>();

  constructor(
    private readonly motoUrl: string,
    private readonly scheduler: Scheduler,
    private readonly balancers: Balancers,
    /** App folders the CLI makes known (POST /_ecs-ha/apps), and the token it must show. */
    private readonly apps?: { folders: AppFolders; token: string },
  ) {}

  listen(): Promise<number> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.keepAliveTimeout = 5_000;
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const body = await readBody(req);
      if (req.url === '/_ecs-ha/ping') return send(res, jsonReply({ pid: process.pid, plane: 'ecs-ha' }));
      if (req.url === APPS_PATH && this.apps) return send(res, this.registerApp(req, body, this.apps));
      const call = identifyCall(req.headers, body.toString('utf8'));
      send(res, await this.route(req, body, call.service, call.operation));
    } catch (error) {
      send(res, jsonError('InternalFailure', `local endpoint: ${(error as Error).message}`, 500));
    }
  }

  /** Makes an app folder known: the plane runs it for the images built from it. */
  private registerApp(req: IncomingMessage, body: Buffer, apps: { folders: AppFolders; token: string }): Reply {
    if (req.method !== 'POST') return jsonError('MethodNotAllowed', `${APPS_PATH} takes POST`, 405);
    if (!sameToken(req.headers[TOKEN_HEADER], apps.token)) return jsonError('AccessDenied', 'wrong or missing token', 403);
    let appDir: unknown;
    try {
      appDir = (JSON.parse(body.toString('utf8')) as { appDir?: unknown }).appDir;
    } catch {
      return jsonError('ValidationException', 'expected a JSON body {"appDir": "/absolute/path"}', 400);
    }
    const problem = AppFolders.problemWith(appDir);
    if (problem) return jsonError('ValidationException', `cannot run the app folder ${String(appDir)}: ${problem}`, 400);
    apps.folders.register(appDir as string);
    return jsonReply({ registered: appDir, folders: apps.folders.folders });
  }

  private async route(req: IncomingMessage, body: Buffer, service: string, operation: string): Promise<Reply> {
    const text = body.toString('utf8');
    if (service === 'ecs') {
      const input = text ? (JSON.parse(text) as Json) : {};
      switch (operation) {
        case 'ListTasks':
          return this.listTasks(input);
        case 'DescribeTasks':
          return this.describeTasks(input);
        case 'StopTask':
          return this.stopTask(input);
        case 'CreateService':
        case 'UpdateService':
        case 'DeleteService':
        case 'DescribeServices':
          return this.serviceCall(req, body, operation, input);
        case 'DescribeClusters':
          return this.patchJson(await forward(this.motoUrl, req, body), (out) => (out.clusters ?? []).forEach((c: Json) => this.patchCluster(c)));
      }
    }
    if (service === 'elasticloadbalancing') {
      if (operation === 'DescribeTargetHealth') {
        const group = this.balancers.group(queryParam(text, 'TargetGroupArn') ?? '');
        if (group) {
          const wanted = new URLSearchParams(text);
          const ids = [...wanted.entries()].filter(([key]) => /^Targets\.member\.\d+\.Id$/.test(key)).map(([, value]) => value);
          const views = group.health().filter((t) => ids.length === 0 || ids.includes(t.id));
          return xmlReply(describeTargetHealthXml(views, crypto.randomUUID()));
        }
      }
      return this.localAddresses(await forward(this.motoUrl, req, body));
    }
    if (service === 'application-autoscaling') {
      const input = text ? (JSON.parse(text) as Json) : {};
      switch (operation) {
        case 'RegisterScalableTarget':
        case 'DeregisterScalableTarget':
          return this.scalableTargetCall(req, body, operation, input);
        case 'TagResource':
          return this.tagScalableTarget(input);
        case 'ListTagsForResource':
          return this.listScalableTargetTags(input);
      }
    }
    return forward(this.motoUrl, req, body);
  }

  /** Passes registration to moto, then remembers (or forgets) the target's tags by the ARN moto gave it. */
  private async scalableTargetCall(req: IncomingMessage, body: Buffer, operation: string, input: Json): Promise<Reply> {
    const reply = await forward(this.motoUrl, req, body);
    if (reply.status !== 200) return reply;
    const target = scalableTargetKey(input);
    if (operation === 'DeregisterScalableTarget') {
      for (const [arn, entry] of this.scalableTargetTags) if (entry.target === target) this.scalableTargetTags.delete(arn);
      return reply;
    }
    const arn = (JSON.parse(String(reply.body)) as Json).ScalableTargetARN;
    if (typeof arn === 'string') {
      const known = this.scalableTargetTags.get(arn);
      this.scalableTargetTags.set(arn, { target, tags: { ...known?.tags, ...(input.Tags as Record<string, string> | undefined) } });
    }
    return reply;
  }

  private tagScalableTarget(input: Json): Reply {
    const entry = this.scalableTargetTags.get(String(input.ResourceARN ?? ''));
    if (!entry) return jsonError('ResourceNotFoundException', `No scalable target found for ARN ${String(input.ResourceARN)}`);
    Object.assign(entry.tags, input.Tags as Record<string, string> | undefined);
    return jsonReply({});
  }

  private listScalableTargetTags(input: Json): Reply {
    const entry = this.scalableTargetTags.get(String(input.ResourceARN ?? ''));
    if (!entry) return jsonError('ResourceNotFoundException', `No scalable target found for ARN ${String(input.ResourceARN)}`);
    return jsonReply({ Tags: entry.tags });
  }

  /** A load balancer's DNS name, in every answer, is the address of its local proxy. */
  private async localAddresses(reply: Reply): Promise<Reply> {
    let body = String(reply.body);
    const names = [...body.matchAll(/<DNSName>([^<]+\.elb\.amazonaws\.com)<\/DNSName>/g)].map((m) => m[1]!);
    for (const name of new Set(names)) body = body.replaceAll(`<DNSName>${name}</DNSName>`, `<DNSName>127.0.0.1:${await this.balancers.portFor(name)}</DNSName>`);
    return { ...reply, body };
  }

  private async serviceCall(req: IncomingMessage, body: Buffer, operation: string, input: Json): Promise<Reply> {
    const reply = await forward(this.motoUrl, req, body);
    if (reply.status !== 200) return reply;
    const out = JSON.parse(String(reply.body)) as Json;
    const clusterName = clusterNameOf(input.cluster);
    if (operation === 'CreateService' && out.service) this.scheduler.serviceCreated(clusterName, out.service as Service, settingsOf(input));
    if (operation === 'UpdateService' && out.service) this.scheduler.serviceUpdated(clusterName, out.service as Service, settingsOf(input), Boolean(input.forceNewDeployment));
    if (operation === 'DeleteService') this.scheduler.serviceDeleted(clusterName, lastPart(input.service));
    for (const service of [out.service, ...(out.services ?? [])]) if (service) this.patchService(service);
    return jsonReply(out);
  }

  private patchJson(reply: Reply, patch: (out: Json) => void): Reply {
    if (reply.status !== 200) return reply;
    const out = JSON.parse(String(reply.body)) as Json;
    patch(out);
    return jsonReply(out);
  }

  private patchService(service: Json): void {
    const local = this.scheduler.service(clusterNameOf(service.clusterArn), service.serviceName);
    if (!local || local.arn !== service.serviceArn) return;
    const tasks = this.scheduler.tasksOf(local);
    const counts = (list: LocalTask[]) => ({
      runningCount: list.filter((t) => SERVING.has(t.lastStatus)).length,
      pendingCount: list.filter((t) => t.desiredStatus === 'RUNNING' && STARTING.has(t.lastStatus)).length,
    });
    Object.assign(service, counts(tasks));
    const live = tasks.filter((t) => t.lastStatus !== 'STOPPED');
    if (local.deleted) service.status = live.length > 0 ? 'DRAINING' : 'INACTIVE';
    service.deployments = local.deployments.map((d) => {
      const own = tasks.filter((t) => t.deploymentId === d.id);
      return {
        id: d.id,
        status: d.status,
        taskDefinition: d.taskDefinition,
        desiredCount: d.status === 'PRIMARY' ? (local.deleted ? 0 : local.desiredCount) : own.filter((t) => t.desiredStatus === 'RUNNING').length,
        ...counts(own),
        failedTasks: d.failedTasks,
        createdAt: seconds(d.createdAt),
        updatedAt: seconds(d.updatedAt),
        launchType: 'FARGATE',
        platformVersion: '1.4.0',
        platformFamily: 'Linux',
        // Each deployment runs with the subnets it was started with (a change of subnets is a new deployment).
        networkConfiguration: this.scheduler.deploymentNetwork(d.id) ?? service.networkConfiguration,
        rolloutState: d.rolloutState,
        rolloutStateReason: d.rolloutStateReason,
      };
    });
    service.events = local.events.map((e) => ({ id: e.id, createdAt: seconds(e.createdAt), message: e.message }));
    service.deploymentConfiguration = deploymentConfiguration(local);
    service.healthCheckGracePeriodSeconds = local.settings.healthCheckGracePeriodSeconds;
    if (local.settings.availabilityZoneRebalancing) service.availabilityZoneRebalancing = local.settings.availabilityZoneRebalancing;
  }

  private patchCluster(cluster: Json): void {
    const tasks = [...this.scheduler.tasks.values()].filter((t) => t.clusterArn === cluster.clusterArn);
    cluster.runningTasksCount = tasks.filter((t) => SERVING.has(t.lastStatus)).length;
    cluster.pendingTasksCount = tasks.filter((t) => t.desiredStatus === 'RUNNING' && STARTING.has(t.lastStatus)).length;
    cluster.activeServicesCount = [...this.scheduler.services.values()].filter((s) => s.clusterArn === cluster.clusterArn && !s.deleted).length;
  }

  private clusterTasks(clusterRef: string | undefined): LocalTask[] {
    const name = clusterNameOf(clusterRef);
    return [...this.scheduler.tasks.values()].filter((t) => clusterNameOf(t.clusterArn) === name);
  }

  private listTasks(input: Json): Reply {
    const desired = input.desiredStatus ?? 'RUNNING';
    const matching = this.clusterTasks(input.cluster).filter(
      (t) =>
        t.desiredStatus === desired &&
        (!input.serviceName || t.serviceName === lastPart(input.serviceName)) &&
        (!input.startedBy || t.deploymentId === input.startedBy) &&
        (!input.family || lastPart(t.taskDefinitionArn).split(':')[0] === input.family),
    );
    const max = Math.min(Math.max(Number(input.maxResults ?? 100), 1), 100);
    const offset = input.nextToken ? Number(Buffer.from(String(input.nextToken), 'base64').toString('utf8')) || 0 : 0;
    const page = matching.slice(offset, offset + max);
    const next = offset + max < matching.length ? Buffer.from(String(offset + max)).toString('base64') : undefined;
    return jsonReply({ taskArns: page.map((t) => t.arn), ...(next ? { nextToken: next } : {}) });
  }

  private findTask(clusterRef: string | undefined, ref: string): LocalTask | undefined {
    return this.clusterTasks(clusterRef).find((t) => t.arn === ref || t.id === ref);
  }

  private describeTasks(input: Json): Reply {
    const refs: string[] = input.tasks ?? [];
    if (refs.length > 100) return jsonError('InvalidParameterException', 'Tasks cannot be longer than 100.');
    const tasks: Json[] = [];
    const failures: Json[] = [];
    for (const ref of refs) {
      const task = this.findTask(input.cluster, ref);
      if (task) tasks.push(describeTaskJson(task));
      else failures.push({ arn: ref, reason: 'MISSING' });
    }
    return jsonReply({ tasks, failures });
  }

  private stopTask(input: Json): Reply {
    const task = this.findTask(input.cluster, String(input.task ?? ''));
    if (!task) return jsonError('InvalidParameterException', 'The referenced task was not found.');
    this.scheduler.stopTask(task, input.reason);
    return jsonReply({ task: describeTaskJson(task) });
  }
}

function deploymentConfiguration(local: LocalService): Json {
  const { minimumHealthyPercent, maximumPercent, circuitBreaker } = local.settings;
  return { minimumHealthyPercent, maximumPercent, deploymentCircuitBreaker: circuitBreaker };
}

/** The deployment settings of a CreateService / UpdateService request. */
function settingsOf(input: Json): Partial<ServiceSettings> {
  const settings: Partial<ServiceSettings> = {};
  const config = input.deploymentConfiguration as Json | undefined;
  if (config?.minimumHealthyPercent !== undefined) settings.minimumHealthyPercent = Number(config.minimumHealthyPercent);
  if (config?.maximumPercent !== undefined) settings.maximumPercent = Number(config.maximumPercent);
  if (config?.deploymentCircuitBreaker) settings.circuitBreaker = { enable: Boolean(config.deploymentCircuitBreaker.enable), rollback: Boolean(config.deploymentCircuitBreaker.rollback) };
  if (input.healthCheckGracePeriodSeconds !== undefined) settings.healthCheckGracePeriodSeconds = Number(input.healthCheckGracePeriodSeconds);
  if (input.availabilityZoneRebalancing) settings.availabilityZoneRebalancing = String(input.availabilityZoneRebalancing);
  return settings;
}

/** Constant-time: the answer's timing tells nothing about how much of a guessed token was right. */
function sameToken(given: string | string[] | undefined, token: string): boolean {
  if (typeof given !== 'string' || given.length !== token.length) return false;
  return timingSafeEqual(Buffer.from(given), Buffer.from(token));
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length']);

/** Sends the call on to moto unchanged and returns its answer. */
function forward(motoUrl: string, req: IncomingMessage, body: Buffer): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([key]) => !HOP_BY_HOP.has(key)));
    const upstream = request(`${motoUrl}${req.url ?? '/'}`, { method: req.method, headers: { ...headers, 'content-length': String(body.length) } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const replyHeaders: Record<string, string> = {};
        for (const [key, value] of Object.entries(response.headers)) if (value !== undefined && !HOP_BY_HOP.has(key)) replyHeaders[key] = String(value);
        resolve({ status: response.statusCode ?? 500, headers: replyHeaders, body: Buffer.concat(chunks) });
      });
      response.on('error', reject);
    });
    upstream.on('error', reject);
    upstream.end(body);
  });
}

function send(res: ServerResponse, reply: Reply): void {
  const body = typeof reply.body === 'string' ? Buffer.from(reply.body, 'utf8') : reply.body;
  res.writeHead(reply.status, { ...reply.headers, 'content-length': String(body.length) });
  res.end(body);
}
