/**
 * `ecs-ha plan` (and `up --dry-run`): what `up` would create, update, adopt or keep, step by step,
 * found out with read calls only. Each step's `plan` makes the reads its `ensure` makes and the same
 * decision, without the writes; what `ensure` would record, the plan records in a `PlannedState`
 * that is never saved, so that a later step plans against what the earlier ones would leave.
 */
import { attributeCallsTo, AwsClients, isMutatingOperation } from '../aws/clients.js';
import { InterruptedError, OperationError } from '../errors.js';
import type { Origin, ResourceRecord, StateStore } from '../state/store.js';
import { runGraph } from './graph.js';
import { explainStepError, gatedByEnvironmentChecks, stepContext, type Engine } from './run.js';
import type { Step, StepContext, StepId } from './step.js';

/**
 * create: up makes it. update: up changes it in place (or registers a new revision). delete: up
 * removes it (`--autoscale off`). adopt: it exists without the stack's tag, and up starts using it
 * (`down` keeps it). keep: up leaves it as it is. none: the step has nothing to make with these
 * options. unknown: the step cannot tell without acting (it has no plan), so it counts as a change.
 */
export type PlanAction = 'create' | 'update' | 'delete' | 'adopt' | 'keep' | 'none' | 'unknown';

export interface PlannedChange {
  action: PlanAction;
  /** What the change is about, as a person names it: "log group /ecs/demo". */
  resource: string;
  /** What up would do, or why it does nothing. */
  detail?: string;
}

/** The actions that mean `up` would do something: `plan` exits 4 (drift) when any change has one. */
export const CHANGING_ACTIONS: ReadonlySet<PlanAction> = new Set(['create', 'update', 'delete', 'adopt', 'unknown']);

/** What a read-only step function reads the state through: a StateStore is one, and so is a PlannedState. */
export type StateView = Pick<StateStore, 'get' | 'require' | 'account' | 'region' | 'stack'>;

/** A step context that can only read the state (no `record`, no `forget`). Every StepContext is one. */
export type ReadContext = Omit<StepContext, 'state' | 'prefetched'> & { state: StateView };

/** What a step's `plan` gets: its state is the recorded one, with what the earlier steps' plans foresaw on top. */
export type PlanContext = Omit<ReadContext, 'state'> & { state: PlannedState };

/**
 * The recorded state with what the plan foresees on top; never saved. An earlier step that would
 * create its resource leaves a placeholder record for the later steps (an ID AWS has not given
 * yet): a later step compares with it (so a listener to point at a new target group is an update)
 * but never sends it to AWS; `isNew` tells it apart.
 */
export class PlannedState implements StateView {
  private readonly foreseen = new Map<string, ResourceRecord>();
  private readonly created = new Set<string>();

  constructor(private readonly recorded: StateView) {}

  get account(): string {
    return this.recorded.account;
  }
  get region(): string {
    return this.recorded.region;
  }
  get stack(): string {
    return this.recorded.stack;
  }

  get(key: string): ResourceRecord | undefined {
    return this.foreseen.get(key) ?? this.recorded.get(key);
  }

  require(key: string): ResourceRecord {
    const record = this.get(key);
    if (!record) throw new OperationError(`internal: the plan needs "${key}", which no earlier step planned`);
    return record;
  }

  /** What `up` would record for `key`: a resource that exists (found, adopted or kept). */
  foresee(key: string, record: ResourceRecord): void {
    this.foreseen.set(key, record);
  }

  /**
   * `up` would create `key`'s resource. `known`: its record when it can be told before it exists
   * (a log group's name and ARN); otherwise later steps see a placeholder naming it.
   */
  foreseeNew(key: string, title: string, known?: ResourceRecord): void {
    this.created.add(key);
    const placeholder = `(new ${title})`;
    this.foreseen.set(key, known ?? { id: placeholder, arn: placeholder, origin: 'created' });
  }

  /** True when `up` would create `key`'s resource: its record may be a placeholder, not to be sent to AWS. */
  isNew(key: string): boolean {
    return this.created.has(key);
  }
}

/**
 * What `up` does with a resource of the stack's name that exists. When the state has it already:
 * nothing. When not, it records it: as the stack's own when it carries the stack tag (a run that
 * lost its state made it), else as adopted (used as it is, never deleted by `down`).
 */
