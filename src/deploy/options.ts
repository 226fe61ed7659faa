/**
 * `ecs-ha deploy` and `ecs-ha rollback` options, validated before any AWS call (UsageError, exit 2):
 * each message names the option and what is allowed. The measuring options are chaos's.
 */
import { resolve } from 'node:path';
import { MAX_RPS, parseSeconds } from '../chaos/options.js';
import { parseInteger, validateAppVersion, validateImageUri, type ReleaseRequest } from '../config.js';
import { UsageError } from '../errors.js';

import { describeSettings, ECS_STRATEGY_NAMES, isNative, parseDeploymentSettings, STRATEGIES, type DeploymentSettings, type Strategy, type StrategyOptionInput } from './strategy.js';

export { STRATEGIES, type Strategy };

/** How a rollout is measured: the prober's rate, the windows around it, and what passes. */
export interface MeasureOptions {
  rps: number;
  baselineMs: number;
  settleMs: number;
  /** How long to follow the deployment after the service was updated (also each AWS wait before it). */
  timeoutMs: number;
  maxFailures: number;
}

/** `--strategy` as given: the settings (ECS's ranges checked) and which of them were given on the command line. */
export interface StrategyRequest {
  settings: DeploymentSettings;
  /** The settings given as options; the others keep the stack's when it deploys with the same strategy. */
  given: SettingKey[];
}

export type SettingKey = 'bakeMinutes' | 'canaryPercent' | 'canaryBakeMinutes' | 'stepPercent' | 'stepBakeMinutes';
const SETTING_KEYS: readonly SettingKey[] = ['bakeMinutes', 'canaryPercent', 'canaryBakeMinutes', 'stepPercent', 'stepBakeMinutes'];

export interface DeployOptions extends MeasureOptions {
  /** Undefined without --strategy: the stack deploys as it was built (`up --strategy`), rolling if it records none. */
  strategy?: StrategyRequest;
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

export interface DeployOptionInput extends MeasureOptionInput, StrategyOptionInput {
  appVersion?: string;
  image?: string;
  appDir?: string;
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
 * The strategy a deployment uses, given the stack's (the service record's `details.deployment`, rolling
 * when it has none): `--strategy` may only name the stack's own, since the resources a strategy needs
 * (second target group, listener rule, infrastructure role) and the service's load balancer entry come
 * from `up`. Settings given (--canary-percent …) replace the stack's, the others are kept. Throws
 * UsageError (exit 2) before any ECS call.
 */
export function deploymentFor(request: StrategyRequest | undefined, stack: DeploymentSettings, stackName: string, local: boolean): { settings: DeploymentSettings; changed: boolean } {
  if (request && request.settings.strategy !== stack.strategy) {
    const wanted = request.settings.strategy;
    throw new UsageError(
      `--strategy ${wanted}: stack "${stackName}" deploys ${describeSettings(stack)}; ECS's ${ECS_STRATEGY_NAMES[wanted]} strategy needs the stack's resources and service configured for it by \`ecs-ha up --stack ${stackName} --strategy ${wanted}\``,
      `run \`ecs-ha up --stack ${stackName} --strategy ${wanted}\` first, then deploy (or leave out --strategy to deploy ${stack.strategy})`,
    );
  }
  const settings: DeploymentSettings = request ? ({ ...stack, ...Object.fromEntries(request.given.map((key) => [key, (request.settings as Record<string, unknown>)[key]])) } as DeploymentSettings) : stack;
  if (local && isNative(settings)) {
    throw new UsageError(
      `--strategy ${settings.strategy} with --local: the local data plane deploys rolling only (it has no listener rule whose weights ECS could shift)`,
      'deploy to the stack on AWS, or try a rolling deployment locally',
    );
  }
  return { settings, changed: JSON.stringify(settings) !== JSON.stringify(stack) };
}

/** `--strategy` and its settings, checked against ECS's ranges; undefined without --strategy. */
export function parseStrategyRequest(input: StrategyOptionInput, local = false): StrategyRequest | undefined {
  const settings = parseDeploymentSettings(input);
  if (!settings) return undefined;
  if (local && isNative(settings)) {
    throw new UsageError(
      `--strategy ${settings.strategy} with --local: the local data plane deploys rolling only (it has no listener rule whose weights ECS could shift)`,
      'leave out --strategy (or pass --strategy rolling) to deploy locally, or deploy to the stack on AWS',
    );
  }
  return { settings, given: SETTING_KEYS.filter((key) => input[key] !== undefined) };
}

export function parseDeployOptions(input: DeployOptionInput, _stack: string, local = false): DeployOptions {
  // The strategy and its settings are checked against ECS's ranges first, so a mistyped one is named as such.
  const strategy = parseStrategyRequest(input, local);
  if (input.image !== undefined && input.appDir !== undefined) {
    throw new UsageError('--image and --app-dir cannot be used together: --image deploys a prebuilt image, --app-dir builds one from a folder');
  }
  const release: ReleaseRequest = {
    ...(input.appVersion !== undefined ? { appVersion: validateAppVersion(input.appVersion) } : {}),
    ...(input.image !== undefined ? { image: validateImageUri(input.image) } : {}),
    ...(input.appDir !== undefined ? { appDir: resolve(input.appDir) } : {}),
  };
  return { ...parseMeasureOptions(input), ...(strategy ? { strategy } : {}), release };
}
