/**
 * ECS's deployment strategies and their settings as ecs-ha names them (`--strategy`, `--bake-minutes` …),
 * validated against the ranges the ECS API reference gives (DeploymentConfiguration,
 * LinearConfiguration, CanaryConfiguration) before any AWS call, and turned into the
 * `deploymentConfiguration` CreateService / UpdateService take.
 */
import type { DeploymentConfiguration } from '@aws-sdk/client-ecs';
import type { ResourceRecord } from '../state/store.js';
import { UsageError } from '../errors.js';

export const STRATEGIES = ['rolling', 'blue-green', 'linear', 'canary'] as const;
export type Strategy = (typeof STRATEGIES)[number];
export type NativeStrategy = Exclude<Strategy, 'rolling'>;

export const ECS_STRATEGY_NAMES: Record<Strategy, 'ROLLING' | 'BLUE_GREEN' | 'LINEAR' | 'CANARY'> = { rolling: 'ROLLING', 'blue-green': 'BLUE_GREEN', linear: 'LINEAR', canary: 'CANARY' };

/** The strategy a stack deploys with, and its settings (only those of its strategy are set). */
export type DeploymentSettings =
  | { strategy: 'rolling' }
  | { strategy: 'blue-green'; bakeMinutes: number }
  | { strategy: 'linear'; bakeMinutes: number; stepPercent: number; stepBakeMinutes: number }
  | { strategy: 'canary'; bakeMinutes: number; canaryPercent: number; canaryBakeMinutes: number };

export const ROLLING: DeploymentSettings = { strategy: 'rolling' };

/**
 * ecs-ha's defaults, shorter than ECS's (linear 10 % every 6 min, canary 5 % for 10 min) so that a
 * deployment fits `deploy`'s default --timeout of 15 minutes: linear 4 steps × 2 min + 2 min bake.
 */
export const STRATEGY_DEFAULTS = { bakeMinutes: 2, stepPercent: 25, stepBakeMinutes: 2, canaryPercent: 10, canaryBakeMinutes: 3 } as const;

/** ECS: bake times 0 to 1440 minutes (24 h), whole minutes. */
const MAX_BAKE_MINUTES = 1440;

export interface StrategyOptionInput {
  strategy?: string;
  bakeMinutes?: string;
  canaryPercent?: string;
  canaryBakeMinutes?: string;
  stepPercent?: string;
  stepBakeMinutes?: string;
}

const OPTION_FLAGS: Record<Exclude<keyof StrategyOptionInput, 'strategy'>, { flag: string; strategies: NativeStrategy[] }> = {
  bakeMinutes: { flag: '--bake-minutes', strategies: ['blue-green', 'linear', 'canary'] },
  canaryPercent: { flag: '--canary-percent', strategies: ['canary'] },
  canaryBakeMinutes: { flag: '--canary-bake-minutes', strategies: ['canary'] },
  stepPercent: { flag: '--step-percent', strategies: ['linear'] },
  stepBakeMinutes: { flag: '--step-bake-minutes', strategies: ['linear'] },
};

function parseMinutes(flag: string, raw: string): number {
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || value > MAX_BAKE_MINUTES) throw new UsageError(`invalid ${flag} "${raw}": ECS allows a whole number of minutes from 0 to ${MAX_BAKE_MINUTES} (24 hours)`);
  return value;
}

/** A percentage ECS takes in steps of 0.1 (a Double): "10", "2.5"; `min` is ECS's lowest. */
function parsePercent(flag: string, raw: string, min: number): number {
  const value = Number(raw);
  if (!/^\d+(\.\d)?$/.test(raw.trim()) || value < min || value > 100) throw new UsageError(`invalid ${flag} "${raw}": ECS allows multiples of 0.1 from ${min.toFixed(1)} to 100.0`);
  return value;
}

export function parseStrategyName(raw: string): Strategy {
  if (!(STRATEGIES as readonly string[]).includes(raw)) throw new UsageError(`invalid --strategy "${raw}": expected one of ${STRATEGIES.join(', ')}`);
  return raw as Strategy;
}

/**
 * `--strategy` and its settings; undefined when no --strategy is given (the stack keeps its own).
 * A setting needs --strategy, and one of another strategy is refused rather than ignored.
 */
export function parseDeploymentSettings(input: StrategyOptionInput): DeploymentSettings | undefined {
  const given = (Object.keys(OPTION_FLAGS) as Array<keyof typeof OPTION_FLAGS>).filter((key) => input[key] !== undefined);
  if (input.strategy === undefined) {
    if (given.length > 0) {
      const flag = OPTION_FLAGS[given[0]!].flag;
      throw new UsageError(`${flag} needs --strategy: it is a setting of the ${OPTION_FLAGS[given[0]!].strategies.join(' / ')} strateg${OPTION_FLAGS[given[0]!].strategies.length > 1 ? 'ies' : 'y'}`, `for example: --strategy ${OPTION_FLAGS[given[0]!].strategies[0]} ${flag} ${input[given[0]!]}`);
    }
    return undefined;
  }
  const strategy = parseStrategyName(input.strategy);
  for (const key of given) {
    const { flag, strategies } = OPTION_FLAGS[key];
    if (!(strategies as string[]).includes(strategy)) throw new UsageError(`${flag} is not a setting of --strategy ${strategy}: it applies to ${strategies.join(', ')}`);
  }
  const minutes = (key: 'bakeMinutes' | 'canaryBakeMinutes' | 'stepBakeMinutes'): number => (input[key] === undefined ? STRATEGY_DEFAULTS[key] : parseMinutes(OPTION_FLAGS[key].flag, input[key]));
  switch (strategy) {
    case 'rolling':
      return ROLLING;
    case 'blue-green':
      return { strategy, bakeMinutes: minutes('bakeMinutes') };
    case 'linear':
      return {
        strategy,
        bakeMinutes: minutes('bakeMinutes'),
        stepPercent: input.stepPercent === undefined ? STRATEGY_DEFAULTS.stepPercent : parsePercent('--step-percent', input.stepPercent, 3),
        stepBakeMinutes: minutes('stepBakeMinutes'),
      };
    case 'canary':
      return {
        strategy,
        bakeMinutes: minutes('bakeMinutes'),
        canaryPercent: input.canaryPercent === undefined ? STRATEGY_DEFAULTS.canaryPercent : parsePercent('--canary-percent', input.canaryPercent, 0.1),
        canaryBakeMinutes: minutes('canaryBakeMinutes'),
      };
  }
}

