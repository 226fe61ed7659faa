/**
 * The local plane's task runtime: the app command read from a Dockerfile, the task metadata
 * endpoint, and real task processes — the bundled app under gunicorn, and small fixture apps that
 * misbehave (ignore SIGTERM, exit early, never listen).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { localArgv, readAppCommand } from '../../../src/local/plane/appCommand.js';
import { TaskMetadataServer, type TaskMetadata } from '../../../src/local/plane/metadata.js';
import { type ExitInfo, killRecorded, launchTask, loopbackAddress, recordPids, type RunningTask, type TaskLaunch, taskEnvironment } from '../../../src/local/plane/runtime.js';
import { freePort } from '../../fixtures/probe/servers.js';

const APP_DIR = resolve('container');
const REGION = 'us-east-1';
const { ip: TASK_IP, sharedHost } = loopbackAddress(0, 0);

let tmp = '';
/** The interpreter itself: a `python3` found on PATH may be a shim (pyenv) that adds variables of its own. */
let realPython = '';
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'ecs-ha-runtime-'));
  realPython = (await promisify(execFile)('python3', ['-c', 'import sys; print(sys.executable)'])).stdout.trim();
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** Every process a test starts, ended in afterEach whatever the test did. */
const started: Array<{ task: RunningTask; exited: Promise<ExitInfo> }> = [];
const strays: ChildProcess[] = [];
afterEach(async () => {
  for (const { task } of started) task.kill();
  // Should the group kill ever fail (a regression), still end the main process rather than hang.
  const ended = started.splice(0).map(async ({ task, exited }) => {
    const timer = setTimeout(() => {
      try {
        process.kill(task.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, 5_000);
    await exited;
    clearTimeout(timer);
  });
  await Promise.all(ended);
  for (const child of strays.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((done) => child.once('exit', done));
      child.kill('SIGKILL');
      await gone;
    }
  }
});

let dirCount = 0;
/** An app folder with this Dockerfile (and extra files) in the test's temp dir. */
async function appFolder(dockerfile: string, files: Record<string, string> = {}): Promise<string> {
  const dir = join(tmp, `app-${++dirCount}`);
  await mkdir(dir);
  await writeFile(join(dir, 'Dockerfile'), dockerfile);
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

interface Launched {
  task: RunningTask;
  exited: Promise<ExitInfo>;
  lines: Array<{ stream: 'stdout' | 'stderr'; line: string }>;
  port: number;
}

async function launch(appDir: string, overrides: Partial<TaskLaunch> = {}): Promise<Launched> {
  const port = overrides.port ?? (await freePort());
  const lines: Launched['lines'] = [];
  let reportExit: (exit: ExitInfo) => void = () => {};
  const exited = new Promise<ExitInfo>((done) => (reportExit = done));
  const task = launchTask({
    taskId: 'task0',
    appDir,
    ip: TASK_IP,
    port,
    environment: {},
    hostname: `ip-${TASK_IP.replaceAll('.', '-')}`,
    metadataUri: 'http://127.0.0.1:9/v4/none',
    region: REGION,
    onOutput: (stream, line) => lines.push({ stream, line }),
    onExit: reportExit,
    ...overrides,
  });
  started.push({ task, exited });
  return { task, exited, lines, port };
}

function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((done, fail) => {
    const req = request(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => done({ status: res.statusCode ?? 0, body }));
    });
    req.setTimeout(5_000, () => req.destroy(new Error(`timeout: ${url}`)));
    req.on('error', fail);
    req.end();
  });
}

function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host, port });
    socket.setTimeout(1_000, () => socket.destroy());
    socket.on('error', () => {});
    socket.once('connect', () => {
      done(true);
      socket.destroy();
    });
    socket.once('close', () => done(false));
  });
}

/**
 * Whether a process of a group just sent SIGKILL is gone. The group leader's exit is what the test
 * saw; another member dies when the kernel gets to it, a moment later on a loaded machine.
 */
