/**
 * The Python that `--local` runs moto, the plane's tasks and (in the test run) pytest with. The
 * base interpreter (ECS_HA_PYTHON, else python3, else python) is used as it is when it has every
 * pinned package; otherwise ecs-ha makes its own virtual environment once, in the user's cache
 * folder, that reuses the base's packages (--system-site-packages) and adds only the missing pins.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { EnvironmentError, InterruptedError } from '../errors.js';
import { ensurePrivateDir } from '../fs/safe.js';
import { isProcessAlive } from '../process/alive.js';

/** The emulator, at the version ecs-ha is tested with. */
export const MOTO_REQUIREMENT = 'moto[server]==5.2.1';
/** What the test run adds (npm test): the container app's own suite runs under pytest. */
export const PYTEST_REQUIREMENT = 'pytest==9.1.1';
export const PYTHON_VARIABLE = 'ECS_HA_PYTHON';
/** Written last into a finished environment: a folder without it is never used. */
export const COMPLETE_MARKER = '.ecs-ha-complete';
const MINIMUM = [3, 9] as const;

export interface Requirement {
  /** As pip takes it: `moto[server]==5.2.1`. */
  line: string;
  name: string;
  extras: string[];
  version: string;
}

export interface ResolvedPython {
  /** The interpreter to start everything with (`<python> -m moto.server`, `<python> -m gunicorn`). */
  python: string;
  /** The base interpreter's own executable. */
  base: string;
  /** ecs-ha's environment, when the base lacks something. */
  venv?: string;
  /** What this call installed (empty when nothing was missing or the environment existed). */
  installed: string[];
}

export interface ResolveOptions {
  /** The folder of the bundled app: its requirements.txt pins Flask, gunicorn and the rest. */
  requirementsDir: string;
  /** More pins to have, e.g. PYTEST_REQUIREMENT. */
  extras?: string[];
  env?: NodeJS.ProcessEnv;
  /** Progress for stderr: what is installed, and how long it took. */
  onProgress?: (text: string) => void;
}

/** What the probe script reports about an interpreter. */
interface Probe {
  version: string;
  executable: string;
  realpath: string;
  prefix: string;
  /** Per requirement name: the installed version (null when absent) and the dists its extras need that are absent. */
  installed?: Record<string, { version: string | null; extrasMissing: string[] }>;
  pip?: boolean;
  /** A base that is a virtual environment: its own site folders. */
  sitePackages?: string[];
}

// Valid Python 2 as well, so that an old interpreter can say what it is before it is refused.
const PROBE = String.raw`
import json, os, sys
info = {"version": ".".join(str(n) for n in sys.version_info[:3]), "executable": sys.executable,
        "realpath": os.path.realpath(sys.executable), "prefix": sys.prefix}
if sys.version_info >= (3, 9):
    import importlib.metadata as md, importlib.util, re, site
    def variants(name):
        return [name, name.lower(), name.replace("-", "_"), name.lower().replace("-", "_"), name.lower().replace("_", "-")]
    def installed(name):
        for n in variants(name):
            try:
                return md.version(n)
            except Exception:
                pass
        return None
    def requires(name):
        for n in variants(name):
            try:
                return md.requires(n) or []
            except Exception:
                pass
        return []
    try:
        from packaging.markers import Marker
    except Exception:
        try:
            from pip._vendor.packaging.markers import Marker
        except Exception:
            Marker = None
    def needed(marker, extras):
        if not any(re.search(r"extra\s*==\s*['\"]%s['\"]" % re.escape(e), marker) for e in extras):
            return False
        if Marker is None:
            return True
        try:
            return any(Marker(marker).evaluate({"extra": e}) for e in extras)
        except Exception:
            return True
    found = {}
    for name, extras in json.loads(sys.argv[1]):
        version = installed(name)
        missing = []
        if version is not None and extras:
            for line in requires(name):
                requirement, _, marker = line.partition(";")
                dist = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
                if marker and dist and needed(marker, extras) and installed(dist.group(1)) is None:
                    missing.append(dist.group(1))
        found[name] = {"version": version, "extrasMissing": missing}
    info["installed"] = found
    info["pip"] = importlib.util.find_spec("pip") is not None
    # A virtual environment's own site folders; those of a plain install are its venv's system site-packages anyway.
    in_venv = sys.prefix != getattr(sys, "base_prefix", sys.prefix) or hasattr(sys, "real_prefix")
    own = site.getsitepackages() if in_venv and hasattr(site, "getsitepackages") else []
    info["sitePackages"] = [d for d in own if os.path.realpath(d).startswith(os.path.realpath(sys.prefix))]
sys.stdout.write(json.dumps(info))
`;