/**
 * The rolling configuration every stack had before strategies: tasks replaced a few at a time,
 * never below the desired count, with the circuit breaker rolling a failed deployment back.
 */
export const ROLLING_DEPLOYMENT_CONFIGURATION = {
  minimumHealthyPercent: 100,
  maximumPercent: 200,
  deploymentCircuitBreaker: { enable: true, rollback: true },
} as const satisfies DeploymentConfiguration;

/**
 * The service's deploymentConfiguration for the settings. Rolling is the shape stacks always had
 * (no `strategy`: ROLLING is ECS's default). The native ones name the strategy and its bake times;
 * the circuit breaker applies to rolling only (API reference, DeploymentCircuitBreaker), and ECS
 * rolls a native deployment back itself when the green tasks fail.
 */
export function deploymentConfigurationFor(settings: DeploymentSettings): DeploymentConfiguration {
  switch (settings.strategy) {
    case 'rolling':
      return { ...ROLLING_DEPLOYMENT_CONFIGURATION, deploymentCircuitBreaker: { ...ROLLING_DEPLOYMENT_CONFIGURATION.deploymentCircuitBreaker } };
    case 'blue-green':
      return { strategy: 'BLUE_GREEN', bakeTimeInMinutes: settings.bakeMinutes };
    case 'linear':
      return { strategy: 'LINEAR', bakeTimeInMinutes: settings.bakeMinutes, linearConfiguration: { stepPercent: settings.stepPercent, stepBakeTimeInMinutes: settings.stepBakeMinutes } };
    case 'canary':
      return { strategy: 'CANARY', bakeTimeInMinutes: settings.bakeMinutes, canaryConfiguration: { canaryPercent: settings.canaryPercent, canaryBakeTimeInMinutes: settings.canaryBakeMinutes } };
  }
}

/** Whether the service as ECS reports it deploys as `settings` say; a configuration not reported (plain moto) counts as matching. */
export function deploymentMatches(reported: DeploymentConfiguration | undefined, settings: DeploymentSettings): boolean {
  if (reported === undefined) return true;
  const wanted = deploymentConfigurationFor(settings);
  if ((reported.strategy ?? 'ROLLING') !== (wanted.strategy ?? 'ROLLING')) return false;
  if (settings.strategy === 'rolling') return true;
  return (
    reported.bakeTimeInMinutes === wanted.bakeTimeInMinutes &&
    reported.linearConfiguration?.stepPercent === wanted.linearConfiguration?.stepPercent &&
    reported.linearConfiguration?.stepBakeTimeInMinutes === wanted.linearConfiguration?.stepBakeTimeInMinutes &&
    reported.canaryConfiguration?.canaryPercent === wanted.canaryConfiguration?.canaryPercent &&
    reported.canaryConfiguration?.canaryBakeTimeInMinutes === wanted.canaryConfiguration?.canaryBakeTimeInMinutes
  );
}

/** The settings the service record remembers (`up --strategy`, `deploy --strategy`); undefined for a stack made before strategies. */
export function recordedDeployment(service: ResourceRecord | undefined): DeploymentSettings | undefined {
  const recorded = service?.details?.deployment as DeploymentSettings | undefined;
  return recorded && (STRATEGIES as readonly string[]).includes(recorded.strategy) ? recorded : undefined;
}

/** What the stack deploys with: what the command asked for, else what the state remembers, else rolling. */
export function wantedDeployment(requested: DeploymentSettings | undefined, service: ResourceRecord | undefined): DeploymentSettings {
  return requested ?? recordedDeployment(service) ?? ROLLING;
}

export function isNative(settings: DeploymentSettings): settings is Exclude<DeploymentSettings, { strategy: 'rolling' }> {
  return settings.strategy !== 'rolling';
}

export function describeSettings(settings: DeploymentSettings): string {
  switch (settings.strategy) {
    case 'rolling':
      return 'rolling';
    case 'blue-green':
      return `blue-green, bake ${settings.bakeMinutes} min`;
    case 'linear':
      return `linear ${settings.stepPercent}% every ${settings.stepBakeMinutes} min, bake ${settings.bakeMinutes} min`;
    case 'canary':
      return `canary ${settings.canaryPercent}% for ${settings.canaryBakeMinutes} min, bake ${settings.bakeMinutes} min`;
  }
}