async function goneSoon(pid: number): Promise<boolean> {
  for (const deadline = Date.now() + 5_000; alive(pid) && Date.now() < deadline; ) await new Promise((done) => setTimeout(done, 20));
  return !alive(pid);
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 1) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie (killed, not yet reaped) still answers kill(pid, 0).
  if (process.platform !== 'linux') return true;
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe('readAppCommand', () => {
  it('reads the bundled Dockerfile: gunicorn with its config, and the image ENV', () => {
    expect(readAppCommand(APP_DIR)).toEqual({
      argv: ['gunicorn', '--config', 'gunicorn.conf.py', 'app:app'],
      env: { PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1', PORT: '8080' },
    });
  });

  it('joins ENTRYPOINT and CMD exec forms across continuations, comments and lower case', async () => {
    const dir = await appFolder(
      ['# syntax=docker/dockerfile:1', 'FROM python:3.12-slim', 'entrypoint ["python3", \\', '  # a comment inside the continuation', '  "-u"]', 'CMD ["serve.py", "--flag=a b"]', ''].join('\n'),
    );
    expect(readAppCommand(dir).argv).toEqual(['python3', '-u', 'serve.py', '--flag=a b']);
  });

  it('parses ENV in both forms, with quotes, escapes, continuations and $VAR expansion', async () => {
    const dir = await appFolder(
      [
        'FROM python:3.12-slim',
        'ENV A=1 \\',
        '    B="two words" \\',
        "    C='$A stays' D=a\\ b",
        'ENV LEGACY value with  spaces',
        'ENV E=${A}x F=$A-$MISSING G=${MISSING:-fallback} H=${A:+set} PATH=/app/bin:$PATH',
        'ENV A=changed I=$A',
        'CMD ["python3", "app.py"]',
      ].join('\n'),
    );
    expect(readAppCommand(dir, { PATH: '/usr/bin' }).env).toEqual({
      A: 'changed',
      B: 'two words',
      C: '$A stays',
      D: 'a b',
      LEGACY: 'value with  spaces',
      E: '1x',
      F: '1-',
      G: 'fallback',
      H: 'set',
      PATH: '/app/bin:/usr/bin',
      I: '1', // expanded against the environment before its own line, as Docker does
    });
  });

  it('takes the last CMD, and the final stage (which inherits only from a named stage)', async () => {
    const dir = await appFolder(
      [
        'FROM python:3.12 AS base',
        'ENV FROM_BASE=1',
        'CMD ["python3", "one.py"]',
        'FROM python:3.12 AS builder',
        'ENV BUILD_ONLY=1',
        'FROM base AS final',
        'ENV FINAL=1',
        'CMD ["python3", "two.py"]',
      ].join('\n'),
    );
    expect(readAppCommand(dir)).toEqual({ argv: ['python3', 'two.py'], env: { FROM_BASE: '1', FINAL: '1' } });
  });

  it('refuses a missing, shell-form or malformed CMD with an error naming the Dockerfile', async () => {
    const none = await appFolder('FROM python:3.12\nENV A=1\n');
    expect(() => readAppCommand(none)).toThrow(`${join(none, 'Dockerfile')} has no exec-form CMD`);
    const shell = await appFolder('FROM python:3.12\nCMD gunicorn app:app\n');
    expect(() => readAppCommand(shell)).toThrow(new RegExp(`^${join(shell, 'Dockerfile')}: "CMD gunicorn app:app" is in shell form`));
    const broken = await appFolder('FROM python:3.12\nCMD ["gunicorn", app:app]\n');
    expect(() => readAppCommand(broken)).toThrow(/shell form/);
    const empty = await appFolder('FROM python:3.12\nCMD []\n');
    expect(() => readAppCommand(empty)).toThrow(/has no exec-form CMD/);
    expect(() => readAppCommand(join(tmp, 'no-such-app'))).toThrow(/cannot read .*no-such-app\/Dockerfile/);
  });

  it('localArgv runs gunicorn and python through the given interpreter, anything else as is', () => {
    expect(localArgv(['gunicorn', '--config', 'g.py', 'app:app'])).toEqual(['python3', '-m', 'gunicorn', '--config', 'g.py', 'app:app']);
    expect(localArgv(['/usr/local/bin/gunicorn', 'app:app'], '/opt/py/bin/python')).toEqual(['/opt/py/bin/python', '-m', 'gunicorn', 'app:app']);
    expect(localArgv(['python', 'app.py'], 'py3')).toEqual(['py3', 'app.py']);
    expect(localArgv(['/usr/local/bin/python3.12', '-u', 'app.py'])).toEqual(['python3', '-u', 'app.py']);
    expect(localArgv(['node', 'server.js'])).toEqual(['node', 'server.js']);
  });
});

describe('loopbackAddress', () => {
  it('gives each task on Linux its own 127.0.<az+1>.<host+2> address, wrapping the host part', () => {
    expect(loopbackAddress(0, 0, 'linux')).toEqual({ ip: '127.0.1.2', sharedHost: false });
    expect(loopbackAddress(2, 249, 'linux')).toEqual({ ip: '127.0.3.251', sharedHost: false });
    expect(loopbackAddress(1, 250, 'linux').ip).toBe('127.0.2.2');
    expect(loopbackAddress(1, -1, 'linux').ip).toBe('127.0.2.251');
    expect(() => loopbackAddress(-1, 0, 'linux')).toThrow(RangeError);
    expect(() => loopbackAddress(0, 1.5, 'linux')).toThrow(RangeError);
  });

  it('shares 127.0.0.1 elsewhere (macOS has no other loopback address)', () => {
    expect(loopbackAddress(2, 7, 'darwin')).toEqual({ ip: '127.0.0.1', sharedHost: true });
  });
});

describe('taskEnvironment', () => {
  const base = { taskId: 't', ip: '127.0.2.3', port: 8123, hostname: 'ip-127-0-2-3', metadataUri: 'http://127.0.0.1:1/v4/t', region: 'eu-west-1' };

  it('is built from nothing: no credentials or other variables of the plane leak into a task', () => {
    const parent = { PATH: '/bin', LANG: 'C.UTF-8', HOME: '/root', AWS_ACCESS_KEY_ID: 'AKIA', AWS_SECRET_ACCESS_KEY: 's', AWS_PROFILE: 'p', GUNICORN_CMD_ARGS: '--bind=0.0.0.0:1' };
    expect(taskEnvironment({ ...base, environment: { APP_VERSION: '2' } }, { PYTHONUNBUFFERED: '1', PORT: '8080' }, parent)).toEqual({
      PATH: '/bin',
      LANG: 'C.UTF-8',
      PYTHONUNBUFFERED: '1',
      WEB_CONCURRENCY: '1',
      APP_VERSION: '2',
      PORT: '8123',
      HOSTNAME: 'ip-127-0-2-3',
      ECS_CONTAINER_METADATA_URI_V4: 'http://127.0.0.1:1/v4/t',
      AWS_REGION: 'eu-west-1',
      AWS_DEFAULT_REGION: 'eu-west-1',
      AWS_EXECUTION_ENV: 'AWS_ECS_FARGATE',
      GUNICORN_CMD_ARGS: '--bind=127.0.2.3:8123',
    });
  });

  it('lets the task definition override the Dockerfile and the local defaults, but not what ECS sets', () => {
    const env = taskEnvironment(
      { ...base, environment: { WEB_CONCURRENCY: '3', PYTHONUNBUFFERED: '0', PORT: '1', AWS_REGION: 'x', GUNICORN_CMD_ARGS: '--timeout 5 -b 0.0.0.0:80 --bind=[::]:81 -b0.0.0.0:82 --workers 2' } },
      { PYTHONUNBUFFERED: '1', WEB_CONCURRENCY: '9' },
      {},
    );
    expect(env).toMatchObject({ WEB_CONCURRENCY: '3', PYTHONUNBUFFERED: '0', PORT: '8123', AWS_REGION: 'eu-west-1' });
    // the task's own gunicorn options survive; every bind of its own is replaced by the task address
    expect(env.GUNICORN_CMD_ARGS).toBe('--timeout 5 --workers 2 --bind=127.0.2.3:8123');
    expect(env.PATH).toBeTruthy();
  });

  it('GUNICORN_CMD_ARGS overrides the bind of the config file, and the command line overrides both', async () => {
    const run = promisify(execFile);
    const printBind = async (env: Record<string, string>, extra: string[] = []) => {
      const { stdout } = await run('python3', ['-m', 'gunicorn', '--config', 'gunicorn.conf.py', ...extra, '--print-config', 'app:app'], { cwd: APP_DIR, env: { PATH: process.env.PATH ?? '', ...env } });
      return /^bind\s+=\s+(.*)$/m.exec(stdout)?.[1];
    };
    expect(await printBind({ PORT: '8080' })).toBe("['0.0.0.0:8080']");
    expect(await printBind({ PORT: '8080', GUNICORN_CMD_ARGS: '--bind=127.0.1.2:9000' })).toBe("['127.0.1.2:9000']");
    expect(await printBind({ GUNICORN_CMD_ARGS: '--bind=127.0.1.2:9000' }, ['--bind', '127.0.0.1:9001'])).toBe("['127.0.0.1:9001']");
  });
});

describe('TaskMetadataServer', () => {
  const server = new TaskMetadataServer({ now: () => Date.parse('2025-01-02T03:04:05.000Z'), scaled: (ms) => ms });
  const metadata: TaskMetadata = {
    cluster: 'arn:aws:ecs:us-east-1:123456789012:cluster/ecs-ha',
    taskArn: 'arn:aws:ecs:us-east-1:123456789012:task/ecs-ha/0123456789abcdef0123456789abcdef',
    family: 'ecs-ha',
    revision: 3,
    desiredStatus: 'RUNNING',
    knownStatus: 'RUNNING',
    availabilityZone: 'us-east-1b',
    containerName: 'app',
    image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/ecs-ha:v1',
    ip: '127.0.2.5',
    startedAt: Date.parse('2025-01-02T03:04:07.500Z'),
    serviceName: 'ecs-ha',
    cpu: '256',
    memory: '512',
    subnetCidr: '127.0.2.0/24',
  };
  beforeAll(() => server.listen());
  afterAll(() => server.close());

  it('answers the container document at the URI and the task document at /task, as Fargate shapes them', async () => {
    server.set('0123', metadata);
    const uri = server.uriFor('0123');
    expect(uri).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v4\/0123$/);

    const container = await httpGet(uri);
    expect(container.status).toBe(200);
    const expectedContainer = {
      DockerId: expect.stringMatching(/^0123456789abcdef0123456789abcdef-\d{10}$/),
      Name: 'app',
      DockerName: 'app',
      Image: metadata.image,
      Labels: {
        'com.amazonaws.ecs.cluster': metadata.cluster,
        'com.amazonaws.ecs.container-name': 'app',
        'com.amazonaws.ecs.task-arn': metadata.taskArn,
        'com.amazonaws.ecs.task-definition-family': 'ecs-ha',
        'com.amazonaws.ecs.task-definition-version': '3',
      },
      DesiredStatus: 'RUNNING',
      KnownStatus: 'RUNNING',
      CreatedAt: '2025-01-02T03:04:05.000Z',
      StartedAt: '2025-01-02T03:04:07.500Z',
      Type: 'NORMAL',
      Networks: [
        {
          NetworkMode: 'awsvpc',
          IPv4Addresses: ['127.0.2.5'],
          AttachmentIndex: 0,
          IPv4SubnetCIDRBlock: '127.0.2.0/24',
          PrivateDNSName: 'ip-127-0-2-5.us-east-1.compute.internal',
        },
      ],
    };
    expect(JSON.parse(container.body)).toMatchObject(expectedContainer);

    const task = await httpGet(`${uri}/task`);
    expect(task.status).toBe(200);
    const body = JSON.parse(task.body) as Record<string, unknown>;
    expect(body).toMatchObject({
      Cluster: metadata.cluster,
      ServiceName: 'ecs-ha',
      TaskARN: metadata.taskArn,
      Family: 'ecs-ha',
      Revision: '3',
      DesiredStatus: 'RUNNING',
      KnownStatus: 'RUNNING',
      Limits: { CPU: 0.25, Memory: 512 },
      PullStartedAt: '2025-01-02T03:04:05.000Z',
      PullStoppedAt: '2025-01-02T03:04:05.000Z',
      AvailabilityZone: 'us-east-1b',
      LaunchType: 'FARGATE',
      Containers: [expectedContainer],
    });
    // same DockerId on every call
    expect((body.Containers as Array<{ DockerId: string }>)[0]?.DockerId).toBe(JSON.parse(container.body).DockerId);
    expect((await httpGet(`${uri}/task/`)).status).toBe(200);
  });

  it('follows the scheduler: status updates, no StartedAt before start, 404 for unknown or removed tasks', async () => {
    const { startedAt: _startedAt, cpu: _cpu, ...pending } = metadata;
    server.set('pending', { ...pending, knownStatus: 'PENDING' });
    const doc = JSON.parse((await httpGet(`${server.uriFor('pending')}/task`)).body) as Record<string, unknown>;
    expect(doc.KnownStatus).toBe('PENDING');
    expect(doc).not.toHaveProperty('Limits'); // omitted without task-level limits
    expect(doc.Containers).toEqual([expect.not.objectContaining({ StartedAt: expect.anything() })]);

    expect((await httpGet(server.uriFor('nobody'))).status).toBe(404);
    expect((await httpGet(`${server.uriFor('pending')}/stats`)).status).toBe(404);
    server.remove('pending');
    expect((await httpGet(`${server.uriFor('pending')}/task`)).status).toBe(404);
  });
});