/** `name[extra,...]==version`; anything else is refused, naming where it was read. */
export function parseRequirement(line: string, source = 'requirement'): Requirement {
  const match = /^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[([A-Za-z0-9._,\s-]*)\])?==([A-Za-z0-9.!+_-]+)$/.exec(line.trim());
  if (!match) throw new EnvironmentError(`${source}: "${line}" is not a pinned requirement (name==version)`, 'pin every package the local data plane needs with ==');
  const extras = (match[2] ?? '').split(',').map((extra) => extra.trim()).filter(Boolean);
  return { line: line.trim(), name: match[1]!, extras, version: match[3]! };
}

/** The pins --local needs: moto, the bundled app's requirements.txt, then the extras. */
export function pinnedRequirements(requirementsDir: string, extras: readonly string[] = []): Requirement[] {
  const file = join(requirementsDir, 'requirements.txt');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new EnvironmentError(`cannot read ${file}: ${(error as Error).message}`, 'reinstall ecs-ha: its container folder is incomplete');
  }
  const app = text
    .split(/\r?\n/)
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => parseRequirement(line, file));
  return [parseRequirement(MOTO_REQUIREMENT), ...app, ...extras.map((line) => parseRequirement(line))];
}

/** Present: the distribution is installed at the pin's major version, with what its extras need. */
function isPresent(requirement: Requirement, probe: Probe): boolean {
  const found = probe.installed?.[requirement.name];
  if (!found?.version || found.extrasMissing.length > 0) return false;
  return found.version.split('.')[0] === requirement.version.split('.')[0];
}

/** `$XDG_CACHE_HOME/ecs-ha` (an absolute one only, as the XDG spec says), else `~/.cache/ecs-ha`. */
export function cacheFolder(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CACHE_HOME;
  return join(xdg && isAbsolute(xdg) ? xdg : join(env.HOME || homedir(), '.cache'), 'ecs-ha');
}

export function venvPython(folder: string): string {
  return process.platform === 'win32' ? join(folder, 'Scripts', 'python.exe') : join(folder, 'bin', 'python');
}

/** The one folder for this base interpreter and the pins it lacks: a venv belongs to one interpreter. */
export function environmentFolder(cache: string, probe: Pick<Probe, 'realpath' | 'prefix' | 'version'>, missing: readonly Requirement[]): string {
  const identity = JSON.stringify({ python: probe.realpath, prefix: probe.prefix, version: probe.version, pins: missing.map((r) => r.line).sort() });
  return join(cache, `python-${createHash('sha256').update(identity).digest('hex').slice(0, 12)}`);
}

function isComplete(folder: string): boolean {
  return existsSync(join(folder, COMPLETE_MARKER)) && existsSync(venvPython(folder));
}

/** Shell-quoted where needed, for the one command a message shows. */
function shellWord(word: string): string {
  return /^[A-Za-z0-9._=+\/:@-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

export function installCommand(python: string, missing: readonly Requirement[]): string {
  return [shellWord(python), '-m', 'pip', 'install', ...missing.map((r) => shellWord(r.line))].join(' ');
}

interface RunResult {
  code: number | null;
  signal?: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  error?: NodeJS.ErrnoException;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<RunResult> {
  return new Promise((done) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-20_000)));
    child.on('error', (error: NodeJS.ErrnoException) => done({ code: null, stdout, stderr, error }));
    child.on('close', (code, signal) => done({ code, signal, stdout, stderr }));
  });
}

/** The last few lines of a tool's output (its ERROR lines, when it printed some), on one line. */
function lastLines(text: string, count = 3): string {
  const lines = text.trim().split('\n').map((line) => line.trim()).filter(Boolean);
  const errors = lines.filter((line) => line.startsWith('ERROR:'));
  return (errors.length > 0 ? errors : lines).slice(-count).join(' | ');
}

/** Ctrl-C reaches the child too: that is an interruption, not a failed install. */
function throwIfInterrupted(result: RunResult, what: string): void {
  if (result.signal === 'SIGINT' || result.signal === 'SIGTERM') throw new InterruptedError(`interrupted while ${what}; nothing was kept, the next run starts again`);
}

const INSTALL_PYTHON = `install Python ${MINIMUM.join('.')} or newer, or set ${PYTHON_VARIABLE} to one (a path or a command name)`;

