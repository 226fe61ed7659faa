import { resolve } from 'node:path';
import {
  autoScalingRequest,
  chooseRelease,
  clampToRange,
  DEFAULT_APP_VERSION,
  MAX_TASKS,
  parseInteger,
  validateAppVersion,
  validateArch,
  validateFargateSize,
  validateImageUri,
  validateLogRetention,
  validateRoleRef,
  validateVpcId,
  type AutoScalingRequest,
  type ReleaseRequest,
  type StackConfig,
  type TaskRange,
} from '../config.js';
import { shareAppFolder } from '../deploy/localApp.js';
import { isNative, parseDeploymentSettings, type StrategyOptionInput } from '../deploy/strategy.js';
import { deployedRelease, releaseOfConfig, rememberRelease } from '../deploy/release.js';
import { runningEmulator } from '../local/emulator.js';
import { attributeCallsTo, isMutatingOperation } from '../aws/clients.js';
import { estimateCost, formatUsd } from '../cost/estimate.js';
import { runPhase, stepContext } from '../engine/run.js';
import { UsageError } from '../errors.js';
import type { ResourceRecord, StateStore } from '../state/store.js';
import { scalableRange } from '../status/autoScaling.js';
import { recordedAutoScaling } from '../steps/autoScaling.js';
import { ALL_STEPS } from '../steps/index.js';
import { serviceRunsTasks, serviceStep, waitUntilServiceHealthy } from '../steps/service.js';
import { abortOnInterrupt } from './interrupt.js';
import { BUNDLED_APP_DIR, openSession, validateCommon, type CommonOptions } from './session.js';
import { stackEngine, withStackState, type Session } from '../session.js';

export interface UpOptions extends CommonOptions, StrategyOptionInput {
  count: string;
  /** Whether --count was given (the CLI tells, from commander): only then is a running service set to it. */
  countGiven?: boolean;
  /** MIN:MAX or off. */
  autoscale?: string;
  autoscaleCpu?: string;
  autoscaleRequests?: string;
  cpu: string;
  memory: string;
  arch: string;
  image?: string;
  executionRole?: string;
  vpcId?: string;
  /** Default: the version the stack runs (1.0 for a new stack). */
  appVersion?: string;
  appDir?: string;
  logRetention: string;
  wait: boolean;
  timeout: string;
  concurrency?: string;
  /** Only show what `up` would do (`ecs-ha plan`), with read calls only. */
  dryRun?: boolean;
}

/**
 * Turns `up`'s options into a validated stack config; throws UsageError before any AWS call. The
 * release (version, image, app folder) is what a new stack gets; `releaseRequest` says which parts
 * the user gave, and runUp keeps the deployed ones for the rest.
 */
export function upConfig(options: UpOptions): StackConfig {
  const cpu = parseInteger('--cpu', options.cpu, 1);
  const memory = parseInteger('--memory', options.memory, 1);
  validateFargateSize(cpu, memory);
  if (options.appVersion !== undefined) validateAppVersion(options.appVersion);
  const count = parseInteger('--count', options.count, 1, MAX_TASKS);
  const autoScaling = autoScalingRequest(options);
  const deployment = parseDeploymentSettings(options);
  if (deployment && isNative(deployment) && options.local) {
    throw new UsageError(
      `--strategy ${deployment.strategy} with --local: the local data plane deploys rolling only (it has no listener rule whose weights ECS could shift)`,
      'leave out --strategy (or pass --strategy rolling) with --local; the native strategies need a stack on AWS',
    );
  }
  return {
    ...(deployment ? { deployment } : {}),
    stack: options.stack,
    count: countWithin(count, Boolean(options.countGiven), autoScaling),
    updateDesiredCount: Boolean(options.countGiven),
    ...(autoScaling ? { autoScaling } : {}),
    cpu,
    memory,
    arch: validateArch(options.arch),
    ...(options.image ? { image: validateImageUri(options.image) } : {}),
    ...(options.executionRole ? { executionRole: validateRoleRef(options.executionRole) } : {}),
    ...(options.vpcId ? { vpcId: validateVpcId(options.vpcId) } : {}),
    appVersion: options.appVersion ?? DEFAULT_APP_VERSION,
    appPort: 8080,
    listenerPort: 80,
    logRetentionDays: validateLogRetention(options.logRetention),
    appDir: resolve(options.appDir ?? BUNDLED_APP_DIR),
    skipDocker: Boolean(options.local),
  };
}

