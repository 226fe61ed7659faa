/**
 * The zone drill of `chaos --kill-az`: stopping a zone's tasks alone lets ECS start their
 * replacements in the same zone, which proves nothing about surviving the zone's outage. So for the
 * drill the service's subnets leave the zone's out (ECS rolls that out as a new deployment, in the
 * other zones), and afterwards they are given back. What was done is recorded on the service's state
 * record first, so that a drill killed half way is seen, and `ecs-ha up` gives the subnets back.
 */
import { UpdateServiceCommand, type AwsVpcConfiguration, type Service } from '@aws-sdk/client-ecs';
import type { AwsClients } from '../aws/clients.js';
import { OperationError } from '../errors.js';
import type { StackRefs } from '../inspect/stack.js';
import type { Session } from '../session.js';
import type { StateFile, StateStore } from '../state/store.js';
import type { Preflight } from './preflight.js';
import type { ZoneDrillInput, ZoneDrillReport } from './report.js';
import { describeCounts, tasksPerAz, type RecoveryTracker, type TaskRef } from './timeline.js';

export interface ZoneDrillPlan {
  az: string;
  /** The stack's subnets (its network record): what the service runs in normally, and gets back. */
  subnets: string[];
  /** The stack's AZs, one per subnet, in the same order. */
  zones: string[];
  /** The zone's subnets, left out of the service for the drill. */
  excludedSubnets: string[];
  /** The service's own awsvpcConfiguration: its security groups and public IP setting are kept exactly. */
  awsvpc: AwsVpcConfiguration;
}

/** The drill as recorded on the service's state record while the zone is out. */
export interface ZoneDrillRecord {
  az: string;
  excludedSubnets: string[];
  startedAt: string;
}

/** The stack's subnets and their AZs, from the state's network record (`details.subnetIds`, `details.availabilityZones`). */
export function stackSubnets(state: StateFile): { subnets: string[]; zones: string[] } | undefined {
  const details = state.resources.network?.details;
  const subnets = details?.subnetIds;
  const zones = details?.availabilityZones;
  const strings = (value: unknown): value is string[] => Array.isArray(value) && value.every((item) => typeof item === 'string');
  if (!strings(subnets) || !strings(zones) || subnets.length === 0 || subnets.length !== zones.length) return undefined;
  return { subnets, zones };
}

/** Whether two subnet lists name the same subnets, in any order. */
export function sameSubnets(a: readonly string[], b: readonly string[]): boolean {
  return [...a].sort().join(',') === [...b].sort().join(',');
}

/**
 * What the drill will change, or why it cannot run (OperationError, exit 1, before anything was
 * changed): the stack must record its subnets and their zones, the zone must be one of them, and
 * another zone must be left for the tasks.
 */
export function planZoneDrill(state: StateFile, service: Service, az: string): ZoneDrillPlan {
  const network = stackSubnets(state);
  if (!network) {
    throw new OperationError(
      `the state of stack "${state.stack}" does not record its subnets and their Availability Zones, so the zone drill cannot tell which subnets to leave out; nothing was stopped`,
      `run \`ecs-ha up --stack ${state.stack}\` once: it records them`,
    );
  }
  const awsvpc = service.networkConfiguration?.awsvpcConfiguration;
  if (!awsvpc?.subnets) {
    throw new OperationError(`service ${service.serviceName ?? ''} reports no awsvpc network configuration: the zone drill has no subnets to change; nothing was stopped`);
  }
  const excludedSubnets = network.subnets.filter((_subnet, i) => network.zones[i] === az);
  if (excludedSubnets.length === 0) {
    throw new OperationError(`${az} is not one of stack "${state.stack}"'s zones (${[...new Set(network.zones)].join(', ')}): there is no subnet to leave out; nothing was stopped`);
  }
  if (excludedSubnets.length === network.subnets.length) {
    throw new OperationError(`every subnet of stack "${state.stack}" is in ${az}: leaving them out would leave the service nowhere to run; nothing was stopped`);
  }
  return { az, subnets: network.subnets, zones: network.zones, excludedSubnets, awsvpc };
}

/** Sets the service's subnets, keeping the rest of its awsvpcConfiguration as it is. */
export async function setServiceSubnets(aws: AwsClients, refs: StackRefs, plan: ZoneDrillPlan, subnets: string[]): Promise<void> {
  await aws.ecs.send(
    new UpdateServiceCommand({
      cluster: refs.cluster,
      service: refs.service,
      networkConfiguration: { awsvpcConfiguration: { ...plan.awsvpc, subnets } },
    }),
  );
}