describe('launchTask', () => {
  it('runs the bundled app under gunicorn on the task address only, with its hostname, version and AZ', async () => {
    const metadataServer = new TaskMetadataServer();
    await metadataServer.listen();
    try {
      metadataServer.set('t1', {
        cluster: 'arn:aws:ecs:us-east-1:123456789012:cluster/c',
        taskArn: 'arn:aws:ecs:us-east-1:123456789012:task/c/t1',
        family: 'f',
        revision: 1,
        desiredStatus: 'RUNNING',
        knownStatus: 'RUNNING',
        availabilityZone: 'us-east-1c',
        containerName: 'app',
        image: 'app:latest',
        ip: TASK_IP,
        startedAt: Date.now(),
      });
      const { task, exited, lines, port } = await launch(APP_DIR, { taskId: 't1', environment: { APP_VERSION: '7.1' }, metadataUri: metadataServer.uriFor('t1') });
      await task.ready(20_000);

      const index = await httpGet(`http://${TASK_IP}:${port}/`);
      expect(index).toEqual({ status: 200, body: `Hello from ip-${TASK_IP.replaceAll('.', '-')} - Version 7.1` });
      const health = await httpGet(`http://${TASK_IP}:${port}/health`);
      expect(JSON.parse(health.body)).toEqual({ status: 'healthy', hostname: `ip-${TASK_IP.replaceAll('.', '-')}`, version: '7.1', az: 'us-east-1c' });
      // bound to the task address only: not 0.0.0.0, so not on 127.0.0.1 either
      if (!sharedHost) expect(await accepts('127.0.0.1', port)).toBe(false);

      const result = await task.stop(15_000);
      expect(result).toEqual({ killed: false, code: 0, signal: null });
      expect(await exited).toEqual({ code: 0, signal: null });
      expect(alive(task.pid)).toBe(false);
      expect(await accepts(TASK_IP, port)).toBe(false);

      // every line is in once the exit is reported
      const text = lines.map((l) => l.line).join('\n');
      expect(text).toContain(`Listening at: http://${TASK_IP}:${port}`);
      expect(lines.filter((l) => /Booting worker/.test(l.line))).toHaveLength(1); // WEB_CONCURRENCY=1
      expect(text).toContain('"GET /health HTTP/1.1" 200'); // access log on stdout
      expect(text).toMatch(/Handling signal: term/);
    } finally {
      await metadataServer.close();
    }
  });

  const STUBBORN = [
    'import json, os, signal, socket, subprocess, sys, time',
    // SIGTERM is only reported: the app does not stop, as a hung app would not
    'signal.signal(signal.SIGTERM, lambda *_: print("ignoring SIGTERM", flush=True))',
    'child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])',
    'print("child", child.pid, flush=True)',
    'print("env", json.dumps(sorted(os.environ)), flush=True)',
    'print("greeting", os.environ["GREETING"], flush=True)',
    'print("to stderr", file=sys.stderr, flush=True)',
    's = socket.socket()',
    's.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)',
    's.bind((os.environ["BIND_HOST"], int(os.environ["PORT"])))',
    's.listen()',
    'while True:',
    '    time.sleep(0.05)',
  ].join('\n');
  const stubbornApp = () => appFolder('FROM python:3.12-slim\nENV GREETING="hi there"\nCMD ["python3", "stubborn.py"]\n', { 'stubborn.py': STUBBORN });

  function childPid(lines: Launched['lines']): number {
    return Number(/^child (\d+)$/.exec(lines.find((l) => l.line.startsWith('child '))?.line ?? '')?.[1]);
  }

  it('SIGKILLs the whole group of an app that ignores SIGTERM after the stop timeout; the plane env never leaks in', async () => {
    const saved = process.env.AWS_SECRET_ACCESS_KEY;
    process.env.AWS_SECRET_ACCESS_KEY = 'parent-secret';
    let launched: Launched;
    try {
      launched = await launch(await stubbornApp(), { environment: { BIND_HOST: TASK_IP }, python: realPython });
    } finally {
      if (saved === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
      else process.env.AWS_SECRET_ACCESS_KEY = saved;
    }
    const { task, exited, lines } = launched;
    await task.ready(10_000);
    const grandchild = childPid(lines);
    expect(alive(grandchild)).toBe(true);

    const begun = Date.now();
    const result = await task.stop(1_500);
    const took = Date.now() - begun;
    expect(result).toEqual({ killed: true, code: null, signal: 'SIGKILL' });
    expect(took).toBeGreaterThanOrEqual(1_400);
    expect(took).toBeLessThan(6_000);
    expect(await exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(lines).toContainEqual({ stream: 'stdout', line: 'ignoring SIGTERM' });
    expect(lines).toContainEqual({ stream: 'stderr', line: 'to stderr' });
    expect(lines).toContainEqual({ stream: 'stdout', line: 'greeting hi there' });
    expect(await goneSoon(grandchild)).toBe(true); // the whole group, as when a container is killed

    const envLine = lines.find((l) => l.line.startsWith('env '))?.line ?? '';
    const names = JSON.parse(envLine.slice(4)) as string[];
    const allowed = ['PATH', 'LANG', 'LC_ALL', 'LC_CTYPE', 'GREETING', 'WEB_CONCURRENCY', 'BIND_HOST', 'PORT', 'HOSTNAME', 'ECS_CONTAINER_METADATA_URI_V4', 'AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_EXECUTION_ENV', 'GUNICORN_CMD_ARGS'];
    expect(names.filter((name) => !allowed.includes(name))).toEqual([]); // LC_CTYPE: Python's C-locale coercion
    expect(names).toContain('AWS_EXECUTION_ENV');
  });

  it('reports an exit when the task is killed from outside, and takes its children with it', async () => {
    const { task, exited, lines } = await launch(await stubbornApp(), { environment: { BIND_HOST: TASK_IP } });
    await task.ready(10_000);
    const grandchild = childPid(lines);
    task.kill();
    expect(await exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(await goneSoon(grandchild)).toBe(true);
    // stop() after the fact answers at once
    expect(await task.stop(10_000)).toEqual({ killed: true, code: null, signal: 'SIGKILL' });
  });

  it('ready() rejects when the app exits first, with its last output, and after its timeout when nothing listens', async () => {
    const crashing = await appFolder('FROM python:3.12\nCMD ["python3", "-c", "import sys; print(\\"boom: no config\\", file=sys.stderr); sys.exit(3)"]\n');
    const crash = await launch(crashing);
    await expect(crash.task.ready(10_000)).rejects.toThrow(/exited \(code 3\) before accepting connections on .*\n.*boom: no config/);
    expect(await crash.exited).toEqual({ code: 3, signal: null });

    const silent = await launch(await appFolder('FROM python:3.12\nCMD ["python3", "-c", "import time; time.sleep(30)"]\n'));
    await expect(silent.task.ready(400)).rejects.toThrow(/nothing accepted connections on .* within 400 ms/);
    expect(await silent.task.stop(5_000)).toMatchObject({ killed: false, signal: 'SIGTERM' });
  });

  it('throws at launch on a Dockerfile without an exec-form CMD, or a program that does not exist', async () => {
    await expect(launch(await appFolder('FROM python:3.12\nCMD python3 app.py\n'))).rejects.toThrow(/shell form/);
    await expect(launch(await appFolder('FROM x\nCMD ["no-such-program-ecs-ha"]\n'))).rejects.toThrow(/cannot start no-such-program-ecs-ha/);
  });
});

describe('pid records', () => {
  function startStray(args: string[]): ChildProcess {
    // detached: a group leader like a task, so only the command line tells it apart
    const child = spawn(args[0] ?? '', args.slice(1), { detached: true, stdio: 'ignore' });
    strays.push(child);
    return child;
  }

  it('are written atomically with mode 0600', async () => {
    const file = join(tmp, 'state', 'tasks.json');
    recordPids(file, [{ pid: 1234, taskId: 'a', argv: ['python3', '-m', 'gunicorn'] }]);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ tasks: [{ pid: 1234, taskId: 'a', argv: ['python3', '-m', 'gunicorn'] }] });
    recordPids(file, []);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ tasks: [] });
  });

  it('killRecorded kills a live gunicorn task group and a recorded command, nothing unrelated, no bad pid', async () => {
    const { task, exited } = await launch(APP_DIR);
    await task.ready(20_000);
    const unrelated = startStray(['sleep', '30']);
    const recordedSleep = startStray(['sleep', '31']);
    const file = join(tmp, 'pids.json');
    recordPids(file, [
      { pid: task.pid, taskId: 'gunicorn-task', argv: task.argv ?? [] },
      { pid: unrelated.pid ?? 0, taskId: 'not-ours' },
      { pid: recordedSleep.pid ?? 0, taskId: 'sleep-task', argv: ['sleep', '31'] },
      { pid: process.pid, taskId: 'the test itself', argv: process.argv },
    ]);
    // garbage a torn or hand-edited file could hold
    const records = JSON.parse(await readFile(file, 'utf8')) as { tasks: unknown[] };
    records.tasks.push({ pid: 0 }, { pid: -1 }, { pid: 1, argv: ['/sbin/init'] }, { pid: '12' }, { pid: 2.5 }, { pid: null }, 'x', null);
    await writeFile(file, JSON.stringify(records));

    expect(await killRecorded(file)).toBe(2);
    expect(await exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(alive(task.pid)).toBe(false);
    expect(alive(unrelated.pid ?? 0)).toBe(true);
    await new Promise((done) => (recordedSleep.exitCode !== null || recordedSleep.signalCode !== null ? done(null) : recordedSleep.once('exit', done)));
    expect(recordedSleep.signalCode).toBe('SIGKILL');
    expect(existsSync(file)).toBe(false);
  });

  it('killRecorded of a missing or unreadable file kills nothing', async () => {
    expect(await killRecorded(join(tmp, 'none.json'))).toBe(0);
    const file = join(tmp, 'garbage.json');
    await writeFile(file, '{"tasks": [');
    expect(await killRecorded(file)).toBe(0);
    expect(existsSync(file)).toBe(false);
  });
});
