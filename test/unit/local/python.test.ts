import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../../../src/errors.js';
import { COMPLETE_MARKER, pinnedRequirements, PYTEST_REQUIREMENT, resolvePython, venvPython } from '../../../src/local/python.js';

const APP_DIR = resolve('container');
/** Every pin --local needs, by the name the probe reports it under. */
const PINS = pinnedRequirements(APP_DIR);
const roots: string[] = [];
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

interface StandIn {
  /** A folder with the stand-in as `python3` (and `mypython`): put it on PATH. */
  bin: string;
  /** Its path. */
  python: string;
  /** What was run: `venv …` and `pip …` lines. */
  calls(): string[];
  /** A fresh XDG_CACHE_HOME. */
  cache: string;
}

/**
 * A stand-in interpreter: answers the probe with `version` and the pins it has (all but `lacks`),
 * makes a "venv" whose python logs `pip …` calls. FAKE_PIP_FAIL=1 makes pip fail, FAKE_PIP_SLEEP
 * slows it, FAKE_PIP_INTERRUPT=1 stands for Ctrl-C, FAKE_VENV_FAIL=1 makes `-m venv` fail as on Debian without python3-venv.
 */
function standIn(options: { version?: string; lacks?: string[]; pip?: boolean } = {}): StandIn {
  const root = mkdtempSync(join(tmpdir(), 'ecs-ha-python-test-'));
  roots.push(root);
  const bin = join(root, 'bin');
  mkdirSync(bin);
  const python = join(bin, 'python3');
  const log = join(root, 'calls.log');
  const installed = Object.fromEntries(PINS.filter((pin) => !options.lacks?.includes(pin.name)).map((pin) => [pin.name, { version: pin.version, extrasMissing: [] }]));
  // The probe script reports packages from Python 3 on (its 3.9 check is ecs-ha's own: the stand-in for 3.8 reports them).
  const modern = !(options.version ?? '3').startsWith('2.');
  const probe = { version: options.version ?? '3.11.7', executable: python, realpath: python, prefix: root, ...(modern ? { installed, pip: options.pip ?? true, sitePackages: [] } : {}) };
  writeFileSync(join(root, 'probe.json'), JSON.stringify(probe));
  writeFileSync(
    join(root, 'venv-python'),
    [
      '#!/bin/sh',
      'if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then',
      '  shift 2',
      `  echo "pip $*" >> '${log}'`,
      '  [ -n "$FAKE_PIP_SLEEP" ] && sleep "$FAKE_PIP_SLEEP"',
      '  [ -n "$FAKE_PIP_INTERRUPT" ] && kill -INT $$',
      // As pip writes console scripts: the interpreter's path, in the folder the venv was made in.
      '  printf "#!%s/python\\nimport gunicorn\\n" "$(dirname "$0")" > "$(dirname "$0")/gunicorn"',
      '  if [ -n "$FAKE_PIP_FAIL" ]; then',
      `    echo "WARNING: Retrying after connection broken by 'NewConnectionError': /simple/gunicorn/" >&2`,
      '    echo "ERROR: Could not find a version that satisfies the requirement gunicorn==26.2.0 (from versions: none)" >&2',
      '    echo "ERROR: No matching distribution found for gunicorn==26.2.0" >&2',
      '    exit 1',
      '  fi',
      '  exit 0',
      'fi',
      'exit 2',
      '',
    ].join('\n'),
  );
  writeFileSync(
    python,
    [
      '#!/bin/sh',
      `if [ "$1" = "-c" ]; then cat '${join(root, 'probe.json')}'; exit 0; fi`,
      'if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then',
      '  for last; do :; done',
      `  echo "$*" >> '${log}'`,
      '  if [ -n "$FAKE_VENV_FAIL" ]; then echo "The virtual environment was not created successfully because ensurepip is not available. apt install python3.11-venv" >&2; exit 1; fi',
      `  mkdir -p "$last/bin" "$last/lib/python3.11/site-packages" && cp '${join(root, 'venv-python')}' "$last/bin/python" && chmod 755 "$last/bin/python"`,
      '  exit 0',
      'fi',
      'exit 2',
      '',
    ].join('\n'),
  );
  chmodSync(python, 0o755);
  writeFileSync(join(bin, 'mypython'), readFileSync(python));
  chmodSync(join(bin, 'mypython'), 0o755);
  const cache = join(root, 'cache');
  return { bin, python, cache, calls: () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) : []) };
}

