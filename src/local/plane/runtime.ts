/**
 * The task runtime of the local data plane: one ECS task is one local process group running the
 * app the way its Dockerfile does, bound to the task's own loopback address.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { localArgv, readAppCommand } from './appCommand.js';

export { killRecorded, recordPids, type PidRecord } from './taskPids.js';

/**
 * Linux routes all of 127.0.0.0/8 to lo, so each task gets its own address, one /24 per AZ (like a
 * subnet). Elsewhere (macOS has only 127.0.0.1) tasks share 127.0.0.1 and the caller gives each its
 * own port.
 */
export function loopbackAddress(azIndex: number, hostIndex: number, platform: NodeJS.Platform = process.platform): { ip: string; sharedHost: boolean } {
  if (platform !== 'linux') return { ip: '127.0.0.1', sharedHost: true };
  if (!Number.isInteger(azIndex) || azIndex < 0 || azIndex > 253) throw new RangeError(`azIndex must be an integer 0..253, got ${azIndex}`);
  if (!Number.isInteger(hostIndex)) throw new RangeError(`hostIndex must be an integer, got ${hostIndex}`);
  // Host part .2-.251: never the network (.0), gateway-like .1 or broadcast (.255).
  const host = (((hostIndex % 250) + 250) % 250) + 2;
  return { ip: `127.0.${azIndex + 1}.${host}`, sharedHost: false };
}