/**
 * With --autoscale MIN:MAX the service starts within the range: a --count outside it is refused,
 * and the default count (2) is moved into it.
 */
function countWithin(count: number, given: boolean, request: AutoScalingRequest | 'off' | undefined): number {
  if (request === undefined || request === 'off') return count;
  if (!given) return clampToRange(count, request);
  if (count < request.min || count > request.max) {
    throw new UsageError(
      `invalid --count ${count} with --autoscale ${request.min}:${request.max}: autoscaling keeps the service between ${request.min} and ${request.max} tasks; choose a --count from ${request.min} to ${request.max}, or leave it out`,
    );
  }
  return count;
}

/**
 * The range autoscaling keeps the service in after this run: the one --autoscale gives, else the one
 * the state records, else (only when --count was given for a service that exists) one made outside
 * ecs-ha, read from Application Auto Scaling. Undefined: no autoscaling.
 */
async function autoScalingRange(session: Session, config: StackConfig, state: StateStore): Promise<TaskRange | undefined> {
  if (config.autoScaling === 'off') return undefined;
  if (config.autoScaling) return config.autoScaling;
  const recorded = recordedAutoScaling(state.get('autoScaling'));
  if (recorded) return recorded;
  const service = state.get('service');
  if (!config.updateDesiredCount || !service) return undefined;
  const cluster = typeof service.details?.cluster === 'string' ? service.details.cluster : (state.get('cluster')?.id ?? config.stack);
  return attributeCallsTo('autoScaling', () => scalableRange(session.aws, { cluster, service: service.id }));
}

/**
 * With autoscaling the autoscaler owns the desired count: `up` never sets it on a running service,
 * and a --count outside the range is refused before any change, as `scale` refuses N. Without
 * --count, a service created again starts within the range.
 */
async function fitCountToAutoScaling(session: Session, config: StackConfig, state: StateStore): Promise<StackConfig> {
  const range = await autoScalingRange(session, config, state);
  if (!range) return config;
  if (!config.updateDesiredCount) return { ...config, count: clampToRange(config.count, range) };
  if (config.count < range.min || config.count > range.max) {
    throw new UsageError(
      `invalid --count ${config.count}: autoscaling keeps service ${config.stack} between ${range.min} and ${range.max} tasks; choose a --count from ${range.min} to ${range.max}`,
      'or change the range with --autoscale MIN:MAX, or turn autoscaling off with --autoscale off',
    );
  }
  if (state.get('service')) {
    session.reporter.warn(`--count ${config.count} is not applied to the running service: autoscaling (${range.min} to ${range.max} tasks) manages its desired count; \`ecs-ha scale ${config.count}\` sets it now`);
  }
  return { ...config, updateDesiredCount: false };
}

/** `up`'s options, validated before any AWS call (UsageError, exit 2); `plan` takes the same. */
export function parseUpOptions(options: UpOptions): { config: StackConfig; timeoutMs: number; concurrency?: number } {
  validateCommon(options);
  const config = upConfig(options);
  const timeoutMs = parseInteger('--timeout', options.timeout, 1) * 1000;
  const concurrency = options.concurrency === undefined ? undefined : parseInteger('--concurrency', options.concurrency, 1);
  return { config, timeoutMs, ...(concurrency ? { concurrency } : {}) };
}