/** An environment with only the stand-in's folder (and /bin for sh, mkdir, cp) on PATH. */
function envOf(fake: StandIn, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: `${fake.bin}:/usr/bin:/bin`, HOME: join(fake.cache, '..', 'home'), XDG_CACHE_HOME: fake.cache, ...extra };
}

function resolveWith(fake: StandIn, extra: Record<string, string> = {}, progress: string[] = []) {
  return resolvePython({ requirementsDir: APP_DIR, env: envOf(fake, extra), onProgress: (text) => progress.push(text) });
}

const cacheEntries = (fake: StandIn): string[] => (existsSync(join(fake.cache, 'ecs-ha')) ? readdirSync(join(fake.cache, 'ecs-ha')) : []);

describe('the Python --local uses', () => {
  it('is the base interpreter as it is when it has every pin: no environment, no pip', async () => {
    const fake = standIn();
    const resolved = await resolveWith(fake);
    expect(resolved).toEqual({ python: fake.python, base: fake.python, installed: [] });
    expect(fake.calls()).toEqual([]);
    expect(existsSync(fake.cache)).toBe(false);
  });

  it('is an environment of its own, made once in the cache folder, when a pin is missing: only that pin is installed', async () => {
    const fake = standIn({ lacks: ['gunicorn'] });
    const progress: string[] = [];
    const resolved = await resolveWith(fake, {}, progress);
    const folder = resolved.venv!;
    expect(folder).toMatch(new RegExp(`^${fake.cache}/ecs-ha/python-[0-9a-f]{12}$`));
    expect(resolved.python).toBe(venvPython(folder));
    expect(resolved.installed).toEqual(['gunicorn==26.2.0']);
    const [venv, pip, ...more] = fake.calls();
    expect(venv).toMatch(/^-m venv --system-site-packages --without-pip \S+\.tmp$/);
    expect(pip).toBe('pip install --quiet --disable-pip-version-check --no-input gunicorn==26.2.0');
    expect(more).toEqual([]);
    expect(progress).toEqual([`installing gunicorn==26.2.0 into ${folder} (once; later runs reuse it)`, expect.stringMatching(/^installed in \d+\.\d s$/)]);
    expect(existsSync(join(folder, COMPLETE_MARKER))).toBe(true);
    expect(cacheEntries(fake)).toEqual([folder.split('/').at(-1)]);
    // Made in a temporary folder, renamed into place: a console script names the final folder.
    expect(readFileSync(join(folder, 'bin', 'gunicorn'), 'utf8')).toBe(`#!${folder}/bin/python\nimport gunicorn\n`);
  });

  it('is the same environment on the next run, with no venv or pip call', async () => {
    const fake = standIn({ lacks: ['gunicorn', 'moto'] });
    const first = await resolveWith(fake);
    expect(first.installed).toEqual(['moto[server]==5.2.1', 'gunicorn==26.2.0']);
    const callsAfterFirst = fake.calls().length;
    const progress: string[] = [];
    const second = await resolveWith(fake, {}, progress);
    expect(second).toEqual({ ...first, installed: [] });
    expect(fake.calls()).toHaveLength(callsAfterFirst);
    expect(progress).toEqual([]);
  });

  it('makes the venv with pip (ensurepip) only when the base interpreter has no pip', async () => {
    const fake = standIn({ lacks: ['gunicorn'], pip: false });
    await resolveWith(fake);
    expect(fake.calls()[0]).toMatch(/^-m venv --system-site-packages \S+\.tmp$/);
  });

  it('fails with exit 3 naming the package and the one command when pip cannot install, leaves nothing, and tries again next run', async () => {
    const fake = standIn({ lacks: ['gunicorn'] });
    const failure = resolveWith(fake, { FAKE_PIP_FAIL: '1' });
    await expect(failure).rejects.toMatchObject({
      exitCode: ExitCode.environment,
      message: expect.stringMatching(/^--local needs gunicorn==26\.2\.0, which python3 lacks, and installing it failed \(pip: .*No matching distribution found for gunicorn==26\.2\.0\)$/),
      hint: expect.stringContaining('python3 -m pip install gunicorn==26.2.0'),
    });
    expect(cacheEntries(fake)).toEqual([]);
    const retried = await resolveWith(fake);
    expect(retried.installed).toEqual(['gunicorn==26.2.0']);
    expect(fake.calls().filter((call) => call.startsWith('pip '))).toHaveLength(2);
  });

  it('is interrupted (exit 130), not failed, by a Ctrl-C during the install, and leaves nothing', async () => {
    const fake = standIn({ lacks: ['gunicorn'] });
    await expect(resolveWith(fake, { FAKE_PIP_INTERRUPT: '1' })).rejects.toMatchObject({ exitCode: ExitCode.interrupted, message: expect.stringContaining('interrupted while installing gunicorn==26.2.0') });
    expect(cacheEntries(fake)).toEqual([]);
  });

  it('quotes a pin with extras in that command', async () => {
    const fake = standIn({ lacks: ['moto', 'gunicorn'] });
    await expect(resolveWith(fake, { FAKE_PIP_FAIL: '1' })).rejects.toMatchObject({ hint: expect.stringContaining("python3 -m pip install 'moto[server]==5.2.1' gunicorn==26.2.0") });
  });

  it('names python3-venv when the venv cannot be made (Debian without it), and leaves nothing', async () => {
    const fake = standIn({ lacks: ['gunicorn'] });
    await expect(resolveWith(fake, { FAKE_VENV_FAIL: '1' })).rejects.toMatchObject({
      exitCode: ExitCode.environment,
      message: expect.stringContaining('`python3 -m venv` cannot make ecs-ha\'s environment for it: The virtual environment was not created successfully because ensurepip is not available'),
      hint: expect.stringMatching(/sudo apt install python3-venv.*python3 -m pip install gunicorn==26\.2\.0/),
    });
    expect(cacheEntries(fake)).toEqual([]);
  });

  it('fails with exit 3 naming the cache folder when it cannot be written', async () => {
    const fake = standIn({ lacks: ['gunicorn'] });
    writeFileSync(join(fake.cache, '..', 'a-file'), '');
    const cache = join(fake.cache, '..', 'a-file', 'cache');
    await expect(resolveWith(fake, { XDG_CACHE_HOME: cache })).rejects.toMatchObject({
      exitCode: ExitCode.environment,
      message: expect.stringContaining(`in ${cache}/ecs-ha, but cannot create the cache folder`),
      hint: expect.stringContaining('set XDG_CACHE_HOME to a folder you can write'),
    });
    expect(fake.calls()).toEqual([]);
  });

  it('does not take a folder without its completion marker for a finished one, and removes what killed runs left', async () => {
    const fake = standIn({ lacks: ['gunicorn'] });
    const { venv } = await resolveWith(fake);
    // A run killed before writing the marker (say, an older ecs-ha), and one killed mid-install (pid 2^22 + 1 runs nothing).
    rmSync(join(venv!, COMPLETE_MARKER));
    const killed = join(fake.cache, 'ecs-ha', `.${venv!.split('/').at(-1)}.4194305-0badf00d.tmp`);
    mkdirSync(join(killed, 'bin'), { recursive: true });
    const again = await resolveWith(fake);
    expect(again.installed).toEqual(['gunicorn==26.2.0']);
    expect(existsSync(join(venv!, COMPLETE_MARKER))).toBe(true);
    expect(existsSync(killed)).toBe(false);
  });

  it('ends with one complete environment when two runs make it at once', async () => {
    const fake = standIn({ lacks: ['gunicorn'] });
    const [one, two] = await Promise.all([resolveWith(fake, { FAKE_PIP_SLEEP: '0.3' }), resolveWith(fake, { FAKE_PIP_SLEEP: '0.3' })]);
    expect(one!.python).toBe(two!.python);
    expect(cacheEntries(fake)).toEqual([one!.venv!.split('/').at(-1)]);
    expect(existsSync(join(one!.venv!, COMPLETE_MARKER))).toBe(true);
  });

  it('asks for the extras too (the tests add pytest)', async () => {
    const fake = standIn();
    const resolved = await resolvePython({ requirementsDir: APP_DIR, extras: [PYTEST_REQUIREMENT], env: envOf(fake) });
    expect(resolved.installed).toEqual([PYTEST_REQUIREMENT]);
  });
});

