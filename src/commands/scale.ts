import { UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { attributeCallsTo } from '../aws/clients.js';
import { parseInteger, type StackConfig } from '../config.js';
import { stepContext } from '../engine/run.js';
import { OperationError, UsageError } from '../errors.js';
import { describeService, serviceTasks, stackRefs, targetHealth } from '../inspect/stack.js';
import { noStateFile, stackEngine, withStackState, type Session } from '../session.js';
import { scalableRange, type ScalableRange } from '../status/autoScaling.js';
import { tasksByZone } from '../status/gather.js';
import { serviceStep, waitUntilServiceHealthy, type ServiceHealth } from '../steps/service.js';
import { abortOnInterrupt } from './interrupt.js';
import { BUNDLED_APP_DIR, openSession, validateCommon, type CommonOptions } from './session.js';

export interface ScaleCliOptions extends CommonOptions {
  timeout: string;
}

/** The bounds `up --count` has: ECS takes more, but 100 tasks is the most this tool is built and tested for. */
export const MIN_COUNT = 1;
export const MAX_COUNT = 100;

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** N, validated before any AWS call: a whole number from 1 to 100 (exit 2 otherwise). */
export function parseCount(raw: string): number {
  return parseInteger('N (the desired count)', raw, MIN_COUNT, MAX_COUNT);
}

/** Said whenever a command leaves the service with fewer than two tasks (`what`: "--count 1", "N 1"). */
export function notHighlyAvailable(what: string): string {
  return `${what}: one task is not highly available; stopping it (a deployment, a failure, chaos) takes the app down. Use 2 or more`;
}

export interface ScaleResult {
  stack: string;
  region: string;
  service: string;
  cluster: string;
  previousDesired: number;
  desired: number;
  /** False when the service already had N desired: nothing was changed, only waited for. */
  changed: boolean;
  autoScaling: { min: number; max: number } | null;
  health: ServiceHealth;
  /** Every AZ of the stack with its tasks after the wait, in name order. */
  zones: Array<{ zone: string; tasks: number; healthy: number }>;
}

/** The wait reads only the stack's names and state: the rest of this config is `up`'s defaults, unused. */
function waitConfig(stack: string, count: number): StackConfig {
  return { stack, count, cpu: 256, memory: 512, arch: 'x86_64', appVersion: '', appPort: 8080, listenerPort: 80, logRetentionDays: 7, appDir: BUNDLED_APP_DIR, skipDocker: true };
}

function outsideRange(count: number, range: ScalableRange, service: string): UsageError {
  return new UsageError(
    `invalid N ${count}: autoscaling keeps service ${service} between ${range.min} and ${range.max} tasks (scalable target ${range.resourceId}); choose N from ${range.min} to ${range.max}`,
    `to go outside it, change the range first: aws application-autoscaling register-scalable-target --service-namespace ecs --scalable-dimension ecs:service:DesiredCount --resource-id ${range.resourceId} --min-capacity <min> --max-capacity <max>`,
  );
}

/**
 * Sets the service's desired count and waits, as `up` does, until it is steady with every target
 * healthy. Under the stack's lock, so that it never races an `up` or a `down` of the same stack.
 */
export async function runScale(session: Session, count: number, options: { timeoutMs: number }): Promise<ScaleResult> {
  const { reporter, aws } = session;
  return withStackState(session, 'scale', async (state) => {
    if (!state.exists) throw noStateFile(session);
    const refs = stackRefs(state.snapshot());
    if (state.get('service')?.origin === 'adopted') {
      throw new OperationError(
        `service ${refs.service} was adopted (not created by ecs-ha): ecs-ha uses it as it is and does not change it`,
        `scale it where it is managed, e.g. aws ecs update-service --cluster ${refs.cluster} --service ${refs.service} --desired-count ${count}`,
      );
    }
    const [service, range] = await attributeCallsTo('scale', () => Promise.all([describeService(aws, refs), scalableRange(aws, refs)]));
    if (service?.status !== 'ACTIVE') {
      throw new OperationError(`service ${refs.service} is ${service?.status ?? 'missing'} in cluster ${refs.cluster}`, `run \`ecs-ha up --stack ${session.stack}\` to create it again`);
    }
    if (range && (count < range.min || count > range.max)) throw outsideRange(count, range, refs.service);
    const previousDesired = service.desiredCount ?? 0;
    const changed = previousDesired !== count;
    if (changed) {
      await attributeCallsTo('scale', () => aws.ecs.send(new UpdateServiceCommand({ cluster: refs.cluster, service: refs.service, desiredCount: count })));
      reporter.succeed('scale', `service ${refs.service}: desired count ${previousDesired} → ${count}`);
    } else {
      reporter.info(`service ${refs.service} already has a desired count of ${count}; checking that it is steady and healthy`);
    }
    if (range) reporter.warn(`autoscaling is on (min ${range.min}, max ${range.max}): it may change the desired count again`);

    const engine = stackEngine(session, waitConfig(session.stack, count), state, options);
    const ctx = stepContext(engine, serviceStep);
    reporter.start('wait', 'waiting for the service to be steady and every target healthy');
    const health = await attributeCallsTo('wait', () => waitUntilServiceHealthy(ctx, ctx.waitTimeoutMs));
    reporter.succeed('wait', `service steady: ${plural(health.runningCount, 'task')} in ${health.availabilityZones.join(', ')}, ${plural(health.healthyTargets, 'healthy target')}`);

    const [tasks, targets] = await attributeCallsTo('spread', () => Promise.all([serviceTasks(aws, refs), targetHealth(aws, refs)]));
    const stackZones = state.get('network')?.details?.availabilityZones;
    const zones = tasksByZone(tasks, targets, Array.isArray(stackZones) ? (stackZones as string[]) : []);
    return {
      stack: session.stack,
      region: state.region,
      service: refs.service,
      cluster: refs.cluster,
      previousDesired,
      desired: count,
      changed,
      autoScaling: range ? { min: range.min, max: range.max } : null,
      health,
      zones: zones.map((z) => ({ zone: z.zone, tasks: z.tasks.length, healthy: z.healthy })),
    };
  });
}

export function renderScale(session: Session, result: ScaleResult): void {
  const { reporter } = session;
  if (session.json) {
    reporter.json(result);
    return;
  }
  const what = result.changed ? `scaled from ${result.previousDesired} to ${plural(result.desired, 'task')}` : `already had ${plural(result.desired, 'task')}`;
  reporter.result(`Service ${result.service} ${what} in ${result.region}: steady, ${plural(result.health.healthyTargets, 'healthy target')}.`);
  const occupied = result.zones.filter((z) => z.tasks > 0).length;
  const total = result.zones.reduce((sum, z) => sum + z.tasks, 0);
  reporter.result(`Spread: ${plural(total, 'task')} over ${occupied} of ${plural(result.zones.length, 'AZ')}: ${result.zones.map((z) => `${z.zone} ${z.tasks}`).join(', ')}`);
  if (occupied < 2 && total > 1) reporter.result('        every task is in one AZ: losing that zone takes the app down');
  reporter.result(`Autoscaling: ${result.autoScaling ? `on, min ${result.autoScaling.min}, max ${result.autoScaling.max}` : 'off'}`);
}

/** `ecs-ha scale N`: validate N, set it, wait until steady and healthy, report the spread. */
export async function scaleAction(rawCount: string, options: ScaleCliOptions): Promise<void> {
  validateCommon(options);
  const count = parseCount(rawCount);
  const timeoutMs = parseInteger('--timeout', options.timeout, 1) * 1000;
  let session: Session | undefined;
  const interrupt = abortOnInterrupt(() => session?.reporter);
  try {
    session = await openSession(options, interrupt.signal, false);
    if (count < 2) session.reporter.warn(notHighlyAvailable(`N ${count}`));
    const result = await runScale(session, count, { timeoutMs });
    session.reporter.stop();
    renderScale(session, result);
  } finally {
    session?.reporter.stop();
    interrupt.dispose();
  }
}
