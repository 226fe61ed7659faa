/**
 * A first-time user's terminal: one that reports zero columns (some CI runners, `script`) froze
 * `up` on its first spinner frame, wrote escape codes without end and ignored Ctrl-C. The CLI runs
 * here under a real pseudo-terminal of size 0x0 and is interrupted.
 */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { CLI, emulatorEnv, emulatorPerFile, PREBUILT_IMAGE, runCli, tempDir, uniqueStack } from './harness.js';

const emulator = emulatorPerFile();
const PTY = resolve('test/fixtures/terminal/zero-size-pty.py');

function underZeroSizeTerminal(args: string[], signal: 'SIGINT' | 'SIGTERM', afterSeconds: number): { bytes: number; exit: number; seconds: number; output: string } {
  const cwd = tempDir();
  const env = { ...emulatorEnv(emulator().endpoint), TERM: 'xterm-256color' };
  // The interrupted stack goes: moto allows one private DNS namespace per VPC, and the next test makes its own.
  const stack = args[args.indexOf('--stack') + 1]!;
  onTestFinished(async () => {
    await runCli(['down', '--stack', stack], { cwd, env });
  });
  delete (env as Record<string, string | undefined>).CI;
  const out = execFileSync('python3', [PTY, String(afterSeconds), signal, '20', '--', process.execPath, CLI, ...args], { cwd, env, encoding: 'utf8', timeout: 60_000 });
  return JSON.parse(out) as { bytes: number; exit: number; seconds: number; output: string };
}

describe('a terminal that reports zero columns', () => {
  it.each(['SIGINT', 'SIGTERM'] as const)('up draws no spinner, and %s ends it with the state saved (exit 130)', (signal) => {
    // Interrupted, usually while it waits to see whether the endpoint runs tasks (plain moto never does).
    const run = underZeroSizeTerminal(['up', '--stack', uniqueStack('tty'), '--image', PREBUILT_IMAGE], signal, 4);
    expect(run.exit, run.output).toBe(130);
    expect(run.seconds).toBeLessThan(10);
    expect(run.bytes).toBeLessThan(50_000);
    // ora hides the cursor (ESC[?25l) while it spins: no spinner was drawn.
    expect(run.output).not.toContain('\u001b[?25l');
    // Interrupted while waiting ("the state is saved") or, on a slow machine, while steps still ran ("… was saved").
    expect(run.output).toMatch(/the state (is|was) saved/);
  });
});
