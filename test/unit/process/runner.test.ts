/**
 * The one way ecs-ha runs an external command (docker). A command that exits before it reads its
 * stdin (seen with a `docker` that answers at once) must end as an ordinary result with its exit
 * code and output: before, the write to its closed stdin crashed ecs-ha with a raw EPIPE.
 */
import { describe, expect, it } from 'vitest';
import { spawnRunner } from '../../../src/process/runner.js';

const node = process.execPath;

describe('spawnRunner', () => {
  it('a command that exits at once without reading the input it was given: its exit code and output, no EPIPE', async () => {
    // More than a pipe holds, so the write cannot finish before the command is gone.
    const input = 'x'.repeat(4 * 1024 * 1024);
    const result = await spawnRunner.run(node, ['-e', 'process.stderr.write("no login today"); process.exit(3)'], { input });
    expect(result).toEqual({ exitCode: 3, stdout: '', stderr: 'no login today' });
  });

  it('a command given no input reads an empty stdin and is not left waiting for one', async () => {
    const result = await spawnRunner.run(node, ['-e', 'let n = 0; process.stdin.on("data", (c) => (n += c.length)).on("end", () => console.log(`read ${n}`))']);
    expect(result).toEqual({ exitCode: 0, stdout: 'read 0\n', stderr: '' });
  });

  it('passes the input to a command that reads it, and each line to onLine', async () => {
    const lines: string[] = [];
    const result = await spawnRunner.run(node, ['-e', 'process.stdin.pipe(process.stdout)'], { input: 'secret\nsecond line\n', onLine: (line) => lines.push(line) });
    expect(result.stdout).toBe('secret\nsecond line\n');
    expect(lines).toEqual(['secret', 'second line']);
  });

  it('a command that is not installed rejects with ENOENT', async () => {
    await expect(spawnRunner.run('ecs-ha-no-such-command', [])).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
