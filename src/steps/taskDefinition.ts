import {
  DeleteTaskDefinitionsCommand,
  DeregisterTaskDefinitionCommand,
  DescribeTaskDefinitionCommand,
  ListTaskDefinitionsCommand,
  RegisterTaskDefinitionCommand,
  type RegisterTaskDefinitionCommandInput,
  type Tag,
  type TaskDefinition,
} from '@aws-sdk/client-ecs';
import { awsErrorMessage, isAwsError } from '../aws/errors.js';
import { retryWhile } from '../aws/poll.js';
import { existingResource, type ReadContext } from '../engine/plan.js';
import { lookedUp, type Step, type StepContext } from '../engine/step.js';
import { judge, nameProblem, recordProblem } from '../engine/ownership.js';
import { ecsStackTag, hasStackTag } from '../engine/tags.js';

/** How long to keep retrying a call that fails only because something just made is not usable yet. */
const TRANSIENT_TIMEOUT_MS = 120_000;
const DELETE_BATCH = 10;

/**
 * Runs `action`, retrying with backoff while it fails with an error `isTransient` accepts
 * (a new IAM role not yet usable by ECS, a listener not yet seen by ECS …), for at most two minutes.
 */
export function retryWhileTransient<T>(ctx: StepContext, what: string, isTransient: (error: unknown) => boolean, action: () => Promise<T>): Promise<T> {
  return retryWhile(action, {
    clock: ctx.clock,
    what,
    retryOn: isTransient,
    timeoutMs: Math.min(TRANSIENT_TIMEOUT_MS, ctx.waitTimeoutMs),
    maxDelayMs: 15_000,
    onRetry: (seconds, code, error) => ctx.progress(`${what}: ${code}: ${awsErrorMessage(error)}; retrying (${seconds}s)`),
  });
}

/** ECS refuses a role IAM has not finished propagating with these messages. */
export function isRolePropagationError(error: unknown): boolean {
  return (
    isAwsError(error, 'ClientException', 'InvalidParameterException') &&
    /sts:AssumeRole|role is not valid|unable to assume|assume the (service[- ]linked )?role/i.test(awsErrorMessage(error))
  );
}

function desiredDefinition(ctx: ReadContext): RegisterTaskDefinitionCommandInput {
  const { config, names } = ctx;
  return {
    family: names.taskFamily,
    networkMode: 'awsvpc',
    requiresCompatibilities: ['FARGATE'],
    cpu: String(config.cpu),
    memory: String(config.memory),
    runtimePlatform: { operatingSystemFamily: 'LINUX', cpuArchitecture: config.arch === 'arm64' ? 'ARM64' : 'X86_64' },
    executionRoleArn: ctx.state.require('executionRole').arn,
    containerDefinitions: [
      {
        name: names.container,
        image: ctx.state.require('image').id,
        essential: true,
        portMappings: [{ containerPort: config.appPort, protocol: 'tcp' }],
        environment: [
          { name: 'APP_VERSION', value: config.appVersion },
          { name: 'PORT', value: String(config.appPort) },
        ],
        logConfiguration: {
          logDriver: 'awslogs',
          options: {
            'awslogs-group': ctx.state.require('logGroup').id,
            'awslogs-region': ctx.state.region,
            'awslogs-stream-prefix': 'ecs',
          },
        },
        // Time for the app to finish requests after SIGTERM.
        stopTimeout: 30,
      },
    ],
    tags: [ecsStackTag(config.stack)],
  };
}

/** The fields ecs-ha sets, in a stable form: ECS adds defaults (hostPort, cpu 0 …) that must not count as a change. */
function canonicalDefinition(def: RegisterTaskDefinitionCommandInput | TaskDefinition): string {
  return JSON.stringify(canonicalFields(def));
}

/**
 * What differs between a registered revision and the wanted definition, field by field as
 * canonicalDefinition compares them ("cpu "256" → "512"", "image a → b"); empty when they are the same.
 */
export function definitionDifferences(current: TaskDefinition, desired: RegisterTaskDefinitionCommandInput): string[] {
  const flatten = (def: RegisterTaskDefinitionCommandInput | TaskDefinition): Map<string, string> => {
    const { containers, ...top } = canonicalFields(def);
    const fields = new Map(Object.entries(top).map(([key, value]) => [key, JSON.stringify(value)]));
    containers.forEach((container, index) => {
      for (const [key, value] of Object.entries(container)) fields.set(containers.length > 1 ? `container ${index + 1} ${key}` : key, JSON.stringify(value));
    });
    return fields;
  };
  const before = flatten(current);
  const after = flatten(desired);
  return [...new Set([...before.keys(), ...after.keys()])]
    .filter((key) => before.get(key) !== after.get(key))
    .map((key) => `${key} ${before.get(key) ?? 'unset'} → ${after.get(key) ?? 'unset'}`);
}

