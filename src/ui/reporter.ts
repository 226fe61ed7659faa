import ora, { type Ora } from 'ora';
import { suggestLocal } from './hints.js';

/**
 * Progress goes to stderr (a spinner on a terminal, plain lines elsewhere or with --json);
 * results go to stdout through `result`/`json` only.
 */
export interface Reporter {
  /** A step began; `title` says what it is doing. */
  start(id: string, title: string): void;
  /** A step finished; `summary` says what it did ("created vpc-…", "adopted …", "unchanged"). */
  succeed(id: string, summary: string): void;
  fail(id: string, summary: string): void;
  /** Progress of a long wait inside a step. */
  progress(id: string, message: string): void;
  info(message: string): void;
  warn(message: string): void;
  /** A line of the command's result, on stdout. */
  result(text: string): void;
  /** The command's result as one JSON document, on stdout. */
  json(value: unknown): void;
  stop(): void;
}

export interface ReporterOptions {
  json: boolean;
  /** --local: suggested commands get --local. */
  local?: boolean;
  /** Spinners only on an interactive terminal and never with --json. */
  interactive: boolean;
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
}

/**
 * Whether a spinner can work on this stream: a terminal that reports a width, not TERM=dumb, not
 * CI. A terminal of zero columns (some CI runners, `script`) made ora redraw its first frame
 * forever.
 */
export function canAnimate(stream: { isTTY?: boolean; columns?: number }, env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(stream.isTTY) && (stream.columns ?? 0) > 0 && env.TERM !== 'dumb' && !env.CI;
}

export function createReporter(options: ReporterOptions): Reporter {
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  const running = new Map<string, string>();
  let spinner: Ora | undefined;
  const say = (text: string): string => (options.local ? suggestLocal(text) : text);

  const spin = (): void => {
    if (!options.interactive || options.json) return;
    const text = [...running.values()].join(' · ');
    if (!text) {
      spinner?.stop();
      spinner = undefined;
      return;
    }
    if (!spinner) spinner = ora({ text, stream: stderr as NodeJS.WriteStream }).start();
    else spinner.text = text;
  };
  // Writes a permanent line above the spinner.
  const line = (text: string): void => {
    if (spinner) spinner.clear();
    stderr.write(`${say(text)}\n`);
    if (spinner) spinner.render();
  };

  return {
    start(id, title) {
      running.set(id, title);
      if (options.interactive && !options.json) spin();
      else line(`… ${title}`);
    },
    succeed(id, summary) {
      running.delete(id);
      line(`✔ ${summary}`);
      spin();
    },
    fail(id, summary) {
      running.delete(id);
      line(`✖ ${summary}`);
      spin();
    },
    progress(id, message) {
      if (options.interactive && !options.json) {
        const title = running.get(id);
        running.set(id, title ? `${title.split(' — ')[0]} — ${message}` : message);
        spin();
      } else {
        line(`  ${message}`);
      }
    },
    info(message) {
      line(message);
    },
    warn(message) {
      line(`⚠ ${message}`);
    },
    result(text) {
      if (!options.json) stdout.write(`${say(text)}\n`);
    },
    json(value) {
      stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    },
    stop() {
      running.clear();
      spinner?.stop();
      spinner = undefined;
    },
  };
}