/** Runs the probe with ECS_HA_PYTHON, else python3, else python; refuses a missing or too old one. */
async function probeBase(env: NodeJS.ProcessEnv, requirements: readonly Requirement[]): Promise<{ command: string; probe: Probe }> {
  const chosen = env[PYTHON_VARIABLE];
  const candidates = chosen ? [chosen] : ['python3', 'python'];
  const names = JSON.stringify(requirements.map((r) => [r.name, r.extras]));
  for (const command of candidates) {
    const result = await run(command, ['-c', PROBE, names], env);
    if (result.error?.code === 'ENOENT' && command !== candidates.at(-1)) continue;
    const what = chosen ? `${PYTHON_VARIABLE}=${chosen}` : command;
    if (result.error) {
      const tried = chosen ? what : candidates.join(' or ');
      throw new EnvironmentError(`--local needs Python ${MINIMUM.join('.')} or newer, and ${tried} cannot be run: ${result.error.message}`, INSTALL_PYTHON);
    }
    let probe: Probe;
    try {
      probe = JSON.parse(result.stdout) as Probe;
    } catch {
      throw new EnvironmentError(`--local needs Python ${MINIMUM.join('.')} or newer, and ${what} did not run as one (exit ${result.code}${lastLines(result.stderr) ? `: ${lastLines(result.stderr)}` : ''})`, INSTALL_PYTHON);
    }
    const [major = 0, minor = 0] = probe.version.split('.').map(Number);
    if (major < MINIMUM[0] || (major === MINIMUM[0] && minor < MINIMUM[1]) || !probe.installed) {
      throw new EnvironmentError(`--local needs Python ${MINIMUM.join('.')} or newer; ${what} is Python ${probe.version} (${probe.executable})`, INSTALL_PYTHON);
    }
    return { command, probe };
  }
  throw new EnvironmentError(`--local needs Python ${MINIMUM.join('.')} or newer, and none was found`, INSTALL_PYTHON);
}

/**
 * The interpreter `--local` uses. Costs one short Python process when nothing is missing or the
 * environment exists; otherwise makes the environment (seconds) and says so through onProgress.
 */
export async function resolvePython(options: ResolveOptions): Promise<ResolvedPython> {
  const env = options.env ?? process.env;
  const requirements = pinnedRequirements(options.requirementsDir, options.extras);
  const { command, probe } = await probeBase(env, requirements);
  const base = probe.executable || command;
  const missing = requirements.filter((requirement) => !isPresent(requirement, probe));
  if (missing.length === 0) return { python: base, base, installed: [] };
  const cache = cacheFolder(env);
  const folder = environmentFolder(cache, probe, missing);
  if (isComplete(folder)) return { python: venvPython(folder), base, venv: folder, installed: [] };
  await buildEnvironment({ folder, cache, base, command, probe, missing, env, onProgress: options.onProgress ?? (() => undefined) });
  return { python: venvPython(folder), base, venv: folder, installed: missing.map((r) => r.line) };
}

interface Build {
  folder: string;
  cache: string;
  base: string;
  /** How the user names the base interpreter, for the command a message shows. */
  command: string;
  probe: Probe;
  missing: Requirement[];
  env: NodeJS.ProcessEnv;
  onProgress: (text: string) => void;
}

/** What every failure to build says first: the pins and the interpreter that lacks them. */
function lacking(build: Build): string {
  return `--local needs ${build.missing.map((r) => r.line).join(' ')}, which ${build.command} lacks`;
}
const them = (build: Build): string => (build.missing.length === 1 ? 'it' : 'them');
/** The one command that installs what is missing without ecs-ha's environment. */
const yourself = (build: Build): string => `or install ${them(build)} into ${build.command} yourself: ${installCommand(build.command, build.missing)}`;

