import { spawn } from 'node:child_process';

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  /** Written to the command's stdin (e.g. a registry password), never logged. */
  input?: string;
  /** Each line the command prints, for progress. */
  onLine?: (line: string) => void;
}

/** Runs external commands (Docker). Injectable so that tests can script it. */
export interface CommandRunner {
  /** Rejects with an ENOENT error when the command is not installed. */
  run(command: string, args: string[], options?: RunOptions): Promise<RunResult>;
}

export const spawnRunner: CommandRunner = {
  run(command, args, options = {}) {
    return new Promise((resolve, reject) => {
      // Without input the command reads an empty stdin, as in a script; with input, a command that
      // exits before reading it (an early failure) must end as its exit code, not as an EPIPE crash.
      const child = spawn(command, args, { cwd: options.cwd, stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      const collect = (append: (text: string) => void) => (chunk: Buffer) => {
        const text = chunk.toString();
        append(text);
        if (options.onLine) for (const line of text.split('\n')) if (line.trim()) options.onLine(line.trim());
      };
      // Both piped (above), whatever stdin is.
      child.stdout!.on('data', collect((t) => (stdout += t)));
      child.stderr!.on('data', collect((t) => (stderr += t)));
      child.on('error', reject);
      child.on('close', (code) => resolve({ exitCode: code ?? 1, stdout, stderr }));
      if (child.stdin) {
        child.stdin.on('error', (error: NodeJS.ErrnoException) => {
          // The command closed its stdin (exited) before reading all of it: its exit code says how it ended.
          if (error.code !== 'EPIPE') reject(error);
        });
        child.stdin.end(options.input);
      }
    });
  },
};