export function keptSubnets(plan: Pick<ZoneDrillPlan, 'subnets' | 'excludedSubnets'>): string[] {
  return plan.subnets.filter((subnet) => !plan.excludedSubnets.includes(subnet));
}

/** The drill an earlier run recorded and did not clear (it was killed before the restore). */
export function recordedDrill(state: StateFile): ZoneDrillRecord | undefined {
  const drill = state.resources.service?.details?.zoneDrill as Partial<ZoneDrillRecord> | undefined;
  if (!drill || typeof drill.az !== 'string' || !Array.isArray(drill.excludedSubnets) || typeof drill.startedAt !== 'string') return undefined;
  return { az: drill.az, excludedSubnets: drill.excludedSubnets.filter((s): s is string => typeof s === 'string'), startedAt: drill.startedAt };
}

/** Saved before the service is changed, so that a drill killed half way is seen. */
export function recordDrill(state: StateStore, plan: ZoneDrillPlan, startedAt: number): void {
  const record = state.require('service');
  const zoneDrill: ZoneDrillRecord = { az: plan.az, excludedSubnets: plan.excludedSubnets, startedAt: new Date(startedAt).toISOString() };
  state.record('service', { ...record, details: { ...record.details, zoneDrill } });
}

/** Cleared once the subnets are back (or seen back). */
export function clearDrillRecord(state: StateStore): void {
  const record = state.get('service');
  if (!record?.details || !('zoneDrill' in record.details)) return;
  const { zoneDrill: _done, ...details } = record.details;
  state.record('service', { ...record, details });
}

/** A zone drill under way: its plan, its options, and the state it is recorded in. */
export interface Drill {
  plan: ZoneDrillPlan;
  state: StateStore;
  holdMs: number;
  restore: boolean;
}

/** The command that gives a zone back, as the user would type it for this stack. */
export const upCommand = (session: Session, refs: StackRefs): string => `ecs-ha up${session.local ? ' --local' : ''} --stack ${refs.stack}`;

/** Records the drill in the state, then takes the zone's subnets out of the service; returns when. */
export async function excludeZone(session: Session, refs: StackRefs, drill: Drill, progress: (message: string) => void): Promise<number> {
  const { plan } = drill;
  // Saved first: a drill killed from here on is seen by the next `chaos`, and `up` gives the subnets back.
  recordDrill(drill.state, plan, session.clock.now());
  progress(`taking ${plan.az} away: service ${refs.service} in subnets ${keptSubnets(plan).join(', ')} only`);
  try {
    await setServiceSubnets(session.aws, refs, plan, keptSubnets(plan));
  } catch (error) {
    clearDrillRecord(drill.state);
    throw error;
  }
  const at = session.clock.now();
  session.reporter.info(`  ${plan.az} taken away: subnets ${plan.excludedSubnets.join(', ')} left out of service ${refs.service} (ECS rolls that out as a new deployment)`);
  return at;
}

/** Gives the zone's subnets back; a failure is warned about and reported, never thrown (the test's outcome comes first). */
export async function restoreZone(session: Session, refs: StackRefs, drill: Drill, tracker: RecoveryTracker | undefined): Promise<{ at?: number; error?: string }> {
  const { plan } = drill;
  try {
    await setServiceSubnets(session.aws, refs, plan, plan.subnets);
  } catch (error) {
    const message = (error as Error).message;
    session.reporter.warn(`could not give ${plan.az} back to service ${refs.service} (${message}); \`${upCommand(session, refs)}\` gives it subnets ${plan.excludedSubnets.join(', ')} back`);
    return { error: message };
  }
  const at = session.clock.now();
  clearDrillRecord(drill.state);
  tracker?.markRestored(at, [...new Set(plan.zones)], `subnets ${plan.subnets.join(', ')}`);
  session.reporter.info(`  ${plan.az} restored: service ${refs.service} in subnets ${plan.subnets.join(', ')} again`);
  return { at };
}