export function existingResource(resource: string, inState: boolean, origin: Origin, detail?: string): PlannedChange {
  const notes: string[] = detail ? [detail] : [];
  if (!inState && origin === 'adopted') return { action: 'adopt', resource, detail: [...notes, 'not created by ecs-ha: used as it is, and `down` keeps it'].join('; ') };
  if (!inState) notes.push('carries the stack tag but is not in the state file: up records it');
  else if (origin === 'adopted') notes.push('adopted: `down` keeps it');
  return { action: 'keep', resource, ...(notes.length > 0 ? { detail: notes.join('; ') } : {}) };
}

const guarded = new WeakSet<AwsClients>();

/**
 * From now on every client of `aws` refuses a mutating call before it is sent (the trace still
 * shows the attempt, with its error): a plan that would write anything is a bug, stopped here
 * rather than found in the account.
 */
export function refuseMutatingCalls(aws: AwsClients): void {
  if (guarded.has(aws)) return;
  guarded.add(aws);
  // Every client getter of the factory, so a client added later is guarded too.
  for (const name of Object.getOwnPropertyNames(AwsClients.prototype)) {
    const getter = Object.getOwnPropertyDescriptor(AwsClients.prototype, name)?.get;
    if (!getter) continue;
    const client = getter.call(aws) as { middlewareStack?: { add(middleware: unknown, options: Record<string, unknown>): void } };
    client.middlewareStack?.add(
      (next: (args: unknown) => Promise<unknown>, context: { clientName?: string; commandName?: string }) => (args: unknown) => {
        const operation = (context.commandName ?? 'Unknown').replace(/Command$/, '');
        if (!isMutatingOperation(operation)) return next(args);
        const service = (context.clientName ?? 'Unknown').replace(/Client$/, '');
        throw new OperationError(`internal: a plan makes read calls only, but it asked for ${service} ${operation}; the call was not sent`, 'this is a bug of ecs-ha: please report it');
      },
      { step: 'initialize', name: 'ecsHaPlanReadOnly', priority: 'low' },
    );
  }
}

export interface StepPlan {
  step: StepId;
  title: string;
  changes: PlannedChange[];
}

/** A step that has no `plan`: it cannot tell without acting, so it counts as a change. */
function unplannable(step: Step): PlannedChange {
  return { action: 'unknown', resource: step.title, detail: 'this step cannot tell without acting (it has no plan); up runs it' };
}

export function describeChange(change: PlannedChange): string {
  return `${change.action} ${change.resource}${change.detail ? `: ${change.detail}` : ''}`;
}

/**
 * Runs every step's plan over the step graph, in the order `up` runs `ensure` (the environment
 * checks first: a missing default VPC or Docker stops it with their exit code), with read calls
 * only. Returns the plans in the order of `steps`, and the state as `up` would leave it.
 */
export async function runPlan(engine: Engine, steps: readonly Step[]): Promise<{ plans: StepPlan[]; state: PlannedState }> {
  refuseMutatingCalls(engine.aws);
  const state = new PlannedState(engine.state);
  const planned = new Map<StepId, PlannedChange[]>();
  await runGraph(
    gatedByEnvironmentChecks(steps),
    async (step) => {
      engine.reporter.start(step.id, `planning ${step.title}`);
      try {
        const ctx: PlanContext = { ...stepContext(engine, step), state };
        const plan = step.plan?.bind(step);
        const result = plan ? await attributeCallsTo(step.id, () => plan(ctx)) : unplannable(step);
        const changes = Array.isArray(result) ? result : [result];
        planned.set(step.id, changes);
        engine.reporter.succeed(step.id, changes.map(describeChange).join('; '));
      } catch (error) {
        const explained = explainStepError(step, error);
        engine.reporter.fail(step.id, explained.message.startsWith(step.title) ? explained.message : `${step.title}: ${explained.message}`);
        throw explained;
      }
    },
    { ...(engine.concurrency ? { concurrency: engine.concurrency } : {}), ...(engine.signal ? { signal: engine.signal } : {}) },
  );
  if (engine.signal?.aborted) throw new InterruptedError('interrupted: the plan was not finished (it changes nothing)');
  return { plans: steps.map((step) => ({ step: step.id, title: step.title, changes: planned.get(step.id) ?? [] })), state };
}

/** True when `up` would change something. */
export function hasDrift(plans: readonly StepPlan[]): boolean {
  return plans.some((plan) => plan.changes.some((change) => CHANGING_ACTIONS.has(change.action)));
}
