/**
 * `ecs-ha deploy` and `ecs-ha rollback` options, validated before any AWS call (UsageError, exit 2):
 * each message names the option and what is allowed. The measuring options are chaos's.
 */
import { resolve } from 'node:path';
import { MAX_RPS, parseSeconds } from '../chaos/options.js';
import { parseInteger, validateAppVersion, validateImageUri, type ReleaseRequest } from '../config.js';
import { UsageError } from '../errors.js';

/** ECS's deployment strategies as `--strategy` names them. */
export const STRATEGIES = ['rolling', 'blue-green', 'linear', 'canary'] as const;
export type Strategy = (typeof STRATEGIES)[number];

const ECS_STRATEGY_NAMES: Record<Strategy, string> = { rolling: 'ROLLING', 'blue-green': 'BLUE_GREEN', linear: 'LINEAR', canary: 'CANARY' };

/** How a rollout is measured: the prober's rate, the windows around it, and what passes. */
export interface MeasureOptions {
  rps: number;
  baselineMs: number;
  settleMs: number;
  /** How long to follow the deployment after the service was updated (also each AWS wait before it). */
  timeoutMs: number;
  maxFailures: number;
}

export interface DeployOptions extends MeasureOptions {
  strategy: 'rolling';
  release: ReleaseRequest;
}

/** As commander hands them over: strings for values. */
export interface MeasureOptionInput {
  rps: string;
  baseline: string;
  settle: string;
  timeout: string;
  maxFailures: string;
}

export interface DeployOptionInput extends MeasureOptionInput {
  appVersion?: string;
  image?: string;
  appDir?: string;
  strategy?: string;
}

export function parseMeasureOptions(input: MeasureOptionInput): MeasureOptions {
  return {
    rps: parseInteger('--rps', input.rps, 1, MAX_RPS),
    baselineMs: Math.round(parseSeconds('--baseline', input.baseline, 0, 3_600) * 1000),
    settleMs: Math.round(parseSeconds('--settle', input.settle, 0, 3_600) * 1000),
    timeoutMs: Math.round(parseSeconds('--timeout', input.timeout, 1) * 1000),
    maxFailures: parseInteger('--max-failures', input.maxFailures, 0),
  };
}

/**
 * Only rolling deployments exist for a stack `up` built: the native strategies need a second
 * target group, a listener rule and an infrastructure role that `up` does not make yet.
 */
export function parseStrategy(raw: string | undefined, stack: string): 'rolling' {
  const strategy = (raw ?? 'rolling') as Strategy;
  if (!STRATEGIES.includes(strategy)) {
    throw new UsageError(`invalid --strategy "${raw}": expected one of ${STRATEGIES.join(', ')}`);
  }
  if (strategy !== 'rolling') {
    throw new UsageError(
      `--strategy ${strategy}: stack "${stack}" was built for rolling deployments; ECS's ${ECS_STRATEGY_NAMES[strategy]} strategy needs a stack built with \`ecs-ha up --strategy ${strategy}\`, which is not available in this version`,
      'leave out --strategy (or pass --strategy rolling) to replace the tasks a few at a time behind the load balancer',
    );
  }
  return strategy;
}

export function parseDeployOptions(input: DeployOptionInput, stack: string): DeployOptions {
  const strategy = parseStrategy(input.strategy, stack);
  if (input.image !== undefined && input.appDir !== undefined) {
    throw new UsageError('--image and --app-dir cannot be used together: --image deploys a prebuilt image, --app-dir builds one from a folder');
  }
  const release: ReleaseRequest = {
    ...(input.appVersion !== undefined ? { appVersion: validateAppVersion(input.appVersion) } : {}),
    ...(input.image !== undefined ? { image: validateImageUri(input.image) } : {}),
    ...(input.appDir !== undefined ? { appDir: resolve(input.appDir) } : {}),
  };
  return { ...parseMeasureOptions(input), strategy, release };
}