function canonicalFields(def: RegisterTaskDefinitionCommandInput | TaskDefinition) {
  return {
    family: def.family,
    networkMode: def.networkMode,
    requiresCompatibilities: [...(def.requiresCompatibilities ?? [])].sort(),
    cpu: def.cpu,
    memory: def.memory,
    os: def.runtimePlatform?.operatingSystemFamily,
    arch: def.runtimePlatform?.cpuArchitecture,
    executionRoleArn: def.executionRoleArn,
    containers: (def.containerDefinitions ?? []).map((c) => ({
      name: c.name,
      image: c.image,
      essential: c.essential ?? true,
      ports: (c.portMappings ?? []).map((p) => `${p.containerPort}/${p.protocol ?? 'tcp'}`).sort(),
      environment: (c.environment ?? []).map((e) => `${e.name}=${e.value}`).sort(),
      logDriver: c.logConfiguration?.logDriver,
      logOptions: Object.entries(c.logConfiguration?.options ?? {}).sort(([a], [b]) => a.localeCompare(b)),
      stopTimeout: c.stopTimeout,
    })),
  };
}

/** A revision with its tags; undefined when ECS has no such (ACTIVE, for a bare family) revision. */
async function describe(ctx: ReadContext, taskDefinition: string): Promise<{ definition: TaskDefinition; tags: Tag[] } | undefined> {
  try {
    const out = await ctx.aws.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition, include: ['TAGS'] }));
    return out.taskDefinition ? { definition: out.taskDefinition, tags: out.tags ?? [] } : undefined;
  } catch (error) {
    if (isGone(error)) return undefined;
    throw error;
  }
}

/** ECS answers a missing task definition with a ClientException, not a code of its own. */
function isGone(error: unknown): boolean {
  return isAwsError(error, 'ClientException') && /unable to describe task definition|revision is missing|does not exist/i.test(awsErrorMessage(error));
}

function familyOf(arn: string): string {
  const last = arn.slice(arn.lastIndexOf('/') + 1);
  return last.slice(0, last.lastIndexOf(':'));
}

/** Revision ARNs of exactly our family (familyPrefix alone would also match "<family>x"). */
async function listRevisions(ctx: StepContext, status: 'ACTIVE' | 'INACTIVE'): Promise<string[]> {
  const family = ctx.names.taskFamily;
  const arns: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await ctx.aws.ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: family, status, ...(nextToken ? { nextToken } : {}) }));
    arns.push(...(page.taskDefinitionArns ?? []).filter((arn) => familyOf(arn) === family));
    nextToken = page.nextToken;
  } while (nextToken);
  return arns;
}

/** Deletes deregistered revisions; returns how many ECS accepted. */
async function deleteRevisions(ctx: StepContext, arns: string[]): Promise<number> {
  let deleted = 0;
  for (let i = 0; i < arns.length; i += DELETE_BATCH) {
    try {
      const out = await ctx.aws.ecs.send(new DeleteTaskDefinitionsCommand({ taskDefinitions: arns.slice(i, i + DELETE_BATCH) }));
      deleted += out.taskDefinitions?.length ?? 0;
      for (const failure of out.failures ?? []) {
        if (!/does not exist/i.test(failure.reason ?? '')) ctx.notice(`task definition ${failure.arn} was not deleted: ${failure.reason}`);
      }
    } catch (error) {
      // Deregistered revisions cost nothing; an endpoint without DeleteTaskDefinitions leaves them INACTIVE.
      if (isAwsError(error, 'UnknownOperationException', 'InvalidAction', 'NotImplemented') || /not (yet )?implemented/i.test(awsErrorMessage(error))) {
        ctx.notice(`deregistered task definitions were left INACTIVE: ${awsErrorMessage(error)}`);
        return deleted;
      }
      throw error;
    }
  }
  return deleted;
}

function revisionName(arn: string): string {
  return arn.slice(arn.lastIndexOf('/') + 1);
}

