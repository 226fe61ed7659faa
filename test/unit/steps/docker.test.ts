import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gatedByEnvironmentChecks } from '../../../src/engine/run.js';
import { EnvironmentError, ExitCode } from '../../../src/errors.js';
import { dockerStep } from '../../../src/steps/docker.js';
import { contentHash, imageTagFor } from '../../../src/steps/image.js';
import { ALL_STEPS } from '../../../src/steps/index.js';
import type { StackConfig } from '../../../src/config.js';
import { scriptedRunner, testContext, type TestContext } from '../../helpers/context.js';
import { planContext } from '../core/planAgreement.js';

function appDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ecs-ha-app-'));
  writeFileSync(join(dir, 'Dockerfile'), 'FROM python:3.12-slim\n');
  return dir;
}

function context(options: { config?: Partial<StackConfig>; runner?: TestContext['runner'] } = {}) {
  return testContext({ config: { appDir: appDir(), ...options.config }, ...(options.runner ? { runner: options.runner } : {}) });
}

describe('docker step: checked before anything is created', () => {
  it('asks the Docker daemon for its version', async () => {
    const ctx = context({ runner: scriptedRunner((_, args) => (args[0] === 'version' ? { stdout: '27.3.1\n' } : {})) });
    expect(await dockerStep.ensure(ctx)).toBe('Docker 27.3.1 answers');
    expect(ctx.runner.commands.map((c) => c.args)).toEqual([['version', '--format', '{{.Server.Version}}']]);
  });

  it('fails with exit code 3 when Docker is not installed', async () => {
    const missing = Object.assign(new Error('spawn docker ENOENT'), { code: 'ENOENT' });
    const error = await dockerStep.ensure(context({ runner: scriptedRunner(() => missing) })).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(EnvironmentError);
    expect((error as EnvironmentError).exitCode).toBe(ExitCode.environment);
    expect((error as EnvironmentError).message).toBe('Docker is needed to build the app image, but the docker command was not found');
    expect((error as EnvironmentError).hint).toContain('--image');
  });

  it('fails with exit code 3 when the Docker daemon does not answer', async () => {
    const runner = scriptedRunner((_, args) => (args[0] === 'version' ? { exitCode: 1, stderr: 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock' } : {}));
    const error = await dockerStep.ensure(context({ runner })).catch((e: unknown) => e);

    expect((error as EnvironmentError).exitCode).toBe(ExitCode.environment);
    expect((error as EnvironmentError).message).toContain('Cannot connect to the Docker daemon');
  });

  it('needs no Docker with --image, on the local data plane, or for an image of this content pushed before', async () => {
    const missing = Object.assign(new Error('spawn docker ENOENT'), { code: 'ENOENT' });
    expect(await dockerStep.ensure(context({ config: { image: 'repo/app:1' }, runner: scriptedRunner(() => missing) }))).toBe('Docker not needed (--image given)');
    expect(await dockerStep.ensure(context({ config: { skipDocker: true }, runner: scriptedRunner(() => missing) }))).toContain('Docker not needed');
    const ctx = context({ runner: scriptedRunner(() => missing) });
    const tag = imageTagFor(contentHash(ctx.config.appDir, 'x86_64'), 'x86_64');
    ctx.state.record('image', { id: `123456789012.dkr.ecr.us-east-1.amazonaws.com/demo:${tag}`, origin: 'created', details: { tag, pushed: true } });
    expect(await dockerStep.ensure(ctx)).toBe(`Docker not needed (image ${tag} pushed before)`);
  });

  it('refuses an app folder without a Dockerfile (exit 3)', async () => {
    const ctx = context({ config: { appDir: mkdtempSync(join(tmpdir(), 'ecs-ha-empty-')) } });
    await expect(dockerStep.ensure(ctx)).rejects.toMatchObject({ exitCode: ExitCode.environment, message: expect.stringContaining('there is no Dockerfile') });
  });
});

describe('environment checks come first', () => {
  it('every step that changes something waits for the docker and network checks in up', () => {
    const gated = gatedByEnvironmentChecks(ALL_STEPS);
    const checks = gated.filter((s) => s.checksEnvironment).map((s) => s.id);
    expect(checks.sort()).toEqual(['docker', 'network']);
    for (const step of gated.filter((s) => !s.checksEnvironment)) expect(step.dependsOn, step.id).toEqual(expect.arrayContaining(['docker', 'network']));
  });
});

describe('docker plan: the same check, nothing to make', () => {
  it('asks Docker as ensure does, and says so', async () => {
    const ctx = context({ runner: scriptedRunner((_, args) => (args[0] === 'version' ? { stdout: '27.3.1\n' } : {})) });
    expect(await dockerStep.plan!(planContext(ctx))).toEqual({ action: 'none', resource: 'Docker', detail: 'Docker 27.3.1 answers' });
  });

  it('Docker missing is exit 3 for the plan too, when up would need it', async () => {
    const missing = Object.assign(new Error('spawn docker ENOENT'), { code: 'ENOENT' });
    await expect(dockerStep.plan!(planContext(context({ runner: scriptedRunner(() => missing) })))).rejects.toMatchObject({ exitCode: ExitCode.environment });
  });

  it('needs no Docker with --image, and asks nothing', async () => {
    const ctx = context({ config: { image: 'repo/app:1' } });
    expect(await dockerStep.plan!(planContext(ctx))).toEqual({ action: 'none', resource: 'Docker', detail: 'Docker not needed (--image given)' });
    expect(ctx.runner.commands).toEqual([]);
  });

  it('refuses an app folder without a Dockerfile (exit 3)', async () => {
    const ctx = context({ config: { appDir: mkdtempSync(join(tmpdir(), 'ecs-ha-empty-')) } });
    await expect(dockerStep.plan!(planContext(ctx))).rejects.toMatchObject({ exitCode: ExitCode.environment });
  });
});
