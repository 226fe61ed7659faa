/**
 * Proof of ownership at delete time. A state file is only a file: edited by hand, copied from
 * another machine, shipped in a repository. Before `down` deletes a resource the state calls
 * `created`, the resource itself must show it is the stack's own: the name the stack's naming
 * gives, an ARN in the state's account and region, and the tag `ecs-ha:stack=<stack>` (or, for
 * what cannot carry tags, a parent that does). Anything else is skipped and reported.
 */
import { STACK_TAG_KEY } from '../config.js';
import type { ResourceRecord, StateStore } from '../state/store.js';
import type { Step, StepContext } from './step.js';

export type Ownership =
  /** Provably the stack's: delete it. */
  | { kind: 'ours' }
  /** The record is the stack's to check, and the resource no longer exists. */
  | { kind: 'gone' }
  /** Not provably the stack's: never deleted. */
  | { kind: 'not-ours'; reason: string };

export const OURS: Ownership = { kind: 'ours' };
export const GONE: Ownership = { kind: 'gone' };

/** The first problem found decides; none means the resource is the stack's. */
export function judge(...problems: Array<string | undefined | false>): Ownership {
  const reason = problems.find((problem): problem is string => typeof problem === 'string');
  return reason ? { kind: 'not-ours', reason } : OURS;
}

/** Where the state says the stack lives. */
export interface StackHome {
  account: string;
  region: string;
}

/**
 * What is wrong with an ARN for this stack: not an ARN, or in another account or region (IAM
 * ARNs name no region). Undefined when it is fine or there is none.
 */
export function arnProblem(arn: string | undefined, home: StackHome): string | undefined {
  if (arn === undefined) return undefined;
  const parts = arn.split(':');
  if (parts.length < 6 || parts[0] !== 'arn') return `"${arn}" is not an ARN`;
  const [, , service, region, account] = parts;
  if (account !== home.account) return `its ARN ${arn} is in account ${account || '(none)'}, not the stack's account ${home.account}`;
  if (service !== 'iam' && region !== home.region) return `its ARN ${arn} is in region ${region || '(none)'}, not the stack's region ${home.region}`;
  return undefined;
}

/** Undefined when the name is the one the stack's naming gives. */
export function nameProblem(actual: string | undefined, expected: string | readonly string[], what = 'name'): string | undefined {
  const allowed = typeof expected === 'string' ? [expected] : expected;
  if (actual !== undefined && allowed.includes(actual)) return undefined;
  return `its ${what} is ${actual === undefined ? 'unknown' : `"${actual}"`}, not ${allowed.map((name) => `"${name}"`).join(' or ')} as stack names it`;
}

export function tagProblem(tagged: boolean, stack: string): string | undefined {
  return tagged ? undefined : `it does not carry the tag ${STACK_TAG_KEY}=${stack}`;
}

/** `arn:…:service/cluster/name` → `name`; a plain name stays as it is. */
export function lastSegment(ref: string): string {
  return ref.startsWith('arn:') ? (ref.split(/[/:]/).pop() ?? ref) : ref;
}

/** The ARN-shaped id of a record, when its id is one (load balancers, target groups, listeners, task definitions). */
export function recordArns(record: ResourceRecord): string[] {
  return [record.id, record.arn].filter((value): value is string => typeof value === 'string' && value.startsWith('arn:'));
}

/** Checks on the record alone, made before any call about the resource, so a foreign ARN is never sent. */
export function recordProblem(record: ResourceRecord, home: StackHome): string | undefined {
  for (const arn of recordArns(record)) {
    const problem = arnProblem(arn, home);
    if (problem) return problem;
  }
  return undefined;
}

export type Disposition = 'deleted' | 'already gone' | 'skipped' | 'kept';

/** What `down` did with one recorded resource. */
export interface Removal {
  key: string;
  id: string;
  disposition: Disposition;
  /** Why it was skipped. */
  reason?: string;
}

/**
 * Before any call of the destroy phase: a created record whose ARN is in another account or region
 * is skipped and forgotten at once, so that no step (nor a lookup of a step that reads another's
 * record) ever sends that ARN anywhere.
 */
export function screenForeignRecords(state: StateStore, notice: (message: string) => void): Removal[] {
  const home = { account: state.account, region: state.region };
  const removals: Removal[] = [];
  for (const [key, record] of state.entries()) {
    if (record.origin !== 'created') continue;
    const problem = recordProblem(record, home);
    if (!problem) continue;
    notice(`skipped ${key} ${record.id}: not provably this stack's: ${problem}; it was left as it is`);
    state.forget(key);
    removals.push({ key, id: record.id, disposition: 'skipped', reason: problem });
  }
  return removals;
}

/**
 * Runs a step's destroy only on what is provably the stack's. A record that is not is skipped,
 * forgotten and reported; the stack's own resource is then looked for by name and tag (a record
 * edited to point elsewhere must not leave the stack's real one behind) and removed if found.
 */
export async function destroyProvenOwn(step: Step, ctx: StepContext): Promise<{ summary: string; removals: Removal[] }> {
  const key = step.id;
  const removals: Removal[] = [];
  const summaries: string[] = [];
  for (let attempt = 0; attempt < 2; attempt++) {
    const record = ctx.state.get(key);
    if (!record) break;
    if (record.origin === 'adopted' || !step.proveOwnership) {
      summaries.push(await step.destroy(ctx));
      removals.push({ key, id: record.id, disposition: record.origin === 'adopted' ? 'kept' : 'deleted' });
      break;
    }
    const ownership = await step.proveOwnership(ctx, record);
    if (ownership.kind === 'ours') {
      summaries.push(await step.destroy(ctx));
      removals.push({ key, id: record.id, disposition: 'deleted' });
      break;
    }
    ctx.state.forget(key);
    if (ownership.kind === 'gone') {
      summaries.push(`${step.title} ${record.id} was already gone`);
      removals.push({ key, id: record.id, disposition: 'already gone' });
      break;
    }
    ctx.notice(`skipped ${step.title} ${record.id}: not provably this stack's: ${ownership.reason}; it was left as it is`);
    summaries.push(`skipped ${step.title} ${record.id} (not provably this stack's)`);
    removals.push({ key, id: record.id, disposition: 'skipped', reason: ownership.reason });
    if (attempt === 0) await step.discover(ctx);
  }
  return { summary: summaries.join('; ') || `no ${step.title} recorded`, removals };
}
