/**
 * A fresh machine (issue 15): a Python with moto, Flask and pytest but not gunicorn, and an empty
 * cache folder. `up --local` makes ecs-ha's own environment once (gunicorn from the machine's
 * package index, with pip's own configuration) and runs moto and the tasks with it; the next
 * start installs nothing; with no index reachable it is exit 3 and the cache holds nothing.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { downLocalAfterTest, localEnv, runCli, tempDir } from './harness.js';

/**
 * A virtual environment without pip whose only packages are links to every entry of the test
 * run's site folders except gunicorn's: the same whatever the machine's own Python has.
 */
function pythonWithoutGunicorn(root: string): string {
  const siteDirs = JSON.parse(
    execFileSync('python3', ['-c', 'import json, os, sys; print(json.dumps([p for p in sys.path if os.path.basename(p) in ("site-packages", "dist-packages") and os.path.isdir(p)]))'], { encoding: 'utf8' }),
  ) as string[];
  const packages = join(root, 'packages');
  mkdirSync(packages);
  for (const dir of siteDirs) {
    for (const entry of readdirSync(dir)) {
      // .pth files are not read from a folder a .pth names: leaving them out changes nothing.
      if (/^gunicorn([-.]|$)/i.test(entry) || entry.endsWith('.pth') || entry === '__pycache__' || existsSync(join(packages, entry))) continue;
      symlinkSync(join(dir, entry), join(packages, entry));
    }
  }
  const base = join(root, 'base');
  execFileSync('python3', ['-m', 'venv', '--without-pip', base]);
  const lib = join(base, 'lib');
  const site = join(lib, readdirSync(lib).find((name) => name.startsWith('python'))!, 'site-packages');
  writeFileSync(join(site, 'packages.pth'), `${packages}\n`);
  const python = join(base, 'bin', 'python');
  // What the test stands for: the base has the rest, not gunicorn.
  execFileSync(python, ['-c', 'import moto.server, flask, pytest']);
  expect(() => execFileSync(python, ['-c', 'import gunicorn'], { stdio: 'ignore' })).toThrow();
  return python;
}

/** The command line of a process, as the kernel has it. */
const commandLine = (pid: number): string => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');

describe('a machine whose Python lacks gunicorn', () => {
  const root = tempDir('ecs-ha-python-');
  let python = '';
  /**
   * The machine's pip settings (where its package index is), kept although the CLI gets a fresh
   * HOME: the PIP_ variables and the user's own pip.conf; and the test's Python as the base.
   */
  const envWith = (cache: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv => {
    const pip = Object.fromEntries(Object.entries(process.env).filter(([key]) => key.startsWith('PIP_')));
    const userConfig = [join(process.env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'pip', 'pip.conf'), join(homedir(), '.pip', 'pip.conf')].find((file) => existsSync(file));
    if (userConfig && !pip.PIP_CONFIG_FILE) pip.PIP_CONFIG_FILE = userConfig;
    return { ...localEnv(), ...pip, ECS_HA_PYTHON: python, XDG_CACHE_HOME: cache, ...extra };
  };
  beforeAll(() => {
    python = pythonWithoutGunicorn(root);
  });
  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it("gets ecs-ha's own environment on the first up --local, which moto runs with; the next start installs nothing", async () => {
    const cwd = tempDir();
    const cache = join(root, 'cache');
    // A package index that cannot be reached costs no retries (pip goes on to the next one).
    const env = envWith(cache, { PIP_RETRIES: '0' });
    // Both stacks' planes are stopped however the test ends, at once.
    onTestFinished(async () => {
      await Promise.all(['py', 'py2'].map((stack) => runCli(['down', '--local', '--stack', stack], { cwd, env })));
    });
    const up = await runCli(['up', '--local', '--stack', 'py', '--no-wait'], { cwd, env, timeoutMs: 110_000 });
    expect(up.code, up.stderr).toBe(0);
    const [folder] = readdirSync(join(cache, 'ecs-ha'));
    const venv = join(cache, 'ecs-ha', folder!);
    expect(folder).toMatch(/^python-[0-9a-f]{12}$/);
    expect(up.stderr).toContain(`installing gunicorn==26.2.0 into ${venv} (once; later runs reuse it)`);
    expect(up.stderr).toMatch(/\ninstalled in \d+\.\d s\n/);
    // Only gunicorn went into it; the rest comes from the base.
    const site = join(venv, 'lib', readdirSync(join(venv, 'lib'))[0]!, 'site-packages');
    expect(readdirSync(site).filter((entry) => /^[a-z]/i.test(entry)).sort()).toEqual(['gunicorn', 'gunicorn-26.2.0.dist-info']);
    // Made elsewhere and renamed into place, its console scripts still name it.
    expect(readFileSync(join(venv, 'bin', 'gunicorn'), 'utf8').split('\n')[0]).toBe(`#!${venv}/bin/python`);
    const info = JSON.parse(readFileSync(join(cwd, '.ecs-ha', 'py.emulator.json'), 'utf8')) as { motoPid: number };
    expect(commandLine(info.motoPid)).toMatch(new RegExp(`^${venv}/bin/python -c `));

    // A command that only finds the running emulator does not look for Python at all.
    const status = await runCli(['status', '--local', '--stack', 'py'], { cwd, env: { ...env, ECS_HA_PYTHON: join(root, 'no-such-python') } });
    expect(status.stderr).not.toMatch(/Python|python/);
    expect(status.code, status.stderr).toBe(0);

    // The next emulator start (another stack's) resolves Python again and installs nothing.
    const again = await runCli(['up', '--local', '--stack', 'py2', '--no-wait'], { cwd, env, timeoutMs: 110_000 });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).not.toMatch(/installing|installed in/);
    expect(readdirSync(join(cache, 'ecs-ha'))).toEqual([folder]);
    const second = JSON.parse(readFileSync(join(cwd, '.ecs-ha', 'py2.emulator.json'), 'utf8')) as { motoPid: number };
    expect(commandLine(second.motoPid)).toMatch(new RegExp(`^${venv}/bin/python -c `));
  });

  it('fails with exit 3 naming gunicorn and the command when no package index can be reached, and leaves nothing in the cache', async () => {
    const cwd = tempDir();
    const cache = join(root, 'offline-cache');
    const env = envWith(cache, { PIP_NO_INDEX: '1', PIP_FIND_LINKS: join(root, 'no-such-folder'), PIP_INDEX_URL: 'http://127.0.0.1:9/simple' });
    downLocalAfterTest(cwd, 'offline', env);
    const up = await runCli(['up', '--local', '--stack', 'offline', '--no-wait'], { cwd, env });
    expect(up.code, up.stderr).toBe(3);
    expect(up.stderr).toContain(`--local needs gunicorn==26.2.0, which ${python} lacks, and installing it failed (pip:`);
    expect(up.stderr).toContain(`${python} -m pip install gunicorn==26.2.0`);
    expect(up.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(readdirSync(join(cache, 'ecs-ha'))).toEqual([]);
    expect(existsSync(join(cwd, '.ecs-ha', 'offline.emulator.json'))).toBe(false);
  });
});