/** Makes the environment in a temporary sibling and renames it into place; a failure leaves nothing. */
async function buildEnvironment(build: Build): Promise<void> {
  const { folder, cache, probe, missing } = build;
  const temp = join(cache, `.${basename(folder)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  try {
    ensurePrivateDir(cache, 'the cache folder');
    removeLeftovers(cache, folder);
    mkdirSync(temp);
  } catch (error) {
    const reason = error instanceof EnvironmentError ? error.message : `cannot write the cache folder ${cache}: ${(error as Error).message}`;
    throw new EnvironmentError(`${lacking(build)}; ecs-ha installs ${them(build)} into its own environment in ${cache}, but ${reason}`, `set XDG_CACHE_HOME to a folder you can write, ${yourself(build)}`);
  }
  build.onProgress(`installing ${missing.map((r) => r.line).join(' ')} into ${folder} (once; later runs reuse it)`);
  const started = Date.now();
  try {
    await createVenv(build, temp);
    await pipInstall(build, temp);
    pointAt(temp, folder);
    writeFileSync(join(temp, COMPLETE_MARKER), `${JSON.stringify({ base: build.base, version: probe.version, installed: missing.map((r) => r.line), createdAt: new Date().toISOString() })}\n`);
    moveIntoPlace(temp, folder);
  } catch (error) {
    rmSync(temp, { recursive: true, force: true });
    throw error;
  }
  build.onProgress(`installed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/** A markerless final folder (made by hand, or by an older ecs-ha) and the temporary folders of runs that were killed. */
function removeLeftovers(cache: string, folder: string): void {
  if (existsSync(folder) && !isComplete(folder)) rmSync(folder, { recursive: true, force: true });
  for (const name of readdirSync(cache)) {
    const pid = /^\.python-[0-9a-f]+\.(\d+)-[0-9a-f]+\.tmp$/.exec(name)?.[1];
    if (pid && !isProcessAlive(Number(pid))) rmSync(join(cache, name), { recursive: true, force: true });
  }
}

async function createVenv(build: Build, temp: string): Promise<void> {
  // With pip in the base, the venv runs that pip (seen through the system site-packages): no ensurepip, a second faster.
  const args = ['-m', 'venv', '--system-site-packages', ...(build.probe.pip ? ['--without-pip'] : []), temp];
  const result = await run(build.base, args, build.env);
  throwIfInterrupted(result, 'making the Python environment');
  if (result.code !== 0 || !existsSync(venvPython(temp))) {
    const output = lastLines(`${result.stdout}\n${result.stderr}`) || result.error?.message || `exit ${result.code}`;
    const debian = /ensurepip|python3(\.\d+)?-venv/.test(output) ? 'on Debian or Ubuntu install python3-venv (sudo apt install python3-venv), ' : '';
    throw new EnvironmentError(
      `${lacking(build)}, and \`${build.command} -m venv\` cannot make ecs-ha's environment for ${them(build)}: ${output}`,
      `${debian || 'install the venv module for it, '}${yourself(build)}`,
    );
  }
  // A base that is itself a virtual environment: the new one's --system-site-packages are the
  // interpreter's beneath it, so its own site folders (and their .pth files) are added here.
  const lib = join(temp, 'lib');
  const siteDir = process.platform === 'win32' ? join(temp, 'Lib', 'site-packages') : join(lib, readdirSync(lib).find((name) => name.startsWith('python')) ?? 'python', 'site-packages');
  const lines = (build.probe.sitePackages ?? []).map((dir) => `import site; site.addsitedir(${JSON.stringify(dir)})`);
  if (lines.length > 0 && existsSync(siteDir)) writeFileSync(join(siteDir, '_ecs_ha_base.pth'), `${lines.join('\n')}\n`);
}

async function pipInstall(build: Build, temp: string): Promise<void> {
  // The user's pip configuration (index, mirror, certificates) applies; a user or target install would go elsewhere.
  const env: NodeJS.ProcessEnv = { ...build.env, PIP_USER: '0', PIP_REQUIRE_VIRTUALENV: '0' };
  for (const key of ['PIP_TARGET', 'PIP_PREFIX', 'PIP_ROOT']) delete env[key];
  const args = ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-input', ...build.missing.map((r) => r.line)];
  const result = await run(venvPython(temp), args, env);
  if (result.code === 0) return;
  throwIfInterrupted(result, `installing ${build.missing.map((r) => r.line).join(' ')}`);
  const output = `${result.stdout}\n${result.stderr}`;
  if (/No module named pip\b/.test(output)) {
    throw new EnvironmentError(`${lacking(build)}, and it has no pip to install ${them(build)} with`, `install pip for ${build.command} (on Debian or Ubuntu: sudo apt install python3-pip), then run ecs-ha again`);
  }
  throw new EnvironmentError(
    `${lacking(build)}, and installing ${them(build)} failed (pip: ${lastLines(output) || result.error?.message || `exit ${result.code}`})`,
    `make a package index reachable (pip's own configuration is used) and run ecs-ha again, ${yourself(build)}`,
  );
}

/**
 * Everything ecs-ha starts is `<venv>/bin/python -m …`, which works from any folder; console
 * scripts (bin/gunicorn) and activate scripts name the folder they were made in: the final one.
 */
function pointAt(temp: string, folder: string): void {
  const bin = dirname(venvPython(temp));
  for (const entry of readdirSync(bin, { withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = join(bin, entry.name);
    const text = readFileSync(file, 'latin1');
    if (text.includes(temp)) writeFileSync(file, text.split(temp).join(folder), 'latin1');
  }
}

/** Two runs at once each build their own; the first rename wins, the other discards its copy and uses the winner's. */
function moveIntoPlace(temp: string, folder: string): void {
  try {
    renameSync(temp, folder);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if ((code === 'ENOTEMPTY' || code === 'EEXIST') && isComplete(folder)) {
      rmSync(temp, { recursive: true, force: true });
      return;
    }
    throw new EnvironmentError(`cannot move ecs-ha's Python environment into ${folder}: ${(error as Error).message}`, `remove ${dirname(folder)} and run ecs-ha again`);
  }
}
