/**
 * The install path a user takes: the package as `npm pack` makes it, installed into an empty
 * folder, run from there (`--help`, then the local quick start). Catches a file missing from the
 * package (the bundled app, the data plane) that a run from the clone would never notice.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { localEnv, tempDir } from './harness.js';

function npm(args: string[], cwd: string): string {
  return execFileSync('npm', args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' }, timeout: 240_000 });
}

describe('the packed package, installed in an empty folder', () => {
  it('answers --help and runs the local quick start', { timeout: 300_000 }, async () => {
    const packed = tempDir('ecs-ha-pack-');
    npm(['pack', '--pack-destination', packed], process.cwd());
    const tarball = readdirSync(packed).find((name) => name.endsWith('.tgz'))!;
    const project = tempDir('ecs-ha-install-');
    npm(['init', '-y'], project);
    npm(['install', join(packed, tarball)], project);
    const bin = join(project, 'node_modules', '.bin', 'ecs-ha');

    const help = execFileSync(bin, ['--help'], { cwd: project, encoding: 'utf8' });
    expect(help).toContain('Usage: ecs-ha');
    for (const command of ['up', 'down', 'verify', 'chaos']) expect(help).toContain(command);

    const env = localEnv();
    const run = (args: string[]) => execFileSync(bin, args, { cwd: project, env, encoding: 'utf8', timeout: 120_000, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const up = JSON.parse(run(['up', '--local', '--stack', 'installed', '--json'])) as { url: string; waited: boolean; health: { runningCount: number } };
      expect(up.waited).toBe(true);
      expect(up.health.runningCount).toBe(2);
      expect(await (await fetch(up.url)).text()).toMatch(/^Hello from ip-127-0-/);
    } finally {
      run(['down', '--local', '--stack', 'installed']);
    }
  });
});
