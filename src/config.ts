import type { DeploymentSettings } from './deploy/strategy.js';
import { UsageError } from './errors.js';

export type Architecture = 'x86_64' | 'arm64';

/** Everything `up` needs to know about the stack, validated before any AWS call. */
export interface StackConfig {
  stack: string;
  count: number;
  cpu: number;
  memory: number;
  arch: Architecture;
  /** A prebuilt image URI; when set, Docker is not used. */
  image?: string;
  /** An existing role (name or ARN) to adopt instead of creating one. */
  executionRole?: string;
  vpcId?: string;
  appVersion: string;
  appPort: number;
  listenerPort: number;
  logRetentionDays: number;
  /** Directory holding the app's Dockerfile. */
  appDir: string;
  /** Skip Docker (the local emulator has no registry to push to). */
  skipDocker: boolean;
  /**
   * Whether an existing service's desired count is set to `count` too. Only when `--count` was
   * given and no autoscaling manages the count: a plain `up` keeps what `scale` or the autoscaler
   * set. Otherwise `count` is only what a new service starts with.
   */
  updateDesiredCount?: boolean;
  /** `up --autoscale`: the range to keep the service in (and what to track), or 'off' to remove the stack's; absent: keep what the stack has. */
  autoScaling?: AutoScalingRequest | 'off';
  /** `up --strategy` (and `deploy --strategy`): how the service deploys; absent: as the stack does (rolling for a new one). */
  deployment?: DeploymentSettings;
}

/** What a target-tracking policy holds steady: average CPU (percent) or ALB requests per target (per minute). */
export type AutoScalingMetric = 'cpu' | 'requests';

export interface TargetTracking {
  metric: AutoScalingMetric;
  target: number;
}

/** The service's autoscaling as the stack wants it: the range of tasks and the one policy's target. */
export interface AutoScalingSettings extends TargetTracking {
  min: number;
  max: number;
}

/** What `up --autoscale` said: a range, and what to track when --autoscale-cpu or --autoscale-requests was given. */
export interface AutoScalingRequest {
  min: number;
  max: number;
  tracking?: TargetTracking;
}

/** Tasks of a new service when `--count` is not given. */
export const DEFAULT_COUNT = 2;
/** The most tasks `up --count`, `scale` and `--autoscale` allow: ECS takes more, this tool is built and tested for 100. */
export const MAX_TASKS = 100;
/** The CPU percentage `--autoscale` tracks when told no target. */
export const DEFAULT_CPU_TARGET = 60;

export const STACK_TAG_KEY = 'ecs-ha:stack';
const MAX_STACK_LENGTH = 28;

/** Names of every resource, derived from the stack name so that each run finds the same ones. */
export function resourceNames(stack: string) {
  return {
    repository: stack,
    cluster: stack,
    service: stack,
    logGroup: `/ecs/${stack}`,
    /** Stacks made before role names carried the region (regionalRoleName in steps/executionRole.ts) used this one. */
    legacyExecutionRole: `${stack}-task-execution`,
    albSecurityGroup: `${stack}-alb`,
    taskSecurityGroup: `${stack}-tasks`,
    loadBalancer: `${stack}-alb`,
    targetGroup: `${stack}-tg`,
    /** The second target group of the native strategies (blue/green, linear, canary): at most 28 + 4 = 32 characters, ELB's limit. */
    alternateTargetGroup: `${stack}-tg2`,
    namespace: `${stack}.local`,
    discoveryService: 'app',
    taskFamily: stack,
    container: 'app',
    /** Application Auto Scaling addresses the service's scalable target by this resource ID. */
    scalableTarget: `service/${stack}/${stack}`,
    /** One policy whatever it tracks, so a change of metric is an update, not a second policy. */
    scalingPolicy: `${stack}-target-tracking`,
  } as const;
}
export type ResourceNames = ReturnType<typeof resourceNames>;

export function validateStackName(stack: string): string {
  if (!/^[a-z][a-z0-9-]*$/.test(stack) || stack.endsWith('-') || stack.includes('--')) {
    throw new UsageError(
      `invalid --stack "${stack}": use lowercase letters, digits and single hyphens, starting with a letter and not ending with a hyphen`,
      'ECR repository names must be lowercase and load balancer names allow only letters, digits and hyphens',
    );
  }
  if (stack.length > MAX_STACK_LENGTH) {
    throw new UsageError(
      `invalid --stack "${stack}": ${stack.length} characters, at most ${MAX_STACK_LENGTH} allowed`,
      `the load balancer is named "<stack>-alb" and AWS allows at most 32 characters`,
    );
  }
  return stack;
}

