import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeImagesCommand, ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { ExitCode, OperationError } from '../../../src/errors.js';
import type { CommandRunner, RunOptions } from '../../../src/process/runner.js';
import { contentHash, imageStep, imageTagFor, tagOf } from '../../../src/steps/image.js';
import type { StackConfig } from '../../../src/config.js';
import { awsError, scriptedRunner, testContext, type RecordedCommand, type TestContext } from '../../helpers/context.js';
import { planContext, planThenEnsure } from '../core/planAgreement.js';

const ecr = mockClient(ECRClient);
const registry = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
const repositoryUri = `${registry}/demo`;
const password = 'sEcReT-pa55word';
const token = Buffer.from(`AWS:${password}`).toString('base64');

function appDir(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'ecs-ha-app-'));
  const all: Record<string, string> = {
    Dockerfile: 'FROM python:3.12-slim\nCOPY app.py .\n',
    'app.py': 'print("hello")\n',
    'requirements.txt': 'flask\n',
    '.dockerignore': 'tests/\n**/__pycache__/\nnotes.md\n',
    'tests/test_app.py': 'def test(): pass\n',
    ...files,
  };
  for (const [path, content] of Object.entries(all)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

function context(options: { config?: Partial<StackConfig>; runner?: TestContext['runner'] } = {}) {
  const ctx = testContext({ config: { appDir: appDir(), ...options.config }, ...(options.runner ? { runner: options.runner } : {}) });
  ctx.state.record('repository', { id: 'demo', arn: 'arn:aws:ecr:us-east-1:123456789012:repository/demo', origin: 'created', details: { uri: repositoryUri } });
  return ctx;
}

function expectedTag(dir: string, arch: 'x86_64' | 'arm64' = 'x86_64'): string {
  return imageTagFor(contentHash(dir, arch), arch);
}

beforeEach(() => {
  ecr.reset();
  ecr.on(DescribeImagesCommand).rejects(awsError('ImageNotFoundException'));
  ecr.on(GetAuthorizationTokenCommand).resolves({ authorizationData: [{ authorizationToken: token, proxyEndpoint: `https://${registry}` }] });
});

describe('image step', () => {
  it('logs in, builds for linux/amd64 and pushes, in that order, with the password on stdin only', async () => {
    const ctx = context();
    const tag = expectedTag(ctx.config.appDir);
    const uri = `${repositoryUri}:${tag}`;

    expect(await imageStep.ensure(ctx)).toBe(`built and pushed image ${tag}`);

    expect(ecr.commandCalls(DescribeImagesCommand)[0]!.args[0].input).toEqual({ repositoryName: 'demo', imageIds: [{ imageTag: tag }] });
    // Docker itself was checked by the docker step, before anything was created.
    expect(ctx.runner.commands).toEqual<RecordedCommand[]>([
      { command: 'docker', args: ['login', '--username', 'AWS', '--password-stdin', registry], input: password },
      { command: 'docker', args: ['build', '--platform', 'linux/amd64', '-t', uri, ctx.config.appDir] },
      { command: 'docker', args: ['push', uri] },
    ]);
    for (const command of ctx.runner.commands) expect(command.args.join(' ')).not.toContain(password);
    expect([...ctx.progressLines, ...ctx.notices].join('\n')).not.toContain(password);
    expect(JSON.stringify(ctx.state.snapshot())).not.toContain(password);
    expect(ctx.state.get('image')).toEqual({ id: uri, origin: 'created', details: { tag, pushed: true } });
  });

  it('builds for linux/arm64 with an arm64 tag when the task runs on ARM', async () => {
    const ctx = context({ config: { arch: 'arm64' } });
    const tag = expectedTag(ctx.config.appDir, 'arm64');

    await imageStep.ensure(ctx);

    expect(tag).toMatch(/^[0-9a-f]{12}-arm64$/);
    expect(tag.slice(0, 12)).not.toBe(expectedTag(ctx.config.appDir, 'x86_64'));
    expect(ctx.runner.commands[1]!.args).toEqual(['build', '--platform', 'linux/arm64', '-t', `${repositoryUri}:${tag}`, ctx.config.appDir]);
  });

  it('skips Docker entirely when the tag is already in ECR', async () => {
    const ctx = context();
    const tag = expectedTag(ctx.config.appDir);
    ecr.on(DescribeImagesCommand).resolves({ imageDetails: [{ imageTags: [tag], imageDigest: 'sha256:abc' }] });

    expect(await imageStep.ensure(ctx)).toBe(`image ${tag} already in ECR`);

    expect(ctx.runner.commands).toEqual([]);
    expect(ecr.commandCalls(GetAuthorizationTokenCommand)).toHaveLength(0);
    expect(ctx.state.get('image')).toEqual({ id: `${repositoryUri}:${tag}`, origin: 'created', details: { tag, pushed: false } });
  });

  it('uses an image given with --image without Docker or ECR', async () => {
    const image = '999999999999.dkr.ecr.eu-west-1.amazonaws.com/team/app:v1.2';
    const ctx = context({ config: { image } });

    expect(await imageStep.ensure(ctx)).toContain('--image');

    expect(ctx.runner.commands).toEqual([]);
    expect(ecr.calls()).toHaveLength(0);
    expect(ctx.state.get('image')).toEqual({ id: image, origin: 'adopted', details: { tag: 'v1.2', pushed: false } });

    expect(await imageStep.destroy(ctx)).toContain('kept');
    expect(ctx.state.get('image')).toBeUndefined();
  });

  it('reads the tag of a given image reference', () => {
    expect(tagOf('registry:5000/app:1.0')).toBe('1.0');
    expect(tagOf('registry:5000/app')).toBe('external');
    expect(tagOf('app@sha256:abcd')).toBe('external');
  });

  it('does not build on the local emulator, and says the image was not pushed', async () => {
    const ctx = context({ config: { skipDocker: true } });
    const tag = expectedTag(ctx.config.appDir);

    expect(await imageStep.ensure(ctx)).toContain('not pushed');

    expect(ctx.runner.commands).toEqual([]);
    expect(ctx.notices.join('\n')).toContain(`Docker is skipped on the local emulator: the task definition will reference ${repositoryUri}:${tag}`);
    expect(ctx.state.get('image')).toEqual({ id: `${repositoryUri}:${tag}`, origin: 'created', details: { tag, pushed: false } });
  });

  it('reports a failed build with the end of its output and does not push', async () => {
    const stderr = ['#1 load build definition', '#7 [3/4] RUN pip install -r requirements.txt', 'ERROR: No matching distribution found for flask==99'].join('\n');
    const runner = scriptedRunner((_, args) => (args[0] === 'build' ? { exitCode: 1, stderr } : {}));
    const ctx = context({ runner });

    const error = await imageStep.ensure(ctx).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(OperationError);
    expect((error as OperationError).exitCode).toBe(ExitCode.failed);
    expect((error as OperationError).message).toContain('`docker build` failed (exit 1)');
    expect((error as OperationError).message).toContain('No matching distribution found for flask==99');
    expect(runner.commands.map((c) => c.args[0])).toEqual(['login', 'build']);
    expect(ctx.state.get('image')).toBeUndefined();
  });

  it('reports a failed login without the password', async () => {
    const runner = scriptedRunner((_, args) => (args[0] === 'login' ? { exitCode: 1, stderr: 'Error response from daemon: login denied' } : {}));
    const ctx = context({ runner });

    const error = (await imageStep.ensure(ctx).catch((e: unknown) => e)) as OperationError;

    expect(error.message).toContain('`docker login` failed');
    expect(error.message).toContain('login denied');
    expect(error.message).not.toContain(password);
  });

  it('shows Dockerfile steps and pushed layers as progress, not every output line', async () => {
    const output: Record<string, string[]> = {
      build: ['#5 [1/3] FROM docker.io/library/python:3.12-slim', '#5 sha256:aaa 1.2MB / 30MB', '#6 [2/3] COPY app.py .', '#6 [2/3] COPY app.py .', '#6 DONE 0.1s'],
      push: ['abc123def456: Preparing', 'abc123def456: Pushed', 'fed456abc123: Layer already exists', 'x: digest: sha256:123 size: 1'],
    };
    const inner = scriptedRunner();
    const runner: CommandRunner & { commands: RecordedCommand[] } = {
      commands: inner.commands,
      async run(command: string, args: string[], options: RunOptions = {}) {
        for (const line of output[args[0]!] ?? []) options.onLine?.(line);
        return inner.run(command, args, options);
      },
    };
    const ctx = context({ runner });

    await imageStep.ensure(ctx);

    expect(ctx.progressLines.filter((line) => line.startsWith('building:') || line.startsWith('pushing:'))).toEqual([
      'building: [1/3] FROM docker.io/library/python:3.12-slim',
      'building: [2/3] COPY app.py .',
      'pushing: 1 layer done',
      'pushing: 2 layers done',
    ]);
  });

  it('stops on an unexpected ECR error before running Docker', async () => {
    const ctx = context();
    ecr.on(DescribeImagesCommand).rejects(awsError('RepositoryNotFoundException'));

    await expect(imageStep.ensure(ctx)).rejects.toThrow('RepositoryNotFoundException');
    expect(ctx.runner.commands).toEqual([]);
  });

  it('forgets its own image on destroy without any call (the repository takes it along)', async () => {
    const ctx = context();
    ctx.state.record('image', { id: `${repositoryUri}:abc`, origin: 'created', details: { tag: 'abc', pushed: true } });

    await imageStep.destroy(ctx);

    expect(ecr.calls()).toHaveLength(0);
    expect(ctx.state.get('image')).toBeUndefined();
  });
});

describe('content hash', () => {
  it('changes when an app file changes', () => {
    const first = appDir();
    const changed = appDir({ 'app.py': 'print("hello, world")\n' });
    expect(contentHash(first, 'x86_64')).not.toBe(contentHash(changed, 'x86_64'));
  });

  it('changes when the Dockerfile changes, even though .dockerignore lists it', () => {
    const listed = { '.dockerignore': 'tests/\nDockerfile\n' };
    expect(contentHash(appDir(listed), 'x86_64')).not.toBe(contentHash(appDir({ ...listed, Dockerfile: 'FROM python:3.13-slim\n' }), 'x86_64'));
  });

  it('ignores tests, caches, compiled files and what .dockerignore excludes', () => {
    const base = contentHash(appDir(), 'x86_64');
    expect(
      contentHash(
        appDir({
          'tests/test_app.py': 'def test(): assert False\n',
          'tests/more/test_more.py': 'x = 1\n',
          '__pycache__/app.cpython-312.pyc': 'bytes',
          'lib/__pycache__/x.pyc': 'bytes',
          '.pytest_cache/v/cache/lastfailed': '{}',
          'stray.pyc': 'bytes',
          'notes.md': 'scratch notes',
        }),
        'x86_64',
      ),
    ).toBe(base);
  });

  it('honours a negated .dockerignore line', () => {
    const ignoreAll = appDir({ '.dockerignore': '*.md\n', 'README.md': 'a' });
    const keepReadme = appDir({ '.dockerignore': '*.md\n!README.md\n', 'README.md': 'a' });
    const keepReadmeChanged = appDir({ '.dockerignore': '*.md\n!README.md\n', 'README.md': 'b' });
    expect(contentHash(appDir({ '.dockerignore': '*.md\n', 'README.md': 'b' }), 'x86_64')).toBe(contentHash(ignoreAll, 'x86_64'));
    expect(contentHash(keepReadme, 'x86_64')).not.toBe(contentHash(keepReadmeChanged, 'x86_64'));
  });

  it('depends on the architecture and is stable', () => {
    const dir = appDir();
    expect(contentHash(dir, 'x86_64')).toBe(contentHash(dir, 'x86_64'));
    expect(contentHash(dir, 'x86_64')).not.toBe(contentHash(dir, 'arm64'));
    expect(imageTagFor(contentHash(dir, 'x86_64'), 'x86_64')).toMatch(/^[0-9a-f]{12}$/);
  });

  it('hashes the real app directory', () => {
    expect(contentHash(join(process.cwd(), 'container'), 'x86_64')).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('image plan', () => {
  /** What the image step writes: a push to ECR (docker push), counted as the image's create. */
  const pushes = (ctx: TestContext) => () => ctx.runner.commands.filter((c) => c.args[0] === 'push').map(() => 'CreateImage (docker push)');

  it('create: the app content is not in ECR; it would be built and pushed (without building now)', async () => {
    const ctx = context();
    const tag = expectedTag(ctx.config.appDir);

    const change = await planThenEnsure(imageStep, ctx, pushes(ctx));

    expect(change).toEqual({
      action: 'create',
      resource: `container image ${tag}`,
      detail: `not in ECR: build for linux/amd64 from ${ctx.config.appDir} and push to ${repositoryUri}:${tag}`,
    });
  });

  it('keep: the tag of the app content is in ECR already: nothing is built', async () => {
    const ctx = context();
    const tag = expectedTag(ctx.config.appDir);
    ecr.on(DescribeImagesCommand).resolves({ imageDetails: [{ imageTags: [tag], imageDigest: 'sha256:abc' }] });

    expect((await planThenEnsure(imageStep, ctx, pushes(ctx))).action).toBe('keep');
  });

  it('says the app changed since the image up used last', async () => {
    const ctx = context();
    ctx.state.record('image', { id: `${repositoryUri}:0123456789ab`, origin: 'created', details: { tag: '0123456789ab', pushed: true } });

    const change = await imageStep.plan!(planContext(ctx));

    expect(change).toMatchObject({ action: 'create', detail: expect.stringContaining("the app's files changed since the image up used last (0123456789ab)") });
    expect(ctx.runner.commands).toEqual([]);
  });

  it('adopt, then keep: an image given with --image, with no call at all', async () => {
    const ctx = context({ config: { image: 'public.ecr.aws/team/app:v1' } });

    expect(await planThenEnsure(imageStep, ctx, pushes(ctx))).toMatchObject({ action: 'adopt', resource: 'container image public.ecr.aws/team/app:v1' });
    expect((await planThenEnsure(imageStep, ctx, pushes(ctx))).action).toBe('keep');
    expect(ecr.calls()).toHaveLength(0);
  });

  it('none: on the local emulator nothing is built', async () => {
    const ctx = context({ config: { skipDocker: true } });

    expect((await planThenEnsure(imageStep, ctx, pushes(ctx))).action).toBe('none');
  });

  it('create: a repository up would create holds no image, and is not asked', async () => {
    const ctx = context();
    const planCtx = planContext(ctx);
    planCtx.state.foreseeNew('repository', 'ECR repository');

    expect(await imageStep.plan!(planCtx)).toMatchObject({ action: 'create', detail: expect.stringContaining('push to the new repository') });
    expect(ecr.calls()).toHaveLength(0);
    expect(planCtx.state.isNew('image')).toBe(true);
  });
});
