import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AwsClients, type AwsSettings } from '../aws/clients.js';
import { realClock } from '../clock.js';
import { validateRegion, validateStackName } from '../config.js';
import { OperationError, UsageError } from '../errors.js';
import { packageRoot } from '../packageRoot.js';
import { ensureEmulator, LOCAL_ACCOUNT, LOCAL_CREDENTIALS, LOCAL_REGION, runningEmulator, stopEmulator, type EmulatorInfo } from '../local/emulator.js';
import { spawnRunner } from '../process/runner.js';
import type { Session } from '../session.js';
import { statePath } from '../state/store.js';
import { canAnimate, createReporter } from '../ui/reporter.js';

/** Options every command takes. */
export interface CommonOptions {
  stack: string;
  region?: string;
  profile?: string;
  endpointUrl?: string;
  stateDir: string;
  json?: boolean;
  local?: boolean;
  trace?: string;
}


/** The app folder shipped with the package. */
export const BUNDLED_APP_DIR = join(packageRoot(), 'container');

/** Checks the common options; throws UsageError before any AWS call. */
export function validateCommon(options: CommonOptions): void {
  validateStackName(options.stack);
  if (options.region !== undefined) validateRegion(options.region);
  if (options.endpointUrl !== undefined && !/^https?:\/\/[^\s/]+/.test(options.endpointUrl)) {
    throw new UsageError(`invalid --endpoint-url "${options.endpointUrl}": expected http(s)://host[:port]`);
  }
  if (options.local && options.region !== undefined && options.region !== LOCAL_REGION) {
    throw new UsageError(`invalid --region "${options.region}" with --local: the local emulator answers for ${LOCAL_REGION} only`, 'leave out --region with --local');
  }
  if (options.local && options.endpointUrl) {
    throw new UsageError('--local and --endpoint-url cannot be used together: --local starts its own emulator');
  }
}

/**
 * The account and last write of the stack's state file when it is one of the local emulator's (a
 * state file of an AWS account never is: opening it is refused for its account); undefined when
 * there is none, or a corrupt one (refused later, with its own message).
 */
function localStateFile(stateDir: string, stack: string): { updatedAt?: string } | undefined {
  try {
    const file = JSON.parse(readFileSync(statePath(stateDir, stack), 'utf8')) as { updatedAt?: string; account?: string };
    return file.account === LOCAL_ACCOUNT ? file : undefined;
  } catch {
    return undefined;
  }
}

/**
 * True when the stack's state file was last written before the running local emulator started: it
 * describes the world of an emulator that has stopped since (its resources lived in its memory).
 */
export function localStateIsStale(stateDir: string, stack: string, emulator: { startedAt: string }): boolean {
  const updatedAt = localStateFile(stateDir, stack)?.updatedAt;
  return typeof updatedAt === 'string' && Date.parse(updatedAt) < Date.parse(emulator.startedAt);
}

/**
 * For a plan of a stack that has no state yet: a fresh local AWS in a temporary folder of its own,
 * owned by this process (killed before `close`, it stops itself); `close` stops it and removes the folder.
 */
