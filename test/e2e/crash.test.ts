import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { emulatorEnv, emulatorPerFile, PREBUILT_IMAGE, runCli, runCliInterrupted, tempDir, traceLines, uniqueStack } from './harness.js';
import { counts, emulatorClients, inventory, NONE, ONE_OF_EACH } from './inventory.js';

const IMAGE = PREBUILT_IMAGE;
const upArgs = (stack: string) => ['up', '--stack', stack, '--image', IMAGE, '--no-wait'];
const downArgs = (stack: string) => ['down', '--stack', stack];

const emulator = emulatorPerFile();

describe('crash safety', () => {
  // Points spread over a cold `up` (about 35 calls with --image): before, during and after each phase of the graph.
  it.each([1, 3, 5, 8, 11, 14, 18, 22, 26, 30])('up killed (SIGKILL) after %i AWS calls: the next up completes the stack with one of each, down leaves nothing', async (afterCalls) => {
    const STACK = uniqueStack('crash');
    const [UP, DOWN] = [upArgs(STACK), downArgs(STACK)];
    const cwd = tempDir();
    const env = emulatorEnv(emulator().endpoint);
    const aws = emulatorClients(emulator().endpoint);
    const killed = await runCliInterrupted(UP, { cwd, env, trace: join(cwd, 'killed.jsonl'), afterCalls, signal: 'SIGKILL' });
    expect(killed.signal).toBe('SIGKILL');

    const resumed = await runCli(UP, { cwd, env });
    expect(resumed.stderr).not.toMatch(/error:/);
    expect(resumed.code).toBe(0);
    expect(counts(await inventory(aws, STACK))).toEqual(ONE_OF_EACH);

    const down = await runCli(DOWN, { cwd, env });
    expect(down.code).toBe(0);
    expect(counts(await inventory(aws, STACK))).toEqual(NONE);
  });

  it.each([2, 6, 10, 15])('down killed (SIGKILL) after %i AWS calls: the next down removes the rest', async (afterCalls) => {
    const STACK = uniqueStack('crash');
    const [UP, DOWN] = [upArgs(STACK), downArgs(STACK)];
    const cwd = tempDir();
    const env = emulatorEnv(emulator().endpoint);
    const aws = emulatorClients(emulator().endpoint);
    expect((await runCli(UP, { cwd, env })).code).toBe(0);

    const killed = await runCliInterrupted(DOWN, { cwd, env, trace: join(cwd, 'killed.jsonl'), afterCalls, signal: 'SIGKILL' });
    expect(killed.signal).toBe('SIGKILL');

    const again = await runCli(DOWN, { cwd, env });
    expect(again.stderr).not.toMatch(/error:/);
    expect(again.code).toBe(0);
    expect(counts(await inventory(aws, STACK))).toEqual(NONE);
    expect(existsSync(join(cwd, '.ecs-ha', `${STACK}.json`))).toBe(false);
  });

  it('Ctrl-C finishes the calls in flight, saves state, releases the lock and exits 130; the next run resumes', async () => {
    const STACK = uniqueStack('crash');
    const [UP, DOWN] = [upArgs(STACK), downArgs(STACK)];
    const cwd = tempDir();
    const env = emulatorEnv(emulator().endpoint);
    const aws = emulatorClients(emulator().endpoint);
    const interrupted = await runCliInterrupted(UP, { cwd, env, trace: join(cwd, 'int.jsonl'), afterCalls: 8, signal: 'SIGINT' });
    expect(interrupted.stderr).toContain('interrupted');
    expect(interrupted.code).toBe(130);
    expect(existsSync(join(cwd, '.ecs-ha', `${STACK}.lock`))).toBe(false);
    const saved = JSON.parse(readFileSync(join(cwd, '.ecs-ha', `${STACK}.json`), 'utf8'));
    expect(Object.keys(saved.resources).length).toBeGreaterThan(0);
    expect(saved.resources.service).toBeUndefined();

    const resumed = await runCli(UP, { cwd, env });
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).not.toContain('stale lock');
    expect(counts(await inventory(aws, STACK))).toEqual(ONE_OF_EACH);
    expect((await runCli(DOWN, { cwd, env })).code).toBe(0);
  });

  it('a second run on the same stack refuses and names the holder; a lock left by a killed run is taken over', async () => {
    const STACK = uniqueStack('crash');
    const [UP, DOWN] = [upArgs(STACK), downArgs(STACK)];
    const cwd = tempDir();
    const env = emulatorEnv(emulator().endpoint);
    const trace = join(cwd, 'first.jsonl');
    // Hold the lock with a run we stop (SIGSTOP) mid-way, so the timing cannot race.
    const first = runCliInterrupted(UP, { cwd, env, trace, afterCalls: 4, signal: 'SIGSTOP' });
    while (traceLines(trace) < 4) await new Promise((r) => setTimeout(r, 10));
    const lock = JSON.parse(readFileSync(join(cwd, '.ecs-ha', `${STACK}.lock`), 'utf8'));

    const second = await runCli(UP, { cwd, env });
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`stack "${STACK}" is locked by \`ecs-ha up\` (pid ${lock.pid}`);

    process.kill(lock.pid, 'SIGKILL');
    await first;
    const third = await runCli(UP, { cwd, env });
    expect(third.stderr).toContain(`took over a stale lock left by pid ${lock.pid}`);
    expect(third.code).toBe(0);
    expect((await runCli(DOWN, { cwd, env })).code).toBe(0);
  });
});