export function validateRegion(region: string): string {
  if (!/^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d{1,2}$/.test(region)) {
    throw new UsageError(`invalid --region "${region}": expected an AWS region code such as us-east-1 or eu-west-2`);
  }
  return region;
}

/** Parses a whole number within bounds; names the option in the message. */
export function parseInteger(option: string, raw: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const value = Number(raw);
  if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `a whole number of at least ${min}` : `a whole number from ${min} to ${max}`;
    throw new UsageError(`invalid ${option} "${raw}": expected ${range}`);
  }
  return value;
}

/** Fargate's allowed CPU units → memory (MiB) choices. */
const FARGATE_SIZES: ReadonlyArray<{ cpu: number; memory: number[] }> = [
  { cpu: 256, memory: [512, 1024, 2048] },
  { cpu: 512, memory: range(1024, 4096, 1024) },
  { cpu: 1024, memory: range(2048, 8192, 1024) },
  { cpu: 2048, memory: range(4096, 16384, 1024) },
  { cpu: 4096, memory: range(8192, 30720, 1024) },
  { cpu: 8192, memory: range(16384, 61440, 4096) },
  { cpu: 16384, memory: range(32768, 122880, 8192) },
];

function range(from: number, to: number, step: number): number[] {
  const values: number[] = [];
  for (let v = from; v <= to; v += step) values.push(v);
  return values;
}

export function validateFargateSize(cpu: number, memory: number): void {
  const size = FARGATE_SIZES.find((s) => s.cpu === cpu);
  if (!size) {
    throw new UsageError(`invalid --cpu ${cpu}: Fargate allows ${FARGATE_SIZES.map((s) => s.cpu).join(', ')}`);
  }
  if (!size.memory.includes(memory)) {
    const first = size.memory[0];
    const last = size.memory[size.memory.length - 1];
    const step = (size.memory[2] ?? 0) - (size.memory[1] ?? 0);
    // 256 CPU units allow 512, 1024, 2048: not an even step, so they are listed.
    const allowed = cpu === 256 ? size.memory.join(', ') : `${first} to ${last}`;
    const steps = cpu === 256 ? '' : ` in steps of ${step}`;
    throw new UsageError(`invalid --memory ${memory} for --cpu ${cpu}: Fargate allows ${allowed} MiB${steps} for ${cpu} CPU units`);
  }
}

export function validateArch(raw: string): Architecture {
  if (raw === 'amd64' || raw === 'x86_64') return 'x86_64';
  if (raw === 'arm64') return 'arm64';
  throw new UsageError(`invalid --arch "${raw}": expected amd64 or arm64`);
}

export function validateVpcId(raw: string): string {
  if (!/^vpc-([0-9a-f]{8}|[0-9a-f]{17})$/.test(raw)) throw new UsageError(`invalid --vpc-id "${raw}": expected vpc- followed by 8 or 17 hex digits`);
  return raw;
}

export function validateImageUri(raw: string): string {
  if (!/^[a-z0-9.\-:/_@]+$/i.test(raw) || raw.startsWith('-')) {
    throw new UsageError(`invalid --image "${raw}": expected an image reference such as 123456789012.dkr.ecr.us-east-1.amazonaws.com/app:tag`);
  }
  return raw;
}

export function validateRoleRef(raw: string): string {
  if (!/^(arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,64}|[\w+=,.@-]{1,64})$/.test(raw)) {
    throw new UsageError(`invalid --execution-role "${raw}": expected a role name (letters, digits, +=,.@_-; at most 64) or a role ARN`);
  }
  return raw;
}

/** The app version a new stack gets when `up` is not told one. */
export const DEFAULT_APP_VERSION = '1.0';

export function validateAppVersion(raw: string): string {
  if (!/^[\w.+-]{1,64}$/.test(raw)) throw new UsageError(`invalid --app-version "${raw}": use at most 64 letters, digits and . _ + -`);
  return raw;
}

/**
 * What the service runs: the app version and the image, and the folder the image was built from
 * (absent when the image was given with --image: then it is kept as it is). `up`, `deploy` and
 * `rollback` remember it in the taskDefinition record's details, so that a later `up` without
 * --app-version, --image or --app-dir keeps what was deployed instead of going back to defaults.
 */
export interface Release {
  appVersion: string;
  image: string;
  appDir?: string;
}

/** What the command line said about the release; what it leaves out stays as deployed. */
export interface ReleaseRequest {
  appVersion?: string;
  image?: string;
  appDir?: string;
}

