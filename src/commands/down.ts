import { rmSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import { parseInteger, type StackConfig } from '../config.js';
import { screenForeignRecords } from '../engine/ownership.js';
import { runPhase } from '../engine/run.js';
import { OperationError, UsageError } from '../errors.js';
import { LOCAL_ACCOUNT, LOCAL_REGION, runningEmulator, stopEmulator } from '../local/emulator.js';
import { acquireLock, readStateFile, statePath } from '../state/store.js';
import { ALL_STEPS } from '../steps/index.js';
import { abortOnInterrupt } from './interrupt.js';
import { BUNDLED_APP_DIR, localStateIsStale, openSession, validateCommon, type CommonOptions } from './session.js';
import { stackEngine, withStackState, type Session } from '../session.js';

export interface DownResult {
  stack: string;
  account: string;
  region: string;
  /** Where the resource list came from: the state file, or a search by tags and names. */
  source: 'state' | 'tags' | 'none';
  /** Deleted now: "key id". */
  deleted: string[];
  /** Recorded, the stack's to check, and no longer there. */
  alreadyGone: string[];
  /** Recorded as created but not provably the stack's (name, account, region, tag): left as it is. */
  skipped: Array<{ resource: string; reason: string }>;
  /** Adopted: never deleted. */
  kept: string[];
}

/** `down` needs only the names; these are the defaults `up` would have used. */
function teardownConfig(stack: string): StackConfig {
  return {
    stack,
    count: 0,
    cpu: 256,
    memory: 512,
    arch: 'x86_64',
    appVersion: '',
    appPort: 8080,
    listenerPort: 80,
    logRetentionDays: 7,
    appDir: BUNDLED_APP_DIR,
    skipDocker: true,
  };
}

/** Asks on a terminal; anywhere else (scripts, CI) it does not wait for input. */
export async function confirm(question: string): Promise<boolean> {
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await prompt.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    prompt.close();
  }
}

export interface DownOptions {
  yes: boolean;
  timeoutMs: number;
  concurrency?: number;
  /** Whether to ask before deleting: only on a terminal and without --yes. */
  ask: (question: string) => Promise<boolean>;
}

export async function runDown(session: Session, options: DownOptions): Promise<DownResult> {
  const { reporter } = session;
  return withStackState(session, 'down', async (state) => {
    const hadStateFile = state.exists;
    const engine = stackEngine(session, teardownConfig(session.stack), state, options);
    if (!hadStateFile) {
      reporter.info(`no state file for stack "${session.stack}"; looking for its resources by their tag ecs-ha:stack=${session.stack}`);
      await runPhase(engine, ALL_STEPS, 'discover');
    }
    // In teardown order, for the summary.
    const order = ALL_STEPS.map((step) => step.id as string).reverse();
    const recorded = state.entries().sort(([a], [b]) => order.indexOf(a) - order.indexOf(b));
    const toRemove = recorded.filter(([, record]) => record.origin === 'created');
    const result: DownResult = {
      stack: session.stack,
      account: state.account,
      region: state.region,
      source: hadStateFile ? 'state' : 'tags',
      deleted: [],
      alreadyGone: [],
      skipped: [],
      kept: [],
    };
    if (toRemove.length === 0) {
      state.remove();
      result.source = hadStateFile ? 'state' : 'none';
      result.kept = recorded.map(([key, record]) => `${key} ${record.id}`);
      return result;
    }
    const question = `Delete ${toRemove.length} resources of stack "${session.stack}" in account ${state.account} (${state.region})?`;
    if (!options.yes && !(await options.ask(question))) {
      throw new OperationError('cancelled: nothing was deleted', 'pass --yes to delete without asking');
    }
    const screened = screenForeignRecords(state, (message) => reporter.warn(message));
    const outcomes = await runPhase(engine, ALL_STEPS, 'destroy');
    if (screened.length > 0) {
      // A skipped record may have hidden the stack's own resource: find what is left by name and tag, and remove it.
      reporter.info(`looking for the stack's own resources that the skipped records named in their place`);
      await runPhase(engine, ALL_STEPS, 'discover');
      if (!state.isEmpty()) outcomes.push(...(await runPhase(engine, ALL_STEPS, 'destroy')));
    }
    const left = state.entries();
    if (left.length > 0) {
      throw new OperationError(`these resources are still recorded after down: ${left.map(([key]) => key).join(', ')}`, 'run `ecs-ha down` again');
    }
    state.remove();
    const removals = [...screened, ...outcomes.flatMap((outcome) => outcome.removals ?? [])].sort((a, b) => order.indexOf(a.key) - order.indexOf(b.key));
    for (const removal of removals) {
      const line = `${removal.key} ${removal.id}`;
      if (removal.disposition === 'deleted') result.deleted.push(line);
      else if (removal.disposition === 'already gone') result.alreadyGone.push(line);
      else if (removal.disposition === 'kept') result.kept.push(line);
      else result.skipped.push({ resource: line, reason: removal.reason ?? 'not provably this stack\'s' });
    }
    return result;
  });
}

