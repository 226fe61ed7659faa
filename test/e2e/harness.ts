import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, beforeEach, onTestFinished } from 'vitest';
import type { TraceRecord } from '../../src/aws/clients.js';

export const CLI = resolve('bin/ecs-ha.js');
/** A prebuilt image for `up --image`: the emulator needs no Docker then. */
export const PREBUILT_IMAGE = 'public.ecr.aws/docker/library/python:3.12-slim';
export const MOTO_ACCOUNT = '123456789012';

export interface Moto {
  endpoint: string;
  reset(): Promise<void>;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? done(address.port) : fail(new Error('no port'))));
    });
  });
}

/**
 * Starts `python3 -m moto.server` on a free loopback port and waits until it answers. `env` adds
 * moto settings, e.g. { MOTO_ECS_SERVICE_RUNNING: '2' } so that services report running tasks.
 */
export async function startMoto(options: { env?: Record<string, string> } = {}): Promise<Moto> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn('python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, MOTO_IAM_LOAD_MANAGED_POLICIES: 'true', ...options.env },
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const response = await fetch(`${endpoint}/moto-api/config`);
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`moto server did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    endpoint,
    async reset() {
      await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Environment for a CLI run against the emulator: dummy credentials, no real profile. */
export function emulatorEnv(endpoint: string): NodeJS.ProcessEnv {
  return {
    // The test run's Python (test/setup/python.ts): first on PATH, and the one --local uses.
    PATH: process.env.PATH,
    ...(process.env.ECS_HA_PYTHON ? { ECS_HA_PYTHON: process.env.ECS_HA_PYTHON } : {}),
    HOME: mkdtempSync(join(tmpdir(), 'ecs-ha-home-')),
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL: endpoint,
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

/**
 * Environment for `--local`: no AWS credentials or endpoint at all, and the data plane ten times
 * faster than AWS (health checks every second, 1.5 s deregistration delay, 3 s grace period).
 */
export function localEnv(): NodeJS.ProcessEnv {
  const env = emulatorEnv('http://127.0.0.1:9');
  delete env.AWS_ENDPOINT_URL;
  delete env.AWS_ACCESS_KEY_ID;
  delete env.AWS_SECRET_ACCESS_KEY;
  return { ...env, ECS_HA_LOCAL_TIME_SCALE: '0.1' };
}

/** Whatever the test's outcome, `down --local` runs after it, so a failed assertion leaves no local plane running. */
export function downLocalAfterTest(cwd: string, stack: string, env: NodeJS.ProcessEnv): void {
  onTestFinished(async () => {
    await runCli(['down', '--local', '--stack', stack], { cwd, env });
  });
}

/** Runs the built CLI as a subprocess with stdin closed (as in a cleanup script). */
export function runCli(args: string[], options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<CliResult> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 90_000);
    child.on('error', fail);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, stdout, stderr });
    });
  });
}

export function tempDir(prefix = 'ecs-ha-e2e-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Lines in a trace file so far (0 when it does not exist yet). */
export function traceLines(path: string): number {
  try {
    return readFileSync(path, 'utf8').split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
}

/**
 * Runs the CLI with `--trace` and sends it `signal` once the trace shows `afterCalls` finished AWS
 * calls: a crash (SIGKILL) or Ctrl-C (SIGINT) at a chosen point of its work.
 */
export async function runCliInterrupted(
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; trace: string; afterCalls: number; signal: NodeJS.Signals; afterOperation?: string },
): Promise<CliResult & { callsBeforeSignal: number }> {
  const child = spawn(process.execPath, [CLI, ...args, '--trace', options.trace], { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => child.on('close', (code, signal) => done({ code, signal })));
  let callsBeforeSignal = -1;
  const watcher = setInterval(() => {
    const due = options.afterOperation ? traceHas(options.trace, options.afterOperation) : traceLines(options.trace) >= options.afterCalls;
    if (callsBeforeSignal < 0 && due) {
      callsBeforeSignal = traceLines(options.trace);
      child.kill(options.signal);
    }
  }, 2);
  const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
  const { code, signal } = await closed;
  clearInterval(watcher);
  clearTimeout(timer);
  return { code, signal, stdout, stderr, callsBeforeSignal };
}

/** Whether the trace has recorded `Service:Operation` (read as text: the last line may be half written). */
function traceHas(path: string, serviceOperation: string): boolean {
  const [service, operation] = serviceOperation.split(':');
  try {
    return readFileSync(path, 'utf8').includes(`"service":"${service}","operation":"${operation}"`);
  } catch {
    return false;
  }
}

/** The AWS calls a `--trace` file recorded. */
export function readTrace(path: string): TraceRecord[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as TraceRecord);
}

let stacksNamed = 0;
/**
 * A stack name no other test of this file uses: tests that share one emulator keep out of each
 * other's way by name instead of resetting it (a reset, and the warm-up of every AWS service moto
 * does after it, cost over 2 s a test).
 */
export function uniqueStack(prefix: string): string {
  return `${prefix}-${++stacksNamed}`;
}

/**
 * One emulator for the test file; call the result for the running one. Its tests use their own
 * stack names (uniqueStack); `resetBeforeEach` is for a file whose tests need an empty account.
 */
export function emulatorPerFile(options: { env?: Record<string, string>; resetBeforeEach?: boolean } = {}): () => Moto {
  let moto: Moto | undefined;
  beforeAll(async () => {
    moto = await startMoto(options);
  });
  afterAll(async () => {
    await moto?.stop();
  });
  if (options.resetBeforeEach) {
    beforeEach(async () => {
      await moto!.reset();
    });
  }
  return () => moto!;
}
