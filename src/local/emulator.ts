/**
 * `--local`: the local AWS, one background process per stack (src/local/plane/main.ts) that runs
 * moto for the control plane and ecs-ha's own data plane for tasks, load balancers and Cloud Map
 * instances. This side starts it, finds it, and stops it, and cleans up after one that was killed.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { realClock, type Clock } from '../clock.js';
import { packageRoot } from '../packageRoot.js';
import { EnvironmentError, UsageError } from '../errors.js';
import { isProcessAlive } from '../process/alive.js';
import type { PlaneArguments, PlaneInfo } from './plane/main.js';
import { ensurePrivateDir, openForAppend } from '../fs/safe.js';
import { killRecorded } from './plane/runtime.js';
import { processInfo } from './plane/taskPids.js';
import { resolvePython } from './python.js';

/** The emulator's fixed identity: moto answers for this account with any credentials. */
export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT = '123456789012';
export const LOCAL_CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' };
/** Scales the data plane's waits (health checks, draining, stop timeouts); 1 = what AWS takes. */
export const TIME_SCALE_VARIABLE = 'ECS_HA_LOCAL_TIME_SCALE';

export type EmulatorInfo = PlaneInfo;

/** The plane's entry point as built (the build keeps this path; tests run the built plane too). */
const PLANE_MAIN = join(packageRoot(), 'dist', 'local', 'plane', 'main.js');

function paths(stateDir: string, stack: string) {
  return {
    info: join(stateDir, `${stack}.emulator.json`),
    log: join(stateDir, `${stack}.emulator.log`),
    tasks: join(stateDir, `${stack}.tasks.json`),
  };
}

/** The info file, or why it cannot be trusted (and so nothing it names is signalled). */
function readInfo(path: string): { info?: PlaneInfo; problem?: string } {
  let parsed: Partial<PlaneInfo>;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<PlaneInfo>;
  } catch (error) {
    // Missing, or cut short by a crash.
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? {} : { problem: 'it is not valid JSON' };
  }
  if (!Number.isInteger(parsed.pid) || (parsed.pid as number) <= 1) return { problem: `its pid ${JSON.stringify(parsed.pid)} is not a process id (a positive integer above 1)` };
  if (typeof parsed.endpointUrl !== 'string' || !/^http:\/\/127\.0\.0\.1:\d+$/.test(parsed.endpointUrl)) {
    return { problem: `its endpoint ${JSON.stringify(parsed.endpointUrl)} is not a loopback URL (http://127.0.0.1:<port>)` };
  }
  return { info: parsed as PlaneInfo };
}

/** The plane answers its own ping with its pid: a reused port or pid is not taken for it. */
async function answers(info: PlaneInfo): Promise<boolean> {
  try {
    const response = await fetch(`${info.endpointUrl}/_ecs-ha/ping`, { signal: AbortSignal.timeout(3_000) });
    return response.ok && ((await response.json()) as { pid?: number }).pid === info.pid;
  } catch {
    return false;
  }
}

