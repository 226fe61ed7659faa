/**
 * Runs every check of `ecs-ha verify` concurrently (the AWS reads they share are made once) and
 * renders the result: one aligned line per check, then a count of OK / FAIL / SKIP.
 */
import { resourceNames } from '../config.js';
import type { Session } from '../session.js';
import { listsNoTasks, type StackRefs } from '../inspect/stack.js';
import { readOwnStateFile } from '../state/store.js';
import { findScalableTarget, findScalingPolicy, recordedAutoScaling } from '../steps/autoScaling.js';
import {
  autoScalingMatches,
  cloudMapMatches,
  clusterActive,
  listenerForwards,
  runCheck,
  serviceActive,
  serviceSteady,
  targetsHealthy,
  tasksAcrossAzs,
  type AutoScalingExpectation,
  type CheckOutcome,
  type CheckResult,
  type CheckStatus,
} from './checks.js';
import { observe } from './observations.js';
import { observeUrl, urlAcrossAzs, urlAcrossTasks, urlAnswers, type UrlCheckContext, type UrlObservation } from './url.js';

/** The checks in the order they are shown: the control plane first, then what needs running containers. */
export const CHECKS: ReadonlyArray<{ name: string; run: (ctx: UrlCheckContext) => Promise<CheckOutcome> }> = [
  { name: 'cluster active', run: clusterActive },
  { name: 'service active', run: serviceActive },
  { name: 'service steady', run: serviceSteady },
  { name: 'listener', run: listenerForwards },
  { name: 'autoscaling', run: autoScalingMatches },
  { name: 'tasks across AZs', run: tasksAcrossAzs },
  { name: 'targets healthy', run: targetsHealthy },
  { name: 'cloud map', run: cloudMapMatches },
  { name: 'url answers', run: urlAnswers },
  { name: 'url across tasks', run: urlAcrossTasks },
  { name: 'url across AZs', run: urlAcrossAzs },
];

export interface VerifyOptions {
  /** The URL the user-side checks send requests to (the stack's load balancer; a loopback server in tests). */
  baseUrl: string;
  /** Requests sent to each of `/` and `/health`. */
  requests: number;
  /** Bound on waiting for the load balancer's DNS name to resolve and accept connections. */
  timeoutMs: number;
  requestTimeoutMs?: number;
}

export interface VerifyResult {
  stack: string;
  region: string;
  url: string;
  passed: boolean;
  checks: CheckResult[];
}

/**
 * What the state records of autoscaling (the refs do not carry it: it is read again from the state
 * file, which makes no AWS call), and a read of it made at most once. Undefined: autoscaling is off.
 */
function autoScalingExpectation(session: Session, refs: StackRefs): AutoScalingExpectation | undefined {
  const record = readOwnStateFile(session.stateDir, refs.stack, refs.account, refs.region)?.resources.autoScaling;
  if (!record) return undefined;
  const policyName = recordedAutoScaling(record)?.policyName ?? resourceNames(refs.stack).scalingPolicy;
  let read: ReturnType<AutoScalingExpectation['observe']> | undefined;
  const observe = async () => {
    const target = await findScalableTarget(session.aws, record.id);
    return { target, policy: target ? await findScalingPolicy(session.aws, record.id, policyName) : undefined };
  };
  return { record, policyName, observe: () => (read ??= observe()) };
}

export async function runVerify(session: Session, refs: StackRefs, options: VerifyOptions): Promise<VerifyResult> {
  const { reporter } = session;
  let url: Promise<UrlObservation> | undefined;
  const observed = observe(session.aws, refs);
  const autoScaling = autoScalingExpectation(session, refs);
  // An endpoint override may run containers (the local data plane, LocalStack) or not (plain moto): what it lists decides.
  const noContainers =
    session.emulatorEndpoint !== undefined && (await listsNoTasks(session.aws, refs, { running: await observed.tasks().catch(() => undefined), service: observed.service }));
  const ctx: UrlCheckContext = {
    refs,
    observed,
    ...(noContainers ? { emulatorEndpoint: session.emulatorEndpoint } : {}),
    ...(autoScaling ? { autoScaling } : {}),
    url: () =>
      (url ??= observeUrl(options.baseUrl, {
        requests: options.requests,
        waitTimeoutMs: options.timeoutMs,
        clock: session.clock,
        signal: session.signal,
        ...(options.requestTimeoutMs ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
        onWait: (seconds, why) => reporter.progress('verify', `waiting for ${options.baseUrl}: ${why} (${seconds} s)`),
      })),
  };
  reporter.start('verify', `running ${CHECKS.length} checks on stack ${refs.stack}`);
  const checks = await Promise.all(CHECKS.map((check) => runCheck(check.name, () => check.run(ctx))));
  const failed = checks.filter((c) => c.status === 'FAIL').length;
  if (failed) reporter.fail('verify', `${failed} of ${checks.length} checks failed`);
  else reporter.succeed('verify', `no check failed (${checks.filter((c) => c.status === 'SKIP').length} skipped)`);
  return { stack: refs.stack, region: await session.aws.region(), url: options.baseUrl, passed: failed === 0, checks };
}

export function countByStatus(checks: CheckResult[]): Record<CheckStatus, number> {
  const counts: Record<CheckStatus, number> = { OK: 0, FAIL: 0, SKIP: 0 };
  for (const check of checks) counts[check.status]++;
  return counts;
}

const COLOURS: Record<CheckStatus, string> = { OK: '\u001b[32m', FAIL: '\u001b[31m', SKIP: '\u001b[33m' };

/** The human rendering: a header, one aligned line per check, and the summary line. */
export function formatVerify(result: VerifyResult, options: { colour: boolean }): string[] {
  const width = Math.max(...result.checks.map((c) => c.name.length));
  const status = (s: CheckStatus): string => (options.colour ? `${COLOURS[s]}${s.padEnd(4)}\u001b[0m  ` : `${s.padEnd(4)}  `);
  const counts = countByStatus(result.checks);
  return [
    `Stack "${result.stack}" in ${result.region}: ${result.url}`,
    ...result.checks.map((c) => `${status(c.status)}${c.name.padEnd(width)}  ${c.evidence}`),
    `verify: ${counts.OK} OK, ${counts.FAIL} FAIL, ${counts.SKIP} SKIP`,
  ];
}
