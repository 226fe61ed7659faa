/**
 * What a command runs with, and the stack-state helpers that verify, chaos and the commands share:
 * below the command layer, so that the layers only point down.
 */
import type { AwsClients } from './aws/clients.js';
import type { Clock } from './clock.js';
import { resourceNames, type StackConfig } from './config.js';
import type { Engine } from './engine/run.js';
import { OperationError } from './errors.js';
import { folderExposure } from './fs/safe.js';
import type { CommandRunner } from './process/runner.js';
import { acquireLock, readOwnStateFile, statePath, StateStore, type StateFile } from './state/store.js';
import type { Reporter } from './ui/reporter.js';

/** What a command runs with; tests build one with mocks and a fake clock. */
export interface Session {
  stack: string;
  stateDir: string;
  local: boolean;
  /** Talking to an endpoint other than AWS's own (--local or an override); whether it runs containers is seen from what it answers. */
  emulatorEndpoint?: string;
  json: boolean;
  aws: AwsClients;
  reporter: Reporter;
  clock: Clock;
  runner: CommandRunner;
  signal: AbortSignal;
  /** What the command must undo when it ends, however it ends (a plan's throwaway local emulator). */
  close?: () => Promise<void>;
}

/**
 * Checks credentials and region, takes the stack's lock, opens its state (refusing one of another
 * account or region) and runs `work` with it; the lock is released however `work` ends.
 */
export async function withStackState<T>(session: Session, command: string, work: (state: StateStore) => Promise<T>): Promise<T> {
  const region = await session.aws.region();
  const account = await session.aws.account();
  const exposure = folderExposure(session.stateDir);
  if (exposure) {
    session.reporter.warn(`the state folder ${session.stateDir} is not private to you: ${exposure}; whoever can write there can change what \`ecs-ha down\` deletes (chmod 700 it)`);
  }
  const release = acquireLock(session.stateDir, session.stack, command, (stale) =>
    session.reporter.warn(`took over a stale lock left by pid ${stale.pid} (\`ecs-ha ${stale.command}\`, ${stale.startedAt})`),
  );
  try {
    return await work(StateStore.open(session.stateDir, session.stack, account, region));
  } finally {
    release();
  }
}

/** The stack's state for a command that only reads it (no lock): refuses another account or region. */
export async function readStackState(session: Session): Promise<StateFile> {
  const region = await session.aws.region();
  const account = await session.aws.account();
  const file = readOwnStateFile(session.stateDir, session.stack, account, region);
  if (!file) throw noStateFile(session);
  return file;
}

/** For the commands that need a stack `up` built: there is none under this name and folder. */
export function noStateFile(session: Session): OperationError {
  return new OperationError(
    `there is no state file for stack "${session.stack}" (${statePath(session.stateDir, session.stack)})`,
    `run \`ecs-ha up --stack ${session.stack}\` first, or pass the --stack and --state-dir it used`,
  );
}

/** The engine that runs the steps of this session's stack. */
export function stackEngine(session: Session, config: StackConfig, state: StateStore, options: { timeoutMs: number; concurrency?: number }): Engine {
  return {
    config,
    names: resourceNames(config.stack),
    aws: session.aws,
    state,
    clock: session.clock,
    runner: session.runner,
    reporter: session.reporter,
    waitTimeoutMs: options.timeoutMs,
    deadline: session.clock.now() + options.timeoutMs,
    signal: session.signal,
    ...(options.concurrency ? { concurrency: options.concurrency } : {}),
  };
}