/** Kills what a dead plane left: its moto (if it is still moto) and its task processes. */
async function cleanUpAfter(stateDir: string, stack: string, info: PlaneInfo | undefined): Promise<void> {
  const files = paths(stateDir, stack);
  // Only the moto this plane started: its command line names moto.server and the recorded port.
  const motoPort = info ? /:(\d+)$/.exec(info.motoUrl ?? '')?.[1] : undefined;
  const motoCommand = info && Number.isInteger(info.motoPid) && info.motoPid > 1 ? (await processInfo(info.motoPid))?.command : undefined;
  if (info && motoPort && motoCommand?.includes('moto.server') && motoCommand.includes(motoPort)) {
    try {
      process.kill(info.motoPid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  await killRecorded(files.tasks);
  rmSync(files.info, { force: true });
}

/**
 * The local AWS this stack uses, if it is running; cleans up after a dead one. An info file that
 * names something else (a bad pid, a remote endpoint, a process that does not answer as the plane)
 * is never acted on: nothing is signalled, and `onNotice` is told what was found.
 */
export async function runningEmulator(stateDir: string, stack: string, onNotice: (text: string) => void = () => undefined): Promise<EmulatorInfo | undefined> {
  const files = paths(stateDir, stack);
  if (!existsSync(files.info) && !existsSync(files.tasks)) return undefined;
  const { info, problem } = readInfo(files.info);
  if (info && isProcessAlive(info.pid) && (await answers(info))) return info;
  if (problem) onNotice(`ignored ${files.info}: ${problem}; no process it names was signalled`);
  else if (info && isProcessAlive(info.pid)) onNotice(`ignored ${files.info}: process ${info.pid} does not answer as the local AWS of stack "${stack}" on ${info.endpointUrl}; it was not signalled`);
  await cleanUpAfter(stateDir, stack, info);
  return undefined;
}

/** The data plane's time scale from the environment; refused unless a number in (0, 1]. */
export function timeScaleFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[TIME_SCALE_VARIABLE];
  if (raw === undefined || raw === '') return 1;
  const scale = Number(raw);
  if (!Number.isFinite(scale) || scale <= 0 || scale > 1) {
    throw new UsageError(`invalid ${TIME_SCALE_VARIABLE} "${raw}": expected a number greater than 0 and at most 1 (0.1 runs the local data plane 10 times faster)`);
  }
  return scale;
}

/** The environment of the plane (and of the moto it starts): nothing of the user's AWS configuration, only what runs Python. */
export function planeEnvironment(parent: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TMPDIR', 'PYTHONPATH', 'VIRTUAL_ENV', 'PYENV_VERSION', 'PYENV_ROOT']) {
    if (parent[key]) env[key] = parent[key]!;
  }
  return env;
}

/**
 * Starts the local AWS for this stack unless it already runs. It keeps running after the command
 * ends (the stack lives in its memory) until `down --local`. Only starting one resolves the Python
 * it runs (src/local/python.ts: the base interpreter, or ecs-ha's own environment, made once);
 * `requirementsDir` is the bundled app's folder, whose requirements.txt pins what the tasks need.
 */
export async function ensureEmulator(
  stateDir: string,
  stack: string,
  options: {
    appDir: string;
    requirementsDir: string;
    clock?: Clock;
    onNotice?: (text: string) => void;
    onProgress?: (text: string) => void;
    /** A throwaway emulator: it stops, and removes `stateDir`, once this process is gone. */
    ownedByThisProcess?: boolean;
  },
): Promise<{ info: EmulatorInfo; started: boolean }> {
  const running = await runningEmulator(stateDir, stack, options.onNotice);
  if (running) {
    if (running.appDir !== options.appDir) {
      options.onNotice?.(`the local data plane already runs the app from ${running.appDir}; run \`ecs-ha down --local\` first to run ${options.appDir}`);
    }
    return { info: running, started: false };
  }
  const clock = options.clock ?? realClock;
  const timeScale = timeScaleFromEnv();
  const { python } = await resolvePython({ requirementsDir: options.requirementsDir, onProgress: options.onProgress });
  ensurePrivateDir(stateDir);
  const files = paths(stateDir, stack);
  const args: PlaneArguments = {
    infoPath: files.info,
    tasksPath: files.tasks,
    appDir: options.appDir,
    timeScale,
    python,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    ...(options.ownedByThisProcess ? { ownerPid: process.pid } : {}),
  };
  const log = openForAppend(files.log);
  const child = spawn(process.execPath, [PLANE_MAIN, JSON.stringify(args)], { detached: true, stdio: ['ignore', log, log], env: planeEnvironment() });
  closeSync(log);
  child.unref();
  const deadline = clock.now() + 60_000;
  for (;;) {
    const { info } = readInfo(files.info);
    if (info && info.pid === child.pid && (await answers(info))) return { info, started: true };
    if (clock.now() > deadline || !isProcessAlive(child.pid!)) {
      if (isProcessAlive(child.pid!)) process.kill(child.pid!, 'SIGTERM');
      const tail = existsSync(files.log) ? readFileSync(files.log, 'utf8').trim().split('\n').slice(-3).join(' | ') : '';
      throw new EnvironmentError(`the local AWS emulator did not start${tail ? `: ${tail}` : ''}`, `see ${files.log}`);
    }
    await clock.sleep(100);
  }
}

/** Stops the local AWS and every task process of this stack; true when one was running. */
export async function stopEmulator(stateDir: string, stack: string, onNotice?: (text: string) => void): Promise<boolean> {
  const files = paths(stateDir, stack);
  const info = await runningEmulator(stateDir, stack, onNotice);
  if (info) {
    try {
      process.kill(info.pid, 'SIGTERM');
    } catch {
      // already gone
    }
    // It stops its tasks (SIGTERM, then SIGKILL) and moto before it exits.
    for (let waited = 0; waited < 20_000 && isProcessAlive(info.pid); waited += 100) await realClock.sleep(100);
    if (isProcessAlive(info.pid)) process.kill(info.pid, 'SIGKILL');
    await cleanUpAfter(stateDir, stack, info);
  }
  rmSync(files.log, { force: true });
  return Boolean(info);
}
