/**
 * The local AWS of `--local`, run as one background process per stack: it starts moto on loopback,
 * then the local endpoint, the scheduler, the load balancers and the task metadata endpoint, and
 * writes its info file once everything answers. SIGTERM stops every task, then moto, then itself.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { writeFileAtomic } from '../../fs/safe.js';
import { createServer } from 'node:net';
import { dirname } from 'node:path';
import { AwsClients } from '../../aws/clients.js';
import { isProcessAlive } from '../../process/alive.js';
import { AppFolders } from './apps.js';
import { Balancers } from './balancers.js';
import { LocalEndpoint } from './endpoint.js';
import { TaskLifecycle } from './lifecycle.js';
import { LogShipper } from './logs.js';
import { TaskMetadataServer } from './metadata.js';
import { recordPids } from './runtime.js';
import { Scheduler } from './scheduler.js';
import { planeClock } from './types.js';
import { MotoWorld } from './world.js';

/** What the CLI passes, as JSON in argv[2]. */
export interface PlaneArguments {
  infoPath: string;
  tasksPath: string;
  appDir: string;
  timeScale: number;
  python: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /**
   * A throwaway plane's owner (a plan's CLI process): once it is gone, however it ended, the plane
   * stops and removes the folder of its info file, which is its own.
   */
  ownerPid?: number;
}

/** What the info file says once the plane is up. */
export interface PlaneInfo {
  pid: number;
  endpointUrl: string;
  motoPid: number;
  motoUrl: string;
  appDir: string;
  timeScale: number;
  startedAt: string;
  /** What the CLI shows to make an app folder known (POST /_ecs-ha/apps); the info file is private (0600). */
  token?: string;
}

const log = (line: string): void => void process.stdout.write(`${new Date().toISOString()} ${line}\n`);

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function startMoto(python: string): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  // A minimal environment: moto never needs (or gets) the user's AWS credentials.
  const env: Record<string, string> = { MOTO_IAM_LOAD_MANAGED_POLICIES: 'true', PATH: process.env.PATH ?? '/usr/bin:/bin' };
  for (const key of ['HOME', 'LANG', 'LC_ALL', 'PYTHONPATH', 'VIRTUAL_ENV']) if (process.env[key]) env[key] = process.env[key]!;
  // moto exits when its stdin closes, so it never outlives the plane, even a plane killed with SIGKILL.
  const watchdog = [
    'import os, runpy, sys, threading',
    'threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()',
    `sys.argv = ['moto.server', '-H', '127.0.0.1', '-p', '${port}']`,
    "runpy.run_module('moto.server', run_name='__main__')",
  ].join('\n');
  const child = spawn(python, ['-c', watchdog, 'moto.server'], { stdio: ['pipe', 'inherit', 'inherit'], env });
  child.stdin?.on('error', () => undefined);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      if ((await fetch(`${url}/moto-api/config`, { signal: AbortSignal.timeout(2_000) })).ok) return { child, url };
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`moto did not start on port ${port}`);
    await new Promise((done) => setTimeout(done, 100));
  }
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '{}') as PlaneArguments;
  const clock = planeClock(args.timeScale);
  const moto = await startMoto(args.python);
  const aws = new AwsClients({ endpointUrl: moto.url, region: args.region, credentials: args.credentials, maxAttempts: 3 });
  const account = (await aws.account()) ?? '123456789012';
  const metadata = new TaskMetadataServer();
  await metadata.listen();
  let scheduler: Scheduler | undefined;
  const balancers = new Balancers(clock, () => scheduler?.poke());
  const logs = new LogShipper(aws);
  const lifecycle = new TaskLifecycle(aws, clock, metadata, balancers, logs, args.region, {
    event: (task, message) => {
      const local = scheduler?.serviceOf(task);
      if (local) scheduler?.event(local, message);
    },
    exited: (task) => scheduler?.taskExited(task),
    changed: () => saveTasks(),
  }, args.python);
  const apps = new AppFolders(args.appDir);
  const token = randomBytes(24).toString('hex');
  scheduler = new Scheduler({
    world: new MotoWorld(aws),
    aws,
    balancers,
    clock,
    account,
    region: args.region,
    appDir: args.appDir,
    apps,
    freePort,
    lifecycle: () => lifecycle,
    log,
  });
  const saveTasks = (): void => {
    const entries = [...(scheduler?.tasks.values() ?? [])].filter((t) => t.runtime && t.lastStatus !== 'STOPPED').map((t) => ({ pid: t.runtime!.pid, taskId: t.id }));
    try {
      recordPids(args.tasksPath, entries);
    } catch (error) {
      log(`cannot record task pids: ${(error as Error).message}`);
    }
  };
  const endpoint = new LocalEndpoint(moto.url, scheduler, balancers, { folders: apps, token });
  const port = await endpoint.listen();
  scheduler.start();

  let stopping = false;
  const shutdown = async (why: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log(`stopping: ${why}`);
    await scheduler?.close();
    const live = [...(scheduler?.tasks.values() ?? [])].filter((t) => t.runtime && t.lastStatus !== 'STOPPED');
    await Promise.all(live.map((t) => t.runtime!.stop(clock.scaled(5_000)).catch(() => t.runtime!.kill())));
    await Promise.all([endpoint.close(), balancers.close(), metadata.close(), logs.close()]);
    if (moto.child.exitCode === null) {
      // Waited for, so that nothing of the local world is left once the plane has gone.
      const exited = new Promise((done) => moto.child.once('exit', done));
      moto.child.kill('SIGTERM');
      await Promise.race([exited, new Promise((done) => setTimeout(done, 5_000))]);
      if (moto.child.exitCode === null) moto.child.kill('SIGKILL');
    }
    rmSync(args.tasksPath, { force: true });
    rmSync(args.infoPath, { force: true });
    if (args.ownerPid) rmSync(dirname(args.infoPath), { recursive: true, force: true });
    process.exit(0);
  };
  if (args.ownerPid) {
    const owner = args.ownerPid;
    setInterval(() => {
      if (!isProcessAlive(owner)) void shutdown(`its owner, process ${owner}, is gone`);
    }, 1_000);
  }
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  moto.child.once('exit', (code, signal) => void shutdown(`moto exited (${signal ?? code})`));

  const info: PlaneInfo = {
    pid: process.pid,
    endpointUrl: `http://127.0.0.1:${port}`,
    motoPid: moto.child.pid!,
    motoUrl: moto.url,
    appDir: args.appDir,
    timeScale: args.timeScale,
    startedAt: new Date().toISOString(),
    token,
  };
  writeFileAtomic(args.infoPath, JSON.stringify(info));
  log(`local AWS endpoint ${info.endpointUrl} (moto ${moto.url}), time scale ${args.timeScale}`);
}

main().catch((error: unknown) => {
  log(`failed to start: ${(error as Error).stack ?? String(error)}`);
  process.exit(1);
});