/** The release remembered in a taskDefinition record's details; undefined when none is (a stack of an earlier version). */
export function recordedRelease(details: Record<string, unknown> | undefined): Release | undefined {
  const { appVersion, image, appDir } = details ?? {};
  if (typeof appVersion !== 'string' || typeof image !== 'string') return undefined;
  return { appVersion, image, ...(typeof appDir === 'string' ? { appDir } : {}) };
}

/** The details that remember `release`, next to the record's others (the family). */
export function withRelease(details: Record<string, unknown> | undefined, release: Release): Record<string, unknown> {
  const { appDir: _previousDir, ...others } = details ?? {};
  return { ...others, appVersion: release.appVersion, image: release.image, ...(release.appDir !== undefined ? { appDir: release.appDir } : {}) };
}

/**
 * The release to roll out: what was asked for, the rest as deployed. An image given with --image
 * is kept until --image or --app-dir says otherwise; an image built from a folder is built again
 * from that folder (so a changed app is rolled out). A new stack: version 1.0 and `defaultAppDir`.
 */
export function chooseRelease(request: ReleaseRequest, deployed: Release | undefined, defaultAppDir: string): Pick<StackConfig, 'appVersion' | 'image' | 'appDir'> {
  const appVersion = request.appVersion ?? deployed?.appVersion ?? DEFAULT_APP_VERSION;
  if (request.image !== undefined) return { appVersion, image: request.image, appDir: request.appDir ?? deployed?.appDir ?? defaultAppDir };
  if (request.appDir !== undefined) return { appVersion, appDir: request.appDir };
  if (deployed && deployed.appDir === undefined) return { appVersion, image: deployed.image, appDir: defaultAppDir };
  return { appVersion, appDir: deployed?.appDir ?? defaultAppDir };
}

const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

export function validateLogRetention(raw: string): number {
  const days = Number(raw);
  if (!LOG_RETENTION_DAYS.includes(days)) {
    throw new UsageError(`invalid --log-retention "${raw}": CloudWatch Logs allows ${LOG_RETENTION_DAYS.join(', ')} days`);
  }
  return days;
}

/**
 * `--autoscale`, `--autoscale-cpu`, `--autoscale-requests`, validated before any AWS call: a range
 * MIN:MAX (1 ≤ MIN ≤ MAX ≤ 100) or `off`, and at most one metric, given only with a range.
 * Undefined when none is given: `up` keeps the stack's autoscaling as it is.
 */
export function autoScalingRequest(options: { autoscale?: string; autoscaleCpu?: string; autoscaleRequests?: string }): AutoScalingRequest | 'off' | undefined {
  const { autoscale, autoscaleCpu, autoscaleRequests } = options;
  if (autoscaleCpu !== undefined && autoscaleRequests !== undefined) {
    throw new UsageError('--autoscale-cpu and --autoscale-requests cannot be used together: the target-tracking policy tracks one metric');
  }
  const tracking: TargetTracking | undefined =
    autoscaleCpu !== undefined
      ? { metric: 'cpu', target: parseInteger('--autoscale-cpu', autoscaleCpu, 1, 100) }
      : autoscaleRequests !== undefined
        ? { metric: 'requests', target: parseInteger('--autoscale-requests', autoscaleRequests, 1) }
        : undefined;
  const metricOption = autoscaleCpu !== undefined ? '--autoscale-cpu' : '--autoscale-requests';
  if (autoscale === undefined) {
    if (tracking) throw new UsageError(`${metricOption} needs --autoscale MIN:MAX: it sets what autoscaling tracks`, `for example: ecs-ha up --autoscale 2:10 ${metricOption} ${tracking.target}`);
    return undefined;
  }
  if (autoscale === 'off') {
    if (tracking) throw new UsageError(`${metricOption} cannot be used with --autoscale off: off removes the scalable target and its policy`);
    return 'off';
  }
  const match = /^(\d+):(\d+)$/.exec(autoscale.trim());
  const min = Number(match?.[1]);
  const max = Number(match?.[2]);
  if (!match || min < 1 || max > MAX_TASKS || min > max) {
    throw new UsageError(`invalid --autoscale "${autoscale}": expected MIN:MAX, whole numbers with 1 ≤ MIN ≤ MAX ≤ ${MAX_TASKS} (such as 2:10), or off`);
  }
  return { min, max, ...(tracking ? { tracking } : {}) };
}

/** The range of tasks autoscaling keeps the service in. */
export interface TaskRange {
  min: number;
  max: number;
}

/** `count` moved into `range`: what a new service starts with when --count was not given. */
export function clampToRange(count: number, range: TaskRange): number {
  return Math.min(Math.max(count, range.min), range.max);
}