export interface TaskLaunch {
  taskId: string;
  appDir: string;
  ip: string;
  port: number;
  /** The task definition container's environment (already merged by the caller). */
  environment: Record<string, string>;
  /** Set as HOSTNAME, which the app reports (in a container it is the container's hostname). */
  hostname: string;
  /** ECS_CONTAINER_METADATA_URI_V4 */
  metadataUri: string;
  region: string;
  python?: string;
  onOutput(stream: 'stdout' | 'stderr', line: string): void;
  onExit(exit: ExitInfo): void;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RunningTask {
  pid: number;
  /** The command line spawned (for pid records). */
  argv?: readonly string[];
  /** Resolves once the app accepts TCP connections on ip:port; rejects if the process exits first or after timeoutMs. */
  ready(timeoutMs: number): Promise<void>;
  /** Like ECS: SIGTERM to the main process, SIGKILL to its whole process group after stopTimeoutMs; resolves when it exited, says whether SIGKILL was needed. */
  stop(stopTimeoutMs: number): Promise<{ killed: boolean; code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL to the whole group at once (the plane shutting down hard, or a test killing a task behind the plane's back). */
  kill(): void;
}

/** Local defaults a task definition may override: one gunicorn worker per task keeps the machine light. */
export const LOCAL_TASK_DEFAULTS: Readonly<Record<string, string>> = { WEB_CONCURRENCY: '1' };

/**
 * The process environment of a task: built from nothing, so the plane's own variables (AWS
 * credentials above all) never reach the app, as they would not reach a Fargate container.
 */
export function taskEnvironment(launch: Omit<TaskLaunch, 'onOutput' | 'onExit' | 'appDir'>, dockerfileEnv: Record<string, string>, parent: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = { PATH: parent.PATH ?? '/usr/local/bin:/usr/bin:/bin' };
  for (const name of ['LANG', 'LC_ALL'] as const) {
    const value = parent[name];
    if (value !== undefined) env[name] = value;
  }
  Object.assign(env, dockerfileEnv, LOCAL_TASK_DEFAULTS, launch.environment);
  Object.assign(env, {
    PORT: String(launch.port),
    HOSTNAME: launch.hostname,
    ECS_CONTAINER_METADATA_URI_V4: launch.metadataUri,
    AWS_REGION: launch.region,
    AWS_DEFAULT_REGION: launch.region,
    AWS_EXECUTION_ENV: 'AWS_ECS_FARGATE',
    // gunicorn applies its config file, then GUNICORN_CMD_ARGS, then the command line: this beats the
    // config's 0.0.0.0 bind, so the app listens on the task's loopback address only.
    GUNICORN_CMD_ARGS: [...withoutBind(splitArgs(launch.environment.GUNICORN_CMD_ARGS)), `--bind=${launch.ip}:${launch.port}`].join(' '),
  });
  return env;
}

/** Starts the task's process. Throws if the Dockerfile has no usable CMD or the program cannot be spawned. */
export function launchTask(launch: TaskLaunch): RunningTask {
  const appDir = resolve(launch.appDir);
  const command = readAppCommand(appDir, { PATH: process.env.PATH ?? '' });
  let argv = localArgv(command.argv, launch.python ?? 'python3');
  // A --bind on the command line would win over GUNICORN_CMD_ARGS.
  if (argv[1] === '-m' && argv[2] === 'gunicorn') argv = [...argv.slice(0, 3), ...withoutBind(argv.slice(3))];
  const [program = '', ...args] = argv;

  const child = spawn(program, args, {
    cwd: appDir,
    env: taskEnvironment(launch, command.env),
    // Own process group: SIGKILL must reach gunicorn's workers too, as it reaches a whole container.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // A failed spawn is also emitted as 'error'; unhandled, that event would take the plane down.
  child.on('error', () => {});
  const pid = child.pid;
  if (pid === undefined) throw new Error(`task ${launch.taskId}: cannot start ${program} in ${appDir} (not found or not executable?)`);
  return supervise(child, pid, argv, launch);
}

function supervise(child: ChildProcess, pid: number, argv: string[], launch: TaskLaunch): RunningTask {
  const recent: string[] = [];
  for (const stream of ['stdout', 'stderr'] as const) {
    const input = child[stream];
    if (!input) continue;
    createInterface({ input, crlfDelay: Infinity }).on('line', (line) => {
      recent.push(line);
      if (recent.length > 20) recent.shift();
      launch.onOutput(stream, line);
    });
  }

  let exit: ExitInfo | undefined;
  let killed = false;
  let stopping: ReturnType<RunningTask['stop']> | undefined;
  let markExited: (info: ExitInfo) => void = () => {};
  const exited = new Promise<ExitInfo>((done) => (markExited = done));

  child.once('exit', (code, signal) => {
    const info: ExitInfo = { code, signal };
    exit = info;
    // When a container's main process ends, everything else in it dies too.
    signalGroup(pid, 'SIGKILL');
    let reported = false;
    const report = (): void => {
      if (reported) return;
      reported = true;
      clearTimeout(fallback);
      try {
        launch.onExit(info);
      } finally {
        markExited(info);
      }
    };
    // Report after the last output lines; a descendant that left the group could hold the pipes open.
    const fallback = setTimeout(() => {
      child.stdout?.destroy();
      child.stderr?.destroy();
      report();
    }, 2_000);
    child.once('close', report);
  });

  const where = `${launch.ip}:${launch.port}`;
  const lastLines = (): string => (recent.length ? `\n${recent.join('\n')}` : '');

  return {
    pid,
    argv,
    async ready(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (exit) {
          const how = exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
          throw new Error(`task ${launch.taskId}: the process exited (${how}) before accepting connections on ${where}${lastLines()}`);
        }
        if (await accepts(launch.ip, launch.port, Math.max(100, Math.min(1_000, deadline - Date.now())))) return;
        if (Date.now() >= deadline) throw new Error(`task ${launch.taskId}: nothing accepted connections on ${where} within ${timeoutMs} ms${lastLines()}`);
        await Promise.race([delay(100), exited]);
      }
    },
    stop(stopTimeoutMs) {
      stopping ??= (async () => {
        let timer: NodeJS.Timeout | undefined;
        if (!exit) {
          // Docker stop: SIGTERM to the main process only; it is up to the app to stop its children.
          signalProcess(pid, 'SIGTERM');
          timer = setTimeout(() => {
            killed = true;
            signalGroup(pid, 'SIGKILL');
          }, stopTimeoutMs);
        }
        const info = await exited;
        clearTimeout(timer);
        return { killed, ...info };
      })();
      return stopping;
    },
    kill() {
      if (exit) return;
      killed = true;
      signalGroup(pid, 'SIGKILL');
    },
  };
}

/** Whether a TCP connection to ip:port succeeds within timeoutMs. */
function accepts(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host, port });
    const finish = (ok: boolean): void => {
      socket.destroy();
      done(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

const delay = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

function signalProcess(pid: number, signal: NodeJS.Signals): void {
  if (Number.isInteger(pid) && pid > 1) send(pid, signal);
}

/** The task's pid is its process group id (spawned detached). */
function signalGroup(pid: number, signal: NodeJS.Signals): void {
  if (Number.isInteger(pid) && pid > 1) send(-pid, signal);
}

/** Gone already (ESRCH) is fine; this runs from timers, where a throw would take the plane down. */
function send(target: number, signal: NodeJS.Signals): void {
  try {
    process.kill(target, signal);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ESRCH' && code !== 'EPERM') throw error;
  }
}

/** Whitespace-separated words (GUNICORN_CMD_ARGS has no quoting for a bind address to need). */
function splitArgs(text: string | undefined): string[] {
  return (text ?? '').split(/\s+/).filter(Boolean);
}

/** The arguments without gunicorn's -b/--bind options (and their values). */
function withoutBind(args: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '-b' || arg === '--bind') i++;
    else if (!arg.startsWith('--bind=') && !/^-b./.test(arg)) kept.push(arg);
  }
  return kept;
}