async function throwawayEmulator(
  stack: string,
  start: (stateDir: string, ownedByThisProcess: boolean) => Promise<{ info: EmulatorInfo; started: boolean }>,
  onNotice: (text: string) => void,
): Promise<{ emulator: { info: EmulatorInfo; started: boolean }; close: () => Promise<void> }> {
  const scratch = mkdtempSync(join(tmpdir(), 'ecs-ha-plan-'));
  const close = async (): Promise<void> => {
    await stopEmulator(scratch, stack, onNotice);
    rmSync(scratch, { recursive: true, force: true });
  };
  try {
    return { emulator: await start(scratch, true), close };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * How a --local command gets its local AWS: found only (false); started unless it runs (the app
 * folder it runs); or, for a plan, found, else a fresh one in a folder of its own when the stack
 * has no state yet (`throwaway`), which the session's `close` stops and removes.
 */
export type EmulatorStart = false | { appDir: string; throwaway?: boolean };

/** Builds the session: the local AWS for --local (see EmulatorStart), the clients, the reporter. */
export async function openSession(options: CommonOptions, signal: AbortSignal, start: EmulatorStart): Promise<Session> {
  const reporter = createReporter({ json: Boolean(options.json), local: Boolean(options.local), interactive: canAnimate(process.stderr) });
  const settings: AwsSettings = {
    region: options.region,
    profile: options.profile,
    endpointUrl: options.endpointUrl ?? process.env.AWS_ENDPOINT_URL,
    tracePath: options.trace ?? process.env.ECS_HA_TRACE,
    onTraceFailure: (message) => reporter.warn(message),
  };
  let close: (() => Promise<void>) | undefined;
  if (options.local) {
    const onNotice = (text: string): void => reporter.warn(text);
    const startIn = (stateDir: string, appDir: string, ownedByThisProcess = false) =>
      ensureEmulator(stateDir, options.stack, { appDir, requirementsDir: BUNDLED_APP_DIR, clock: realClock, onNotice, onProgress: (text) => reporter.info(text), ownedByThisProcess });
    const running = await runningEmulator(options.stateDir, options.stack, onNotice);
    // The local stack lived in the memory of an emulator that is gone: a new one would not have it.
    const stateLeft = !running && localStateFile(options.stateDir, options.stack) !== undefined;
    let emulator: { info: EmulatorInfo | undefined; started: boolean } = { info: running, started: false };
    if (!running && start && !stateLeft) {
      if (start.throwaway) {
        // A new stack: what up --local would make, seen in an emulator that holds nothing yet.
        ({ emulator, close } = await throwawayEmulator(options.stack, (stateDir, owned) => startIn(stateDir, start.appDir, owned), onNotice));
        reporter.info(`no local AWS emulator runs for stack "${options.stack}": planning against a fresh one, stopped again after the plan`);
      } else {
        emulator = await startIn(options.stateDir, start.appDir);
      }
    }
    const info = emulator.info;
    if (!info) {
      throw new OperationError(
        stateLeft
          ? `the local AWS emulator of stack "${options.stack}" is not running: the state file ${statePath(options.stateDir, options.stack)} points at resources it held, which are gone with it`
          : `the local AWS emulator for stack "${options.stack}" is not running, so there is no local stack`,
        stateLeft
          ? `run \`ecs-ha down --local --stack ${options.stack}\` (it discards that state), then \`ecs-ha up --local --stack ${options.stack}\``
          : `run \`ecs-ha up --local --stack ${options.stack}\` first`,
      );
    }
    if (emulator.started && !close) reporter.info(`started the local AWS emulator (moto and the local data plane) on ${info.endpointUrl}`);
    if (localStateIsStale(options.stateDir, options.stack, info)) {
      throw new OperationError(
        `the local AWS emulator of stack "${options.stack}" was restarted: the state file ${statePath(options.stateDir, options.stack)} points at resources of the emulator before it, which are gone`,
        `run \`ecs-ha down --local --stack ${options.stack}\` (it discards that state), then \`ecs-ha up --local --stack ${options.stack}\``,
      );
    }
    Object.assign(settings, {
      region: LOCAL_REGION,
      profile: undefined,
      credentials: LOCAL_CREDENTIALS,
      endpointUrl: info.endpointUrl,
    });
  }
  return {
    stack: options.stack,
    stateDir: options.stateDir,
    local: Boolean(options.local),
    ...(settings.endpointUrl ? { emulatorEndpoint: settings.endpointUrl } : {}),
    json: Boolean(options.json),
    aws: new AwsClients(settings),
    reporter,
    clock: realClock,
    runner: spawnRunner,
    signal,
    ...(close ? { close } : {}),
  };
}
