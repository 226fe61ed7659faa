/** `ecs-ha status` as text: one screen, a label per part, details indented under it. */
import { formatUsd } from '../cost/estimate.js';
import type { AutoScalingView, LastActivity } from './autoScaling.js';
import type { StackStatus, ZoneTasks } from './gather.js';

const LABEL_WIDTH = 13;
const label = (name: string, text: string): string => `${`${name}:`.padEnd(LABEL_WIDTH)}${text}`;
const detail = (text: string): string => `    ${text}`;
const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
/** UTC, to the second: "2026-11-05 12:00:01". */
const utc = (iso: string): string => `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
const timeOf = (iso: string | undefined): string => (iso ? iso.slice(11, 19) : '--:--:--');

/** Counts of each state, most common first: "2 healthy, 1 initial". */
function stateCounts(states: string[]): string {
  const counts = new Map<string, number>();
  for (const state of states) counts.set(state, (counts.get(state) ?? 0) + 1);
  return [...counts.entries()]
    .sort(([, a], [, b]) => b - a)
    .map(([state, n]) => `${n} ${state}`)
    .join(', ');
}

function unavailable(status: StackStatus, ...parts: string[]): string {
  const reason = status.unavailable.find((u) => parts.includes(u.part))?.reason;
  return `unavailable${reason ? ` (${reason})` : ''}`;
}

function serviceLines(status: StackStatus): string[] {
  const service = status.service;
  if (!service) return [label('Service', unavailable(status, 'service'))];
  const lines = [
    label('Service', `${service.name} ${service.status}: ${service.desired} desired, ${service.running} running, ${service.pending} pending; strategy ${service.strategy}${service.taskDefinition ? `; task definition ${service.taskDefinition}` : ''}`),
  ];
  if (service.deployments.length === 0) return [...lines, label('Deployments', 'none reported')];
  lines.push(label('Deployments', plural(service.deployments.length, 'deployment')));
  for (const d of service.deployments) {
    const rollout = d.rolloutState ? ` ${d.rolloutState}${d.rolloutStateReason && d.rolloutState !== 'COMPLETED' ? ` (${d.rolloutStateReason})` : ''}` : '';
    lines.push(detail(`${d.status}${rollout}  ${d.taskDefinition ?? '?'}  ${d.running}/${d.desired} running, ${d.pending} pending, ${d.failedTasks} failed  ${d.id}`));
  }
  return lines;
}

function zoneLines(zone: ZoneTasks): string[] {
  const head = detail(`${zone.zone}  ${plural(zone.tasks.length, 'task')}${zone.tasks.length ? `, ${zone.healthy} healthy` : ''}`);
  return [head, ...zone.tasks.map((t) => detail(`  ${t.id}  ${t.lastStatus}${t.desiredStatus !== 'RUNNING' ? ` (desired ${t.desiredStatus})` : ''}  ${t.ip ?? 'no IP yet'}  ${t.health}`))];
}

function taskLines(status: StackStatus): string[] {
  const tasks = status.tasks;
  if (!tasks) return [label('Tasks', unavailable(status, 'tasks'))];
  const occupied = tasks.zones.filter((z) => z.tasks.length > 0).length;
  const healthy = tasks.zones.reduce((sum, z) => sum + z.healthy, 0);
  return [label('Tasks', `${plural(tasks.total, 'task')} in ${occupied} of ${plural(tasks.zones.length, 'AZ')}, ${healthy} healthy`), ...tasks.zones.flatMap(zoneLines)];
}

function targetLines(status: StackStatus): string[] {
  const targets = status.targets;
  if (!targets) return [label('Targets', unavailable(status, 'targets'))];
  if (targets.length === 0) return [label('Targets', 'none registered')];
  return [
    label('Targets', `${plural(targets.length, 'target')}: ${stateCounts(targets.map((t) => t.state))}`),
    ...targets.map((t) => detail(`${t.ip}${t.port !== undefined ? `:${t.port}` : ''}  ${t.state}${t.reason ? ` (${t.reason})` : ''}`)),
  ];
}

function cloudMapLines(status: StackStatus): string[] {
  const cloudMap = status.cloudMap;
  if (!cloudMap) return [label('Cloud Map', unavailable(status, 'cloud map'))];
  const healths = cloudMap.instances.map((i) => i.health ?? 'health unknown');
  const summary = cloudMap.instances.length ? `${plural(cloudMap.instances.length, 'instance')}, ${stateCounts(healths)}` : 'no instances';
  return [
    label('Cloud Map', `${cloudMap.name}: ${summary}`),
    ...cloudMap.instances.map((i) => detail(`${i.id}  ${i.ip ?? 'no IP'}  ${i.az ?? ''}  ${i.health ?? 'health unknown'}`.replace(/ {3,}/g, '  '))),
  ];
}

function activityText(activity: LastActivity): string {
  if (activity === 'none') return 'none yet';
  if ('unavailable' in activity) return `unavailable (${activity.unavailable})`;
  const when = activity.startedAt ? ` at ${utc(activity.startedAt)}` : '';
  return `${activity.status}${when}: ${activity.description}${activity.message ? ` (${activity.message})` : ''}`;
}

export function autoScalingLines(view: AutoScalingView | null, status?: StackStatus): string[] {
  if (!view) return [label('Autoscaling', status ? unavailable(status, 'autoscaling') : 'unavailable')];
  if (!view.enabled) return [label('Autoscaling', `off (no scalable target for ${view.resourceId})`)];
  const suspended = view.suspended.length ? `; suspended: ${view.suspended.join(', ')}` : '';
  const policies = view.policies.length
    ? view.policies.map((p) => detail(`policy ${p.name}: ${p.type}${p.tracks ? `, ${p.tracks}` : ''}`))
    : [detail('no scaling policy')];
  return [label('Autoscaling', `on: min ${view.min}, max ${view.max}${suspended}`), ...policies, detail(`last activity: ${activityText(view.lastActivity)}`)];
}

function eventLines(status: StackStatus): string[] {
  const events = status.events;
  if (!events) return [label('Events', unavailable(status, 'service'))];
  if (events.length === 0) return [label('Events', 'none')];
  return [label('Events', `the last ${plural(events.length, 'event')}, newest first (UTC)`), ...events.map((e) => detail(`${timeOf(e.at)}  ${e.message}`))];
}

function costLines(status: StackStatus, local: boolean): string[] {
  const cost = status.cost;
  if (!cost) return [label('Cost', 'no estimate (the service or its task definition could not be read)')];
  const where = local ? 'on AWS this stack would cost' : 'while it is up it costs';
  const size = `${plural(cost.tasks, 'task')} of ${cost.cpu / 1024} vCPU / ${cost.memory / 1024} GB`;
  return [label('Cost', `${where} about ${formatUsd(cost.perHour)}/hour (${formatUsd(cost.perMonth)}/month) with ${size}: ${cost.basis}`)];
}

/** The parts whose failed reads no line above names (each other part says so in its own line). */
const SHOWN_INLINE = new Set(['service', 'tasks', 'targets', 'cloud map', 'autoscaling']);

function notShownInline(status: StackStatus): string[] {
  const others = status.unavailable.filter((u) => !SHOWN_INLINE.has(u.part));
  return others.length ? [label('Unavailable', others.map((u) => `${u.part}: ${u.reason}`).join('; '))] : [];
}

/** The screen, line by line; `local` words the cost as what AWS would charge. */
export function formatStatus(status: StackStatus, options: { local: boolean }): string[] {
  return [
    `Stack "${status.stack}" in ${status.region} (account ${status.account}) at ${utc(status.observedAt)} UTC`,
    label('URL', status.url),
    ...serviceLines(status),
    ...taskLines(status),
    ...targetLines(status),
    ...cloudMapLines(status),
    ...autoScalingLines(status.autoScaling, status),
    ...eventLines(status),
    ...costLines(status, options.local),
    ...notShownInline(status),
  ];
}