export function drillOutcome(
  drill: Drill,
  checked: Preflight,
  tracker: RecoveryTracker | undefined,
  excludedAt: number | undefined,
  restore: { at?: number; error?: string } | undefined,
  rebalanceFollowed: boolean,
): ZoneDrillInput {
  return {
    plan: drill.plan,
    holdMs: drill.holdMs,
    restore: drill.restore,
    ...(excludedAt !== undefined ? { excludedAt } : {}),
    ...(restore?.at !== undefined ? { restoredAt: restore.at } : {}),
    ...(restore?.error !== undefined ? { restoreError: restore.error } : {}),
    startedInFailedZone: tracker?.startedInFailedZone ?? [],
    tasksBefore: tasksPerAz(checked.running, drill.plan.zones),
    ...(tracker?.countsAtRecovery ? { tasksAtRecovery: tracker.countsAtRecovery } : {}),
    ...(tracker?.countsNow ? { tasksAtEnd: tracker.countsNow } : {}),
    ...(tracker?.rebalancedAt !== undefined ? { rebalancedAt: tracker.rebalancedAt } : {}),
    rebalanceLastSeen: tracker && rebalanceFollowed && tracker.rebalancedAt === undefined ? tracker.rebalanceBlockers : [],
  };
}

export const formatSeconds = (seconds: number): string => `${seconds.toFixed(1)}s`;
/** A moment on the timeline: +12.0s after the stop, -0.1s before it. */
export const signedSeconds = (seconds: number): string => `${seconds < 0 ? '' : '+'}${formatSeconds(seconds)}`;

/** Replacements per AZ they landed in: "us-east-1b 1, us-east-1c 1". */
function landedIn(tasks: TaskRef[]): string {
  const counts = new Map<string, number>();
  for (const task of tasks) counts.set(task.az ?? 'unknown AZ', (counts.get(task.az ?? 'unknown AZ') ?? 0) + 1);
  return [...counts.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([az, n]) => `${az} ${n}`).join(', ') || 'none';
}

/** The zone drill as label/text rows, for the terminal and the report's page. */
export function zoneDrillRows(drill: ZoneDrillReport, replacements: TaskRef[]): Array<[string, string]> {
  const kept = keptSubnets(drill);
  const rows: Array<[string, string]> = [];
  rows.push([
    'zone taken away',
    drill.excludedSeconds === null
      ? `${drill.az}: not taken away (the run ended before)`
      : `${drill.az}: subnets ${drill.excludedSubnets.join(', ')} left out at ${signedSeconds(drill.excludedSeconds)}; the service kept ${kept.join(', ')}`,
  ]);
  const wrong = drill.startedInFailedZone;
  rows.push([
    'landed in',
    wrong.length > 0
      ? `${landedIn(replacements)}; FAIL: ${wrong.map((t) => `task ${t.id}`).join(', ')} in ${drill.az}, the zone taken away`
      : `${landedIn(replacements)} (none in ${drill.az})`,
  ]);
  const { before, recovered, end } = drill.tasksPerAz;
  rows.push(['tasks per AZ', [`before ${describeCounts(before)}`, ...(recovered ? [`recovered ${describeCounts(recovered)}`] : []), ...(end ? [`end ${describeCounts(end)}`] : [])].join('; ')]);
  if (drill.holdSeconds > 0) rows.push(['held', `${drill.az} kept out ${formatSeconds(drill.holdSeconds)} after the recovery (--hold)`]);
  let restored: string;
  if (drill.restoredSeconds !== null) restored = `at ${signedSeconds(drill.restoredSeconds)}: subnets ${drill.subnets.join(', ')}`;
  else if (drill.restoreError !== null) restored = `FAILED (${drill.restoreError}): run \`ecs-ha up\` to give ${drill.excludedSubnets.join(', ')} back`;
  else if (!drill.restore) restored = `no (--no-restore): ${drill.az} is still left out; \`ecs-ha up\` gives ${drill.excludedSubnets.join(', ')} back`;
  else restored = drill.excludedSeconds === null ? 'nothing to restore' : 'no';
  rows.push(['restored', restored]);
  if (drill.restoredSeconds !== null) {
    rows.push(['rebalanced', drill.rebalancedSeconds !== null ? `at ${signedSeconds(drill.rebalancedSeconds)}` : `no${drill.rebalanceLastSeen.length > 0 ? ` (last seen: ${drill.rebalanceLastSeen.join('; ')})` : ' (not followed)'}`]);
  }
  return rows;
}
