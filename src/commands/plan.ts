/**
 * `ecs-ha plan` and `up --dry-run`: what `up` with the same options would create, update, adopt or
 * keep, resource by resource, found with read calls only, and what the stack it leaves would cost.
 */
import type { ReleaseRequest, StackConfig } from '../config.js';
import { estimateCost, formatUsd, PRICE_TABLE, type CostEstimate } from '../cost/estimate.js';
import { hasDrift, refuseMutatingCalls, runPlan, type PlanAction } from '../engine/plan.js';
import { stackEngine, type Session } from '../session.js';
import { StateStore } from '../state/store.js';
import { ALL_STEPS } from '../steps/index.js';
import { interruptSignal } from './interrupt.js';
import { openSession } from './session.js';
import { configForRun, parseUpOptions, releaseRequest, type UpOptions } from './up.js';

export interface PlanResult {
  stack: string;
  region: string;
  account: string;
  /** The state file the plan read (never written); `exists` false: a new stack. */
  state: { path: string; exists: boolean };
  /** One entry per resource, in the order `up` goes. */
  changes: Array<{ step: string; action: PlanAction; resource: string; detail?: string }>;
  /** How many changes of each action. */
  summary: Partial<Record<PlanAction, number>>;
  /** What the stack `up` would leave costs on AWS: an estimate from the price table in the code. */
  cost: {
    perHour: number;
    perMonth: number;
    currency: 'USD';
    /** The region and month the prices were taken for. */
    prices: { region: string; takenOn: string };
    items: CostEstimate['items'];
    basis: string;
  };
  /** True when `up` would change something (exit 4). */
  drift: boolean;
}

/** Plans `up` of `requested` on the session's stack: read calls only, nothing written. */
export async function planStack(
  session: Session,
  requested: StackConfig,
  options: { timeoutMs: number; concurrency?: number; release?: ReleaseRequest },
): Promise<PlanResult> {
  // Before the first call: a plan that tried to write would be stopped, not merely noticed.
  refuseMutatingCalls(session.aws);
  const region = await session.aws.region();
  const account = await session.aws.account();
  // Opened for reading only (no lock, no folder made): the plan foresees into a PlannedState of its own.
  const state = StateStore.open(session.stateDir, session.stack, account, region);
  const config = await configForRun(session, requested, state, options.release);
  const { plans, state: planned } = await runPlan(stackEngine(session, config, state, options), ALL_STEPS);
  const changes = plans.flatMap(({ step, changes }) => changes.map((change) => ({ step, ...change })));
  const summary: PlanResult['summary'] = {};
  for (const { action } of changes) summary[action] = (summary[action] ?? 0) + 1;
  const subnets = planned.get('network')?.details?.subnetIds;
  // The count the service would run once up is done: a running one keeps its own unless --count is given.
  const tasks = planned.get('service')?.details?.desiredCount;
  const estimate = estimateCost({ ...config, count: typeof tasks === 'number' ? tasks : config.count, zones: Array.isArray(subnets) ? subnets.length : 2, region });
  return {
    stack: config.stack,
    region,
    account,
    state: { path: state.path, exists: state.exists },
    changes,
    summary,
    cost: {
      perHour: estimate.perHour,
      perMonth: estimate.perMonth,
      currency: 'USD',
      prices: { region: PRICE_TABLE.region, takenOn: PRICE_TABLE.takenOn },
      items: estimate.items,
      basis: estimate.basis,
    },
    drift: hasDrift(plans),
  };
}

const SUMMARY_ORDER: PlanAction[] = ['create', 'update', 'delete', 'adopt', 'unknown', 'keep', 'none'];

/** The plan as lines: a header, one line per resource, the counts, the cost, what to do next (the reporter adds --local to the commands it names). */
export function formatPlan(result: PlanResult, options: { local: boolean }): string[] {
  const resourceWidth = Math.min(48, Math.max(...result.changes.map((change) => change.resource.length)));
  const rows = result.changes.map(({ action, resource, detail }) => `  ${action.padEnd(7)}  ${detail ? `${resource.padEnd(resourceWidth)}  ${detail}` : resource}`);
  const counts = SUMMARY_ORDER.filter((action) => result.summary[action]).map((action) => `${result.summary[action]} ${action}`);
  const where = options.local ? 'on AWS this stack would cost' : 'once up, the stack costs';
  return [
    `Plan for stack "${result.stack}" in ${result.region} (account ${result.account}): what \`ecs-ha up\` would do, found with read calls only`,
    `State:   ${result.state.path}${result.state.exists ? '' : ' (none yet: a new stack)'}`,
    ...rows,
    `Changes: ${counts.join(', ')}`,
    `Cost:    ${where} about ${formatUsd(result.cost.perHour)}/hour (${formatUsd(result.cost.perMonth)}/month): ${result.cost.basis}`,
    result.drift ? `Next:    \`ecs-ha up\` with the same options makes these changes (plan exits 4 while there are changes)` : 'Next:    nothing to change: `ecs-ha up` with the same options would leave every resource as it is',
  ];
}

export function renderPlan(session: Session, result: PlanResult): void {
  if (session.json) {
    session.reporter.json(result);
    return;
  }
  session.reporter.result(formatPlan(result, { local: session.local }).join('\n'));
}

/**
 * `ecs-ha plan` (and `up --dry-run`): `up`'s options, validated as `up` validates them; returns
 * the result, whose `drift` the CLI turns into exit 4.
 */
export async function planAction(options: UpOptions): Promise<PlanResult> {
  const { config, timeoutMs, concurrency } = parseUpOptions(options);
  let session: Session | undefined;
  const interrupt = interruptSignal(() => session?.reporter.warn('interrupted: finishing the reads in flight (nothing was changed)'));
  try {
    // A plan leaves no process behind: the stack's running emulator, or for a new stack a throwaway one.
    session = await openSession(options, interrupt.signal, { appDir: config.appDir, throwaway: true });
    const result = await planStack(session, config, { timeoutMs, ...(concurrency ? { concurrency } : {}), release: releaseRequest(options) });
    session.reporter.stop();
    renderPlan(session, result);
    return result;
  } finally {
    session?.reporter.stop();
    await session?.close?.();
    interrupt.dispose();
  }
}