describe('the base interpreter', () => {
  it('is ECS_HA_PYTHON when it is set, as a path or as a command name', async () => {
    const onPath = standIn({ lacks: ['gunicorn'] });
    const chosen = standIn();
    const byPath = await resolveWith(onPath, { ECS_HA_PYTHON: chosen.python });
    expect(byPath).toEqual({ python: chosen.python, base: chosen.python, installed: [] });
    const byName = await resolvePython({ requirementsDir: APP_DIR, env: { ...envOf(onPath), PATH: `${chosen.bin}:/usr/bin:/bin`, ECS_HA_PYTHON: 'mypython' } });
    expect(byName.base).toBe(chosen.python);
    expect(onPath.calls()).toEqual([]);
  });

  it('is refused when it is older than 3.9 or Python 2, with a clear message', async () => {
    for (const version of ['3.8.10', '2.7.18']) {
      const fake = standIn({ version });
      await expect(resolveWith(fake)).rejects.toMatchObject({
        exitCode: ExitCode.environment,
        message: `--local needs Python 3.9 or newer; python3 is Python ${version} (${fake.python})`,
        hint: 'install Python 3.9 or newer, or set ECS_HA_PYTHON to one (a path or a command name)',
      });
    }
  });

  it('is not found: exit 3 saying what was tried, for python3/python and for ECS_HA_PYTHON', async () => {
    const fake = standIn();
    const empty = mkdtempSync(join(tmpdir(), 'ecs-ha-nopython-'));
    roots.push(empty);
    await expect(resolvePython({ requirementsDir: APP_DIR, env: { PATH: empty } })).rejects.toMatchObject({
      exitCode: ExitCode.environment,
      message: expect.stringContaining('--local needs Python 3.9 or newer, and python3 or python cannot be run'),
      hint: expect.stringContaining('install Python 3.9 or newer, or set ECS_HA_PYTHON'),
    });
    await expect(resolveWith(fake, { ECS_HA_PYTHON: '/nonexistent/python3' })).rejects.toMatchObject({
      exitCode: ExitCode.environment,
      message: expect.stringContaining('and ECS_HA_PYTHON=/nonexistent/python3 cannot be run'),
    });
  });

  it('of this test run has every pin, pytest included: it is python3 on PATH and ECS_HA_PYTHON (test/setup/python.ts)', async () => {
    const resolved = await resolvePython({ requirementsDir: APP_DIR, extras: [PYTEST_REQUIREMENT] });
    expect(resolved).toMatchObject({ python: process.env.ECS_HA_PYTHON, installed: [] });
    expect(resolved.venv).toBeUndefined();
    const onPath = execFileSync('python3', ['-c', 'import os, sys, gunicorn, flask, pytest, moto.server; print(os.path.dirname(sys.executable))'], { encoding: 'utf8' }).trim();
    expect(onPath).toBe(dirname(process.env.ECS_HA_PYTHON!));
  });
});