/** The parts of the release the command line gave; the others stay as deployed. */
export function releaseRequest(options: UpOptions): ReleaseRequest {
  return {
    ...(options.appVersion !== undefined ? { appVersion: options.appVersion } : {}),
    ...(options.image !== undefined ? { image: options.image } : {}),
    ...(options.appDir !== undefined ? { appDir: resolve(options.appDir) } : {}),
  };
}

export interface UpResult {
  stack: string;
  account: string;
  region: string;
  url?: string;
  stateFile: string;
  waited: boolean;
  health?: { runningCount: number; healthyTargets: number; availabilityZones: string[] };
  steps: Array<{ step: string; summary: string }>;
  /** The summaries of the steps that changed something (made a mutating AWS call) in this run. */
  changed: string[];
  resources: Record<string, ResourceRecord>;
  /** What the stack costs on AWS while it is up: an estimate, with what it is based on. */
  cost: { perHour: number; perMonth: number; basis: string };
  /** The commands to run next. */
  next: string[];
}

/**
 * `release`: what the command line said about the release. Given, the rest of it is what the stack
 * runs (a plain `up` after `deploy --app-version 2` keeps 2); left out, `config` is used as it is.
 */
/**
 * The config `up` runs with on this stack: what the command line left out of the release stays as
 * deployed, and the count fits the stack's autoscaling. `plan` decides with the same.
 */
export async function configForRun(session: Session, requested: StackConfig, state: StateStore, release: ReleaseRequest | undefined): Promise<StackConfig> {
  const released = release ? { ...requested, ...chooseRelease(release, await deployedRelease(session.aws, state, BUNDLED_APP_DIR), BUNDLED_APP_DIR) } : requested;
  return fitCountToAutoScaling(session, released, state);
}

export async function runUp(
  session: Session,
  requested: StackConfig,
  options: { wait: boolean; timeoutMs: number; concurrency?: number; release?: ReleaseRequest },
): Promise<UpResult> {
  const { reporter } = session;
  return withStackState(session, 'up', async (state) => {
    const config = await configForRun(session, requested, state, options.release);
    if (!config.image) await shareAppFolder(session, config.appDir);
    const engine = stackEngine(session, config, state, options);
    const outcomes = await runPhase(engine, ALL_STEPS, 'ensure');
    rememberRelease(state, releaseOfConfig(config, state));
    let health: UpResult['health'];
    let wait = options.wait;
    // An endpoint override may run nothing (plain moto reports a service but never starts a task):
    // the wait could only time out. --local's endpoint is ecs-ha's own data plane, which does.
    const override = session.emulatorEndpoint !== undefined && !session.local;
    if (wait && override && !(await attributeCallsTo('wait', () => serviceRunsTasks(stepContext(engine, serviceStep))))) {
      reporter.warn(`not waiting for healthy tasks: the endpoint ${session.emulatorEndpoint} lists no task for the service, so it runs no containers`);
      wait = false;
    }
    if (wait) {
      reporter.start('wait', 'waiting for the service to be steady and every target healthy');
      const ctx = stepContext(engine, serviceStep);
      health = await attributeCallsTo('wait', () => waitUntilServiceHealthy(ctx, ctx.waitTimeoutMs));
      reporter.succeed('wait', `service steady: ${health.runningCount} tasks in ${health.availabilityZones.join(', ')}, ${health.healthyTargets} healthy targets`);
    }
    const dnsName = state.get('loadBalancer')?.details?.dnsName;
    const mutatedSteps = new Set(session.aws.calls.filter((call) => call.step && isMutatingOperation(call.operation)).map((call) => call.step));
    const subnets = state.get('network')?.details?.subnetIds;
    const { perHour, perMonth, basis } = estimateCost({ ...config, zones: Array.isArray(subnets) ? subnets.length : 2, region: state.region });
    const local = session.local ? ' --local' : '';
    return {
      stack: config.stack,
      account: state.account,
      region: state.region,
      ...(typeof dnsName === 'string' ? { url: `http://${dnsName}` } : {}),
      stateFile: state.path,
      waited: wait,
      ...(health ? { health } : {}),
      steps: outcomes.map(({ step, summary }) => ({ step, summary })),
      changed: outcomes.filter(({ step }) => mutatedSteps.has(step)).map(({ summary }) => summary),
      resources: state.snapshot().resources,
      cost: { perHour, perMonth, basis },
      next: [`ecs-ha verify${local}`, `ecs-ha chaos --kill-one${local}`, `ecs-ha down${local}`],
    };
  });
}