export function renderDown(session: Session, result: DownResult): void {
  const { reporter } = session;
  if (session.json) {
    reporter.json(result);
    return;
  }
  if (result.deleted.length + result.alreadyGone.length + result.skipped.length === 0) {
    reporter.result(`Nothing to remove for stack "${result.stack}" in ${result.region}.`);
    for (const line of result.kept) reporter.result(`  kept          ${line} (adopted)`);
    return;
  }
  reporter.result(`Removed stack "${result.stack}" from ${result.region} (account ${result.account}):`);
  for (const line of result.deleted) reporter.result(`  deleted       ${line}`);
  for (const line of result.alreadyGone) reporter.result(`  already gone  ${line}`);
  for (const line of result.kept) reporter.result(`  kept          ${line} (adopted)`);
  for (const { resource, reason } of result.skipped) reporter.result(`  skipped       ${resource}: not provably this stack's: ${reason}`);
}

/** A cleanup script must notice that something recorded was left alone (exit 1), after seeing the result. */
export function skippedError(result: DownResult): OperationError | undefined {
  if (result.skipped.length === 0) return undefined;
  return new OperationError(
    `${result.skipped.length} recorded resource(s) were not provably stack "${result.stack}"'s and were left as they are: ${result.skipped.map((s) => s.resource).join(', ')}`,
    'check them yourself; the state file may have been edited or copied from elsewhere',
    { resultPrinted: true },
  );
}

export interface DownCliOptions extends CommonOptions {
  yes?: boolean;
  timeout: string;
  concurrency?: string;
}

/**
 * Removes the state file of a local stack whose emulator is gone, under the stack's lock; a state
 * file of an AWS account is refused (exit 2), never removed: its resources still run, and bill.
 */
/** Removes the state file of a local stack whose emulator is gone; true when there was one. */
function discardLocalState(stateDir: string, stack: string): boolean {
  const file = readStateFile(stateDir, stack);
  if (!file) return false;
  if (file.account !== LOCAL_ACCOUNT || file.region !== LOCAL_REGION) {
    throw new UsageError(
      `the state file ${statePath(stateDir, stack)} is of stack "${stack}" in AWS account ${file.account} (${file.region}), not of the local emulator: \`down --local\` leaves it alone`,
      `run \`ecs-ha down --stack ${stack}\` without --local to remove that stack from AWS`,
    );
  }
  const release = acquireLock(stateDir, stack, 'down', () => undefined);
  try {
    rmSync(statePath(stateDir, stack), { force: true });
  } finally {
    release();
  }
  return true;
}

/** `ecs-ha down`: safe in cleanup scripts — exits 0 when there is nothing to remove. */
export async function downAction(options: DownCliOptions): Promise<void> {
  validateCommon(options);
  const timeoutMs = parseInteger('--timeout', options.timeout, 1) * 1000;
  const concurrency = options.concurrency === undefined ? undefined : parseInteger('--concurrency', options.concurrency, 1);
  let session: Session | undefined;
  const interrupt = abortOnInterrupt(() => session?.reporter);
  try {
    const warn = (text: string) => process.stderr.write(`warning: ${text}\n`);
    const emulator = options.local ? await runningEmulator(options.stateDir, options.stack, warn) : undefined;
    if (options.local && (!emulator || localStateIsStale(options.stateDir, options.stack, emulator))) {
      // The emulator keeps its resources in memory: with it stopped (or restarted since the state
      // was written), nothing of that state is left to remove. Only ever a local stack's state.
      const discarded = discardLocalState(options.stateDir, options.stack);
      const stopped = emulator !== undefined && (await stopEmulator(options.stateDir, options.stack));
      if (discarded || stopped) {
        process.stderr.write(`${[discarded ? 'discarded the state of an earlier local emulator' : '', stopped ? 'stopped the local AWS emulator' : ''].filter(Boolean).join(', and ')}\n`);
      }
      session = await openSession({ ...options, local: false }, interrupt.signal, false);
      renderDown(session, { stack: options.stack, account: 'local', region: 'local emulator', source: 'none', deleted: [], alreadyGone: [], skipped: [], kept: [] });
      return;
    }
    session = await openSession(options, interrupt.signal, false);
    const interactive = Boolean(process.stdin.isTTY) && !options.json;
    const result = await runDown(session, {
      yes: Boolean(options.yes) || !interactive,
      timeoutMs,
      ...(concurrency ? { concurrency } : {}),
      ask: confirm,
    });
    session.reporter.stop();
    if (options.local && (await stopEmulator(options.stateDir, options.stack))) session.reporter.info('stopped the local AWS emulator');
    renderDown(session, result);
    const skipped = skippedError(result);
    if (skipped) throw skipped;
  } finally {
    session?.reporter.stop();
    interrupt.dispose();
  }
}
