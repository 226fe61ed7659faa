/**
 * `down --local` acts on the emulator info file: one planted or corrupted must make it signal
 * nothing it names, and say what it found.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { planeEnvironment, runningEmulator, stopEmulator } from '../../../src/local/emulator.js';
import { isProcessAlive } from '../../../src/process/alive.js';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

/** A live process that is not ours: a sleeping node, as another program of the user would be. */
function bystander(): ChildProcess {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  children.push(child);
  return child;
}

function plant(info: unknown): { dir: string; notices: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'ecs-ha-info-'));
  writeFileSync(join(dir, 'demo.emulator.json'), JSON.stringify(info));
  return { dir, notices: [] };
}

const valid = (pid: number, overrides: Record<string, unknown> = {}) => ({
  pid,
  endpointUrl: 'http://127.0.0.1:9',
  motoPid: pid,
  motoUrl: 'http://127.0.0.1:9',
  appDir: '.',
  timeScale: 1,
  startedAt: new Date().toISOString(),
  ...overrides,
});

describe('an emulator info file that is not the stack\'s plane', () => {
  it('a live process of the user (as plane and as moto) is not signalled; the user is told', async () => {
    const other = bystander();
    const { dir, notices } = plant(valid(other.pid!));

    expect(await stopEmulator(dir, 'demo', (text) => notices.push(text))).toBe(false);

    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(isProcessAlive(other.pid!)).toBe(true);
    expect(notices.join('\n')).toMatch(new RegExp(`process ${other.pid} does not answer as the local AWS of stack "demo" .*it was not signalled`));
    expect(existsSync(join(dir, 'demo.emulator.json'))).toBe(false);
  });

  it.each([
    ['a negative pid (it would signal a whole process group)', -1 * process.pid, /its pid -\d+ is not a process id/],
    ['pid 1', 1, /its pid 1 is not a process id/],
    ['a pid that is not a number', '123', /its pid "123" is not a process id/],
  ])('%s: nothing signalled, and said', async (_what, pid, said) => {
    const { dir, notices } = plant(valid(0, { pid }));

    expect(await runningEmulator(dir, 'demo', (text) => notices.push(text))).toBeUndefined();

    expect(notices.join('\n')).toMatch(said);
  });

  it('an endpoint that is not a loopback URL is not trusted, even when its pid is alive', async () => {
    const other = bystander();
    const { dir, notices } = plant(valid(other.pid!, { endpointUrl: 'http://10.0.0.5:4566' }));

    expect(await stopEmulator(dir, 'demo', (text) => notices.push(text))).toBe(false);

    expect(isProcessAlive(other.pid!)).toBe(true);
    expect(notices.join('\n')).toContain('its endpoint "http://10.0.0.5:4566" is not a loopback URL');
  });

  it('a file that is not JSON is said to be so', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ecs-ha-info-'));
    writeFileSync(join(dir, 'demo.emulator.json'), '{"pid": 12');
    const notices: string[] = [];

    expect(await runningEmulator(dir, 'demo', (text) => notices.push(text))).toBeUndefined();

    expect(notices.join('\n')).toContain('it is not valid JSON');
  });
});

describe('the environment of the local AWS', () => {
  it('never carries the user\'s AWS credentials, profile or endpoint: only what runs Python', () => {
    const parent = {
      PATH: '/usr/bin',
      HOME: '/home/u',
      VIRTUAL_ENV: '/venv',
      AWS_ACCESS_KEY_ID: 'AKIAREALKEY',
      AWS_SECRET_ACCESS_KEY: 'real-secret',
      AWS_SESSION_TOKEN: 'token',
      AWS_PROFILE: 'prod',
      AWS_ENDPOINT_URL: 'https://example.invalid',
      ECS_HA_TRACE: 'trace.jsonl',
    };

    expect(planeEnvironment(parent)).toEqual({ PATH: '/usr/bin', HOME: '/home/u', VIRTUAL_ENV: '/venv' });
  });
});
