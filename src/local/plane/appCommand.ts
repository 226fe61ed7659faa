/**
 * How the app's image would start it, read from its Dockerfile: the exec-form ENTRYPOINT/CMD and
 * the ENV of the final stage. The local plane runs that command as a process instead of a container.
 */
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';

export interface AppCommand {
  argv: string[];
  env: Record<string, string>;
}

/** An exec form, or the raw instruction of a shell form (which the plane refuses to guess at). */
type Command = string[] | { shell: string };

interface Stage {
  env: Record<string, string>;
  entrypoint?: Command;
  cmd?: Command;
  /** Whether this stage itself set CMD (an inherited CMD is reset by a new ENTRYPOINT, as in Docker). */
  ownCmd?: boolean;
}

/**
 * Parses `<appDir>/Dockerfile`. `baseEnv` stands in for the base image's environment when an ENV
 * refers to a variable the Dockerfile did not set (`ENV PATH=/app/bin:$PATH`).
 */
export function readAppCommand(appDir: string, baseEnv: Record<string, string> = {}): AppCommand {
  const file = join(appDir, 'Dockerfile');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`cannot read ${file}: ${(error as Error).message}`);
  }
  return parseDockerfile(text, file, baseEnv);
}

export function parseDockerfile(text: string, file: string, baseEnv: Record<string, string> = {}): AppCommand {
  const stages = new Map<string, Stage>();
  let stage: Stage = { env: {} };
  for (const { instruction, args } of instructions(text)) {
    switch (instruction) {
      case 'FROM': {
        // `FROM builder AS final` inherits an earlier stage; any other image starts afresh.
        const [image = '', as, name] = args.split(/\s+/).filter((word) => !word.startsWith('--'));
        const parent = stages.get(image.toLowerCase());
        stage = parent ? { ...parent, env: { ...parent.env }, ownCmd: false } : { env: {} };
        if (as?.toUpperCase() === 'AS' && name) stages.set(name.toLowerCase(), stage);
        break;
      }
      case 'ENV':
        for (const [key, value] of parseEnv(args, { ...baseEnv, ...stage.env })) stage.env[key] = value;
        break;
      case 'CMD':
        stage.cmd = execForm(args) ?? { shell: `CMD ${args}` };
        stage.ownCmd = true;
        break;
      case 'ENTRYPOINT':
        stage.entrypoint = execForm(args) ?? { shell: `ENTRYPOINT ${args}` };
        if (!stage.ownCmd) stage.cmd = undefined;
        break;
    }
  }
  const parts = [stage.entrypoint ?? [], stage.cmd ?? []].map((part) => {
    if (Array.isArray(part)) return part;
    const [keyword] = part.shell.split(' ');
    throw new Error(`${file}: "${part.shell}" is in shell form; the local plane runs only the exec form: ${keyword} ["program", "arg", ...]`);
  });
  const argv = parts.flat();
  if (argv.length === 0) throw new Error(`${file} has no exec-form CMD (CMD ["program", "arg", ...]): nothing to run`);
  return { argv, env: stage.env };
}

/**
 * The command with its program resolved through the given Python, so that it does not depend on
 * console scripts (`gunicorn`) being on PATH or on the image's interpreter path.
 */
export function localArgv(argv: readonly string[], python = 'python3'): string[] {
  const [program = '', ...rest] = argv;
  const name = basename(program);
  if (name === 'gunicorn') return [python, '-m', 'gunicorn', ...rest];
  if (/^python(3(\.\d+)?)?$/.test(name)) return [python, ...rest];
  return [...argv];
}

/** Logical lines (continuations joined, comments dropped) split into instruction and arguments. */
function* instructions(text: string): Generator<{ instruction: string; args: string }> {
  let pending = '';
  for (const raw of text.split(/\r?\n/)) {
    // Inside a continuation, Docker skips comment and blank lines.
    if (/^\s*#/.test(raw) || (pending && raw.trim() === '')) continue;
    const continued = /\\\s*$/.test(raw);
    pending += continued ? raw.replace(/\\\s*$/, '') : raw;
    if (continued) continue;
    const match = /^\s*(\S+)\s*(.*)$/s.exec(pending);
    pending = '';
    if (match?.[1]) yield { instruction: match[1].toUpperCase(), args: (match[2] ?? '').trim() };
  }
  const last = /^\s*(\S+)\s*(.*)$/s.exec(pending);
  if (last?.[1]) yield { instruction: last[1].toUpperCase(), args: (last[2] ?? '').trim() };
}

/** A JSON array of strings is the exec form; anything else is the shell form (as Docker decides). */
function execForm(args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined;
  try {
    const parsed: unknown = JSON.parse(args);
    if (Array.isArray(parsed) && parsed.every((item) => typeof item === 'string')) return parsed as string[];
  } catch {
    // not JSON: shell form
  }
  return undefined;
}

/** `K=V K2="v 2"` pairs, or the legacy `K V` (the rest of the line is the value). */
function parseEnv(args: string, env: Record<string, string>): Array<[string, string]> {
  const first = /^([^\s=]+)(\s+|$)/.exec(args);
  if (first?.[1]) {
    return [[first[1], expandWord(args.slice(first[0].length), env)]];
  }
  // Docker expands every value of one ENV line against the environment before that line.
  return splitWords(args).map((word): [string, string] => {
    const eq = word.indexOf('=');
    if (eq <= 0) throw new Error(`ENV ${args}: "${word}" is not KEY=VALUE`);
    return [word.slice(0, eq), expandWord(word.slice(eq + 1), env)];
  });
}

/** Splits on whitespace outside quotes, keeping quotes and escapes for expandWord. */
function splitWords(text: string): string[] {
  const words: string[] = [];
  let word = '';
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (ch === '\\' && quote !== "'" && i + 1 < text.length) {
      word += ch + text[++i];
    } else if (quote) {
      if (ch === quote) quote = undefined;
      word += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      word += ch;
    } else if (/\s/.test(ch)) {
      if (word) words.push(word);
      word = '';
    } else {
      word += ch;
    }
  }
  if (word) words.push(word);
  return words;
}

/** Removes quotes, resolves escapes and substitutes $VAR, ${VAR}, ${VAR:-word}, ${VAR:+word}. */
function expandWord(word: string, env: Record<string, string>): string {
  let out = '';
  let quote: string | undefined;
  for (let i = 0; i < word.length; i++) {
    const ch = word[i] as string;
    if (quote === "'") {
      if (ch === "'") quote = undefined;
      else out += ch;
    } else if (ch === '\\' && i + 1 < word.length) {
      // Within double quotes only \" \$ and \\ are escapes; elsewhere the backslash stays.
      const next = word[++i] as string;
      out += quote === '"' && !'"$\\'.includes(next) ? ch + next : next;
    } else if (ch === '"' || (ch === "'" && !quote)) {
      quote = quote === ch ? undefined : ch;
    } else if (ch === '$') {
      const braced = /^\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([-+])([^}]*))?\}/.exec(word.slice(i));
      const plain = /^\$([A-Za-z_][A-Za-z0-9_]*)/.exec(word.slice(i));
      if (braced?.[1]) {
        const value = env[braced[1]] ?? '';
        if (braced[2] === '-') out += value || expandWord(braced[3] ?? '', env);
        else if (braced[2] === '+') out += value ? expandWord(braced[3] ?? '', env) : '';
        else out += value;
        i += braced[0].length - 1;
      } else if (plain?.[1]) {
        out += env[plain[1]] ?? '';
        i += plain[0].length - 1;
      } else {
        out += ch;
      }
    } else {
      out += ch;
    }
  }
  return out;
}
