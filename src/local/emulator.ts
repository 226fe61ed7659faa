import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { realClock, type Clock } from '../aws/poll.js';
import { EnvironmentError } from '../errors.js';
import { isProcessAlive } from '../process/alive.js';

/** The emulator's fixed identity: moto answers for this account with any credentials. */
export const LOCAL_REGION = 'us-east-1';
export const LOCAL_CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' };

export interface EmulatorInfo {
  pid: number;
  port: number;
  endpointUrl: string;
  startedAt: string;
}

function infoPath(stateDir: string, stack: string): string {
  return join(stateDir, `${stack}.emulator.json`);
}


async function answers(endpointUrl: string): Promise<boolean> {
  try {
    const response = await fetch(`${endpointUrl}/moto-api/config`, { signal: AbortSignal.timeout(3_000) });
    return response.ok;
  } catch {
    return false;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** The emulator this stack uses, if it is running. */
export async function runningEmulator(stateDir: string, stack: string): Promise<EmulatorInfo | undefined> {
  const path = infoPath(stateDir, stack);
  if (!existsSync(path)) return undefined;
  let info: EmulatorInfo | undefined;
  try {
    info = JSON.parse(readFileSync(path, 'utf8')) as EmulatorInfo;
  } catch {
    info = undefined; // cut short by a crash: treat as not running
  }
  if (info && isProcessAlive(info.pid) && (await answers(info.endpointUrl))) return info;
  rmSync(path, { force: true });
  return undefined;
}

/**
 * Starts the moto AWS emulator on loopback for this stack, unless it already runs. It keeps
 * running after the command ends (its resources live in its memory) until `down --local`.
 */
export async function ensureEmulator(stateDir: string, stack: string, clock: Clock, python = 'python3'): Promise<{ info: EmulatorInfo; started: boolean }> {
  const running = await runningEmulator(stateDir, stack);
  if (running) return { info: running, started: false };

  const check = spawnSync(python, ['-c', 'import moto.server'], { encoding: 'utf8' });
  if (check.error || check.status !== 0) {
    throw new EnvironmentError(
      `--local needs the moto AWS emulator, but \`${python} -c "import moto.server"\` failed: ${(check.error?.message ?? check.stderr).trim().split('\n').pop()}`,
      "install it with `pip install 'moto[server]'`, or drop --local to use your AWS account",
    );
  }
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const port = await freePort();
  const log = openSync(join(stateDir, `${stack}.emulator.log`), 'a', 0o600);
  const child = spawn(python, ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], {
    detached: true,
    stdio: ['ignore', log, log],
    env: { ...process.env, MOTO_IAM_LOAD_MANAGED_POLICIES: 'true' },
  });
  child.unref();
  const info: EmulatorInfo = { pid: child.pid!, port, endpointUrl: `http://127.0.0.1:${port}`, startedAt: new Date().toISOString() };
  const deadline = clock.now() + 30_000;
  while (!(await answers(info.endpointUrl))) {
    if (clock.now() > deadline || !isProcessAlive(info.pid)) {
      throw new EnvironmentError(`the moto emulator did not start on port ${port}`, `see ${join(stateDir, `${stack}.emulator.log`)}`);
    }
    await clock.sleep(200);
  }
  writeFileSync(infoPath(stateDir, stack), JSON.stringify(info), { mode: 0o600 });
  return { info, started: true };
}

export async function stopEmulator(stateDir: string, stack: string): Promise<boolean> {
  const info = await runningEmulator(stateDir, stack);
  rmSync(infoPath(stateDir, stack), { force: true });
  rmSync(join(stateDir, `${stack}.emulator.log`), { force: true });
  if (!info) return false;
  try {
    process.kill(info.pid, 'SIGTERM');
  } catch {
    return true; // already gone
  }
  // Wait for it to exit, so that the next `up --local` does not find it half-stopped.
  for (let waited = 0; waited < 5_000 && isProcessAlive(info.pid); waited += 100) await realClock.sleep(100);
  return true;
}
