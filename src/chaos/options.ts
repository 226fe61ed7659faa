/**
 * `ecs-ha chaos` options, validated before any AWS call (UsageError, exit 2): each message names
 * the option and what is allowed.
 */
import { parseInteger } from '../config.js';
import { UsageError } from '../errors.js';

/** What to stop: one task (random, or the one named), or every running task in one AZ. */
export type ChaosMode = { kind: 'kill-one'; task?: string } | { kind: 'kill-az'; az: string };

/**
 * The zone drill of --kill-az: the zone's subnets are taken out of the service for the test, kept out
 * for `holdMs` after recovery, then given back unless `restore` is false (--no-restore).
 */
export interface ZoneDrillOptions {
  holdMs: number;
  restore: boolean;
}

export interface ChaosOptions {
  mode: ChaosMode;
  /** Set with --kill-az only. */
  drill?: ZoneDrillOptions;
  rps: number;
  baselineMs: number;
  settleMs: number;
  timeoutMs: number;
  maxFailures: number;
  force: boolean;
}

/** The options as commander hands them over: strings for values, booleans for flags. */
export interface ChaosOptionInput {
  killOne?: boolean;
  killAz?: string;
  task?: string;
  rps: string;
  baseline: string;
  settle: string;
  timeout: string;
  maxFailures: string;
  force?: boolean;
  /** Seconds; no default from commander, so that giving it with --kill-one can be refused. */
  hold?: string;
  /** false with --no-restore. */
  restore?: boolean;
}

export const MAX_RPS = 100;
export const MAX_HOLD_SECONDS = 3_600;
const MAX_SECONDS = 86_400;
/** AZ names: us-east-1a, eu-west-2c, us-gov-west-1b, and the local-zone form us-west-2-lax-1a. */
const AZ_PATTERN = /^[a-z]{2}(-[a-z0-9]+)+-\d+[a-z]$|^[a-z]{2}(-[a-z0-9]+)+-\d+-[a-z]+-\d+[a-z]$/;

/** A task ID (32 hex characters today, a UUID for old tasks) or a task ARN (with or without the cluster). */
const TASK_REF_PATTERN = /^[A-Za-z0-9-]{1,64}$|^arn:[\w-]+:ecs:[\w-]+:\d{12}:task\/([\w-]+\/)?[A-Za-z0-9-]{1,64}$/;

/** Seconds, fractions allowed (tests and quick runs use 0.2), within [min, max]. */
export function parseSeconds(option: string, raw: string, min: number, max = MAX_SECONDS): number {
  const value = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw.trim()) || !Number.isFinite(value) || value < min || value > max) {
    throw new UsageError(`invalid ${option} "${raw}": expected a number of seconds from ${min} to ${max}`);
  }
  return value;
}

export function parseChaosOptions(input: ChaosOptionInput): ChaosOptions {
  const killAz = input.killAz;
  if (input.killOne && killAz !== undefined) {
    throw new UsageError('--kill-one and --kill-az cannot be used together: give exactly one of them');
  }
  if (!input.killOne && killAz === undefined) {
    throw new UsageError('say what to stop: give exactly one of --kill-one or --kill-az <az>', 'e.g. `ecs-ha chaos --kill-one` or `ecs-ha chaos --kill-az us-east-1a`');
  }
  if (input.task !== undefined && !input.killOne) {
    throw new UsageError('--task can only be used with --kill-one: --kill-az stops every running task in the AZ');
  }
  if (input.task !== undefined && !TASK_REF_PATTERN.test(input.task)) {
    throw new UsageError(`invalid --task "${input.task}": expected a task ID (such as 0f1e2d3c4b5a69788796a5b4c3d2e1f0) or a task ARN`);
  }
  if (killAz !== undefined && !AZ_PATTERN.test(killAz)) {
    throw new UsageError(`invalid --kill-az "${killAz}": expected an Availability Zone name such as us-east-1a`);
  }
  const noRestore = input.restore === false;
  if (killAz === undefined && input.hold !== undefined) {
    throw new UsageError('--hold can only be used with --kill-az: it keeps the zone out of the service longer');
  }
  if (killAz === undefined && noRestore) {
    throw new UsageError('--no-restore can only be used with --kill-az: --kill-one takes no zone away');
  }
  if (noRestore && input.hold !== undefined) {
    throw new UsageError('--hold cannot be used with --no-restore: without the restore the zone stays out until `ecs-ha up`');
  }
  const mode: ChaosMode = killAz !== undefined ? { kind: 'kill-az', az: killAz } : { kind: 'kill-one', ...(input.task ? { task: input.task } : {}) };
  const holdMs = input.hold === undefined ? 0 : Math.round(parseSeconds('--hold', input.hold, 0, MAX_HOLD_SECONDS) * 1000);
  return {
    mode,
    ...(killAz !== undefined ? { drill: { holdMs, restore: !noRestore } } : {}),
    rps: parseInteger('--rps', input.rps, 1, MAX_RPS),
    baselineMs: Math.round(parseSeconds('--baseline', input.baseline, 0, 3_600) * 1000),
    settleMs: Math.round(parseSeconds('--settle', input.settle, 0, 3_600) * 1000),
    timeoutMs: Math.round(parseSeconds('--timeout', input.timeout, 1) * 1000),
    maxFailures: parseInteger('--max-failures', input.maxFailures, 0),
    force: Boolean(input.force),
  };
}

/** How the mode reads in messages and the stop reason: "kill-one" or "kill-az us-east-1a". */
export function modeLabel(mode: ChaosMode): string {
  return mode.kind === 'kill-az' ? `kill-az ${mode.az}` : 'kill-one';
}