export const taskDefinitionStep: Step = {
  id: 'taskDefinition',
  title: 'task definition',
  dependsOn: ['image', 'executionRole', 'logGroup'],
  lookup: (ctx) => describe(ctx, ctx.names.taskFamily),

  async ensure(ctx) {
    const desired = desiredDefinition(ctx);
    const recorded = ctx.state.get('taskDefinition');
    const latest = await lookedUp(ctx, (c) => describe(c, c.names.taskFamily));
    if (latest?.definition.status === 'ACTIVE' && canonicalDefinition(latest.definition) === canonicalDefinition(desired)) {
      const arn = latest.definition.taskDefinitionArn!;
      if (recorded?.id === arn) return `task definition ${revisionName(arn)} exists`;
      const origin = hasStackTag(latest.tags, ctx.config.stack) ? 'created' : 'adopted';
      ctx.state.record('taskDefinition', { id: arn, arn, origin, details: { family: ctx.names.taskFamily } });
      if (origin === 'adopted') {
        ctx.notice(`task definition ${revisionName(arn)} matches and was not registered by ecs-ha; it is used and will be kept`);
        return `adopted task definition ${revisionName(arn)} (not created by ecs-ha, will be kept)`;
      }
      return `task definition ${revisionName(arn)} found`;
    }
    // After a rollback the service runs an older revision than the family's latest: still ours, still right.
    if (recorded && recorded.id !== latest?.definition.taskDefinitionArn) {
      const current = await describe(ctx, recorded.id);
      if (current?.definition.status === 'ACTIVE' && canonicalDefinition(current.definition) === canonicalDefinition(desired)) return `task definition ${revisionName(recorded.id)} exists`;
    }
    const { taskDefinition } = await retryWhileTransient(ctx, 'registering the task definition', isRolePropagationError, () =>
      ctx.aws.ecs.send(new RegisterTaskDefinitionCommand(desired)),
    );
    const arn = taskDefinition!.taskDefinitionArn!;
    ctx.state.record('taskDefinition', { id: arn, arn, origin: 'created', details: { family: ctx.names.taskFamily } });
    return latest ? `registered task definition ${revisionName(arn)} (settings changed)` : `registered task definition ${revisionName(arn)}`;
  },

  async plan(ctx) {
    const family = ctx.names.taskFamily;
    const desired = desiredDefinition(ctx);
    const recorded = ctx.state.get('taskDefinition');
    const latest = await describe(ctx, family);
    if (latest?.definition.status === 'ACTIVE' && canonicalDefinition(latest.definition) === canonicalDefinition(desired)) {
      const arn = latest.definition.taskDefinitionArn!;
      const resource = `task definition ${revisionName(arn)}`;
      if (recorded?.id === arn) return existingResource(resource, true, recorded.origin);
      const origin = hasStackTag(latest.tags, ctx.config.stack) ? 'created' : 'adopted';
      ctx.state.foresee('taskDefinition', { id: arn, arn, origin, details: { family } });
      return existingResource(resource, false, origin);
    }
    if (recorded && recorded.id !== latest?.definition.taskDefinitionArn) {
      const current = await describe(ctx, recorded.id);
      if (current?.definition.status === 'ACTIVE' && canonicalDefinition(current.definition) === canonicalDefinition(desired)) {
        return existingResource(`task definition ${revisionName(recorded.id)}`, true, recorded.origin, `older than the family's latest ${latest ? revisionName(latest.definition.taskDefinitionArn!) : 'revision'} (after a rollback), and as wanted`);
      }
    }
    ctx.state.foreseeNew('taskDefinition', 'task definition revision');
    if (!latest) return { action: 'create', resource: `task definition ${family}`, detail: `register a revision: Fargate, ${desired.cpu} CPU units, ${desired.memory} MiB, ${desired.runtimePlatform?.cpuArchitecture}` };
    const resource = `task definition ${revisionName(latest.definition.taskDefinitionArn!)}`;
    return { action: 'update', resource, detail: `register a new revision: ${definitionDifferences(latest.definition, desired).join('; ')}` };
  },

  /**
   * The record names one revision; destroy removes every revision of the stack's family that
   * carries the stack tag, checking each. So the record need only be of the family, in the stack's
   * account and region.
   */
  async proveOwnership(ctx, record) {
    return judge(recordProblem(record, ctx.state), nameProblem(familyOf(record.id), ctx.names.taskFamily, 'family'));
  },

  async destroy(ctx) {
    const recorded = ctx.state.get('taskDefinition');
    if (!recorded) return 'no task definition recorded';
    const family = ctx.names.taskFamily;
    if (recorded.origin === 'adopted') {
      ctx.state.forget('taskDefinition');
      return `kept task definition ${revisionName(recorded.id)} (adopted)`;
    }
    // Every revision ecs-ha registered carries the stack tag; revisions without it are someone else's.
    const ours: string[] = [];
    for (const arn of await listRevisions(ctx, 'ACTIVE')) {
      const found = await describe(ctx, arn);
      if (!found || !hasStackTag(found.tags, ctx.config.stack)) continue;
      try {
        await ctx.aws.ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: arn }));
      } catch (error) {
        if (!isGone(error)) throw error;
      }
      ours.push(arn);
    }
    const deregistered = ours.length;
    // Revisions left INACTIVE by an earlier, interrupted `down`.
    for (const arn of await listRevisions(ctx, 'INACTIVE')) {
      if (ours.includes(arn)) continue;
      const found = await describe(ctx, arn);
      if (found && hasStackTag(found.tags, ctx.config.stack)) ours.push(arn);
    }
    const deleted = ours.length > 0 ? await deleteRevisions(ctx, ours) : 0;
    ctx.state.forget('taskDefinition');
    return `deregistered ${deregistered} and deleted ${deleted} revision(s) of task definition ${family}`;
  },

  async discover(ctx) {
    const latest = await describe(ctx, ctx.names.taskFamily);
    if (latest && latest.definition.status === 'ACTIVE' && hasStackTag(latest.tags, ctx.config.stack)) {
      const arn = latest.definition.taskDefinitionArn!;
      ctx.state.record('taskDefinition', { id: arn, arn, origin: 'created', details: { family: ctx.names.taskFamily } });
    }
  },
};