export function renderUp(session: Session, result: UpResult): void {
  const { reporter } = session;
  if (session.json) {
    reporter.json(result);
    return;
  }
  reporter.result(`Stack "${result.stack}" is up in ${result.region} (account ${result.account}).`);
  if (result.url) reporter.result(`URL:    ${result.url}`);
  if (result.health) {
    const { runningCount, availabilityZones, healthyTargets } = result.health;
    reporter.result(`Health: ${runningCount} tasks running in ${availabilityZones.join(', ')}; ${healthyTargets} targets healthy`);
  } else {
    reporter.result('Health: not waited for; run `ecs-ha verify` to check it');
  }
  reporter.result(result.changed.length ? ['Changed:', ...result.changed.map((summary) => `  ${summary}`)].join('\n') : 'Changed: nothing; every resource was already as wanted');
  reporter.result(formatResources(result.resources));
  reporter.result(`State:  ${result.stateFile}`);
  const where = session.local ? 'on AWS this stack would cost' : 'while it is up it costs';
  reporter.result(`Cost:   ${where} about ${formatUsd(result.cost.perHour)}/hour (${formatUsd(result.cost.perMonth)}/month): ${result.cost.basis}`);
  reporter.result(`Next:   ${result.next.map((command) => `\`${command}\``).join(', ')}`);
}

/** A table of the recorded resources: created ones are removed by `down`, adopted ones kept. */
export function formatResources(resources: Record<string, ResourceRecord>): string {
  const order = ALL_STEPS.map((step) => step.id as string);
  const rows = Object.entries(resources)
    .sort(([a], [b]) => order.indexOf(a) - order.indexOf(b))
    // An image the local emulator never built is not a created one: say so.
    .map(([key, record]) => [key, record.id, record.details?.pushed === false ? 'not built' : record.origin] as const);
  const width = Math.max(...rows.map(([key]) => key.length), 8);
  const lines = rows.map(([key, id, origin]) => `  ${key.padEnd(width)}  ${origin.padEnd(9)}  ${id}`);
  return ['Resources (created: removed by `ecs-ha down`; adopted: never deleted):', ...lines].join('\n');
}

/** `ecs-ha up`: validate everything, then build the stack. */
export async function upAction(options: UpOptions): Promise<void> {
  const { config, timeoutMs, concurrency } = parseUpOptions(options);
  let session: Session | undefined;
  const interrupt = abortOnInterrupt(() => session?.reporter);
  try {
    // A running local plane runs the folder each image is built from (runUp makes it known); starting one needs a folder.
    const plane = options.local ? await runningEmulator(options.stateDir, options.stack) : undefined;
    session = await openSession(options, interrupt.signal, { appDir: plane?.appDir ?? config.appDir });
    if (config.count < 2) session.reporter.warn(`--count ${config.count}: one task is not highly available; stopping it (a deployment, a failure, chaos) takes the app down. Use 2 or more`);
    const scaling = config.autoScaling;
    if (scaling && scaling !== 'off' && scaling.min < 2) {
      session.reporter.warn(`--autoscale ${scaling.min}:${scaling.max}: autoscaling may scale the service in to one task, which is not highly available; use a MIN of 2 or more`);
    }
    const result = await runUp(session, config, { wait: options.wait, timeoutMs, ...(concurrency ? { concurrency } : {}), release: releaseRequest(options) });
    session.reporter.stop();
    renderUp(session, result);
  } finally {
    session?.reporter.stop();
    interrupt.dispose();
  }
}
