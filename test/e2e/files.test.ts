/**
 * Files the user points ecs-ha at that cannot be used: each is explained with an exit code, never a
 * stack trace or a hang, and a trace that cannot be written never changes a command's outcome.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { emulatorEnv, emulatorPerFile, localEnv, runCli, tempDir } from './harness.js';

const moto = emulatorPerFile();

describe('a state folder that cannot be created or written', () => {
  it('under /proc: exit 3 at once with what to do (Node\'s recursive mkdir spun there forever, ignoring SIGTERM)', async () => {
    const started = Date.now();
    const result = await runCli(['down', '--stack', 'fs1', '--state-dir', '/proc/ecs-ha-test/state'], { cwd: tempDir(), env: emulatorEnv(moto().endpoint), timeoutMs: 30_000 });

    expect(result.signal).toBeNull();
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('error: cannot create the state folder /proc/ecs-ha-test/state');
    expect(result.stderr).toContain('hint: choose a folder you can write with --state-dir');
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(Date.now() - started).toBeLessThan(25_000);
  });

  it('up --local under /proc: exit 3 before anything starts', async () => {
    const result = await runCli(['up', '--local', '--stack', 'fs2', '--state-dir', '/proc/ecs-ha-test'], { cwd: tempDir(), env: localEnv(), timeoutMs: 30_000 });

    expect(result.signal).toBeNull();
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('cannot create the state folder /proc/ecs-ha-test');
  });

  it('a device (/dev/full) given as the state folder: exit 3, named', async () => {
    const result = await runCli(['down', '--stack', 'fs3', '--state-dir', '/dev/full'], { cwd: tempDir(), env: emulatorEnv(moto().endpoint), timeoutMs: 30_000 });

    expect(result.code).toBe(3);
    expect(result.stderr).toContain('cannot create the state folder /dev/full: a file of that name is in the way');
  });
});

describe('the trace file', () => {
  it('a folder given as --trace: exit 2 before any AWS call (the endpoint here would answer exit 3)', async () => {
    const cwd = tempDir();
    mkdirSync(join(cwd, 'traces'));
    const result = await runCli(['down', '--stack', 'fs4', '--trace', 'traces'], { cwd, env: emulatorEnv('http://127.0.0.1:9'), timeoutMs: 30_000 });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('invalid --trace "traces": it is a folder');
  });

  it('a path that cannot be created: exit 3 before any AWS call', async () => {
    const result = await runCli(['down', '--stack', 'fs5', '--trace', '/proc/ecs-ha-trace.jsonl'], { cwd: tempDir(), env: emulatorEnv('http://127.0.0.1:9'), timeoutMs: 30_000 });

    expect(result.code).toBe(3);
    expect(result.stderr).toContain('cannot write the trace file /proc/ecs-ha-trace.jsonl');
  });

  it('a trace that fails on write (a full device) warns once, stops tracing, and the command still succeeds', async () => {
    const result = await runCli(['down', '--stack', 'fs6', '--trace', '/dev/full', '--json'], { cwd: tempDir(), env: emulatorEnv(moto().endpoint), timeoutMs: 60_000 });

    expect(result.code).toBe(0);
    expect(result.stderr.match(/could not write the trace to \/dev\/full/g)).toHaveLength(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ stack: 'fs6', deleted: [] });
  });
});
