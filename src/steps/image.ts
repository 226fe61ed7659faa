import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DescribeImagesCommand, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { isAwsError } from '../aws/errors.js';
import type { Architecture } from '../config.js';
import type { ReadContext } from '../engine/plan.js';
import type { Step, StepContext } from '../engine/step.js';
import { EnvironmentError, OperationError } from '../errors.js';

/** Never part of the image: the app's own tests and Python's caches. */
const ALWAYS_SKIPPED = ['tests', '**/__pycache__', '**/.pytest_cache', '**/*.pyc'];
/** Always hashed, even where .dockerignore lists them: they decide what the image is. */
const ALWAYS_HASHED = new Set(['Dockerfile', '.dockerignore']);

interface IgnoreRule {
  pattern: RegExp;
  negated: boolean;
}

/** A .dockerignore line as a regular expression over slash-separated relative paths. */
function toRule(line: string): IgnoreRule | undefined {
  let text = line.trim();
  if (!text || text.startsWith('#')) return undefined;
  const negated = text.startsWith('!');
  if (negated) text = text.slice(1).trim();
  text = text.replace(/^\.?\/+/, '').replace(/\/+$/, '');
  if (!text) return undefined;
  let source = '';
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (char === '*' && text[i + 1] === '*') {
      // `**/` matches any number of directories, a trailing `**` anything at all.
      source += text[i + 2] === '/' ? '(?:.*/)?' : '.*';
      i += text[i + 2] === '/' ? 2 : 1;
    } else if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return { pattern: new RegExp(`^${source}$`), negated };
}

/** Docker's rule: a path is excluded when it or a parent directory matches; the last matching line wins. */
function isIgnored(relativePath: string, rules: IgnoreRule[]): boolean {
  const parts = relativePath.split('/');
  const candidates = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const rule of rules) if (candidates.some((c) => rule.pattern.test(c))) ignored = !rule.negated;
  return ignored;
}

/**
 * A hash of what goes into the image: every file of the app directory (paths and contents,
 * sorted) and the target architecture, so that an unchanged app is neither rebuilt nor pushed.
 */
export function contentHash(appDir: string, arch: Architecture): string {
  const ignoreFile = join(appDir, '.dockerignore');
  const lines = [...ALWAYS_SKIPPED, ...(existsSync(ignoreFile) ? readFileSync(ignoreFile, 'utf8').split(/\r?\n/) : [])];
  const rules = lines.map(toRule).filter((rule): rule is IgnoreRule => rule !== undefined);
  const canPrune = !rules.some((rule) => rule.negated);

  const files: string[] = [];
  const walk = (relativeDir: string): void => {
    for (const entry of readdirSync(join(appDir, relativeDir), { withFileTypes: true })) {
      const relative = relativeDir ? `${relativeDir}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (!(canPrune && isIgnored(relative, rules))) walk(relative);
      } else if (entry.isFile() && (ALWAYS_HASHED.has(relative) || !isIgnored(relative, rules))) {
        files.push(relative);
      }
    }
  };
  walk('');

  const hash = createHash('sha256').update(`arch:${arch}\0`);
  for (const file of files.sort()) {
    const content = readFileSync(join(appDir, file));
    hash.update(`${file}\0${content.length}\0`).update(content);
  }
  return hash.digest('hex');
}

export function imageTagFor(hash: string, arch: Architecture): string {
  return arch === 'arm64' ? `${hash.slice(0, 12)}-arm64` : hash.slice(0, 12);
}

/** The tag of a user-given image reference; 'external' when it has none (a digest reference, or implicit latest). */
export function tagOf(imageRef: string): string {
  const withoutDigest = imageRef.split('@')[0]!;
  const lastSlash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  return colon > lastSlash && !imageRef.includes('@') ? withoutDigest.slice(colon + 1) : 'external';
}

export function lastLines(text: string, count = 8): string {
  return text.trim().split('\n').slice(-count).join('\n');
}

async function imageInRepository(ctx: ReadContext, repositoryName: string, tag: string): Promise<boolean> {
  try {
    const { imageDetails = [] } = await ctx.aws.ecr.send(new DescribeImagesCommand({ repositoryName, imageIds: [{ imageTag: tag }] }));
    return imageDetails.length > 0;
  } catch (error) {
    if (isAwsError(error, 'ImageNotFoundException')) return false;
    throw error;
  }
}

/** The tag of the image of the app folder (a hash of its files); EnvironmentError (exit 3) when it has no Dockerfile. */
function appImageTag(ctx: ReadContext): string {
  const appDir = ctx.config.appDir;
  if (!existsSync(join(appDir, 'Dockerfile'))) {
    throw new EnvironmentError(`there is no Dockerfile in the app directory ${appDir}`, 'pass --image URI to use an image built elsewhere');
  }
  return imageTagFor(contentHash(appDir, ctx.config.arch), ctx.config.arch);
}

/** Runs one docker command; a non-zero exit becomes an error naming it with the end of its output. */
async function docker(ctx: StepContext, args: string[], options: { input?: string; onLine?: (line: string) => void } = {}): Promise<void> {
  const what = `docker ${args[0]}`;
  const result = await ctx.runner.run('docker', args, options);
  if (result.exitCode !== 0) {
    const output = lastLines(result.stderr) || lastLines(result.stdout);
    throw new OperationError(`\`${what}\` failed (exit ${result.exitCode})${output ? `:\n${output}` : ''}`, hintFor(args[0]!));
  }
}

function hintFor(subcommand: string): string {
  if (subcommand === 'login') return 'check that the credentials in use may call ecr:GetAuthorizationToken and that Docker can reach the registry';
  if (subcommand === 'build') return 'fix the build error above, or pass --image URI to use an image built elsewhere';
  return 'check the network and that the credentials in use may push to the repository (ecr:InitiateLayerUpload, ecr:PutImage …)';
}

/** Build output: only the Dockerfile step lines (BuildKit `#5 [2/4] RUN …`, classic `Step 2/4 : RUN …`). */
function buildProgress(ctx: StepContext): (line: string) => void {
  const seen = new Set<string>();
  return (line) => {
    const step = /^#\d+ (\[[^\]]*\d+\/\d+\] .*)$/.exec(line)?.[1] ?? /^(Step \d+\/\d+ : .*)$/.exec(line)?.[1];
    if (!step || seen.has(step)) return;
    seen.add(step);
    ctx.progress(`building: ${step.length > 100 ? `${step.slice(0, 97)}...` : step}`);
  };
}

/** Push output: one line per finished layer, counted. */
function pushProgress(ctx: StepContext): (line: string) => void {
  let done = 0;
  return (line) => {
    if (/: (Pushed|Layer already exists)$/.test(line)) ctx.progress(`pushing: ${++done} layer${done === 1 ? '' : 's'} done`);
  };
}

/** Docker was checked by the docker step, before anything was created. */
async function buildAndPush(ctx: StepContext, uri: string): Promise<void> {
  const { authorizationData = [] } = await ctx.aws.ecr.send(new GetAuthorizationTokenCommand({}));
  const token = authorizationData[0]?.authorizationToken;
  const decoded = Buffer.from(token ?? '', 'base64').toString('utf8');
  const separator = decoded.indexOf(':');
  if (separator < 1) throw new OperationError('ECR returned no usable authorization token for docker login', 'run the command again; if it persists, check ecr:GetAuthorizationToken permission');
  const username = decoded.slice(0, separator);
  const password = decoded.slice(separator + 1);
  const registry = uri.split('/')[0]!;

  ctx.progress(`logging in to ${registry}`);
  // The password goes through stdin only: arguments show up in `ps` and in shell history.
  await docker(ctx, ['login', '--username', username, '--password-stdin', registry], { input: password });
  const platform = ctx.config.arch === 'arm64' ? 'linux/arm64' : 'linux/amd64';
  ctx.progress(`building ${uri} for ${platform}`);
  await docker(ctx, ['build', '--platform', platform, '-t', uri, ctx.config.appDir], { onLine: buildProgress(ctx) });
  ctx.progress(`pushing ${uri}`);
  await docker(ctx, ['push', uri], { onLine: pushProgress(ctx) });
}

export const imageStep: Step = {
  id: 'image',
  title: 'container image',
  dependsOn: ['repository', 'docker'],

  async ensure(ctx) {
    const recorded = ctx.state.get('image');
    if (ctx.config.image) {
      const uri = ctx.config.image;
      if (recorded?.id !== uri || recorded.origin !== 'adopted') {
        ctx.state.record('image', { id: uri, origin: 'adopted', details: { tag: tagOf(uri), pushed: false } });
      }
      return `using image ${uri} (given with --image, not built)`;
    }

    const repository = ctx.state.require('repository');
    const repositoryUri = repository.details?.uri as string;
    const tag = appImageTag(ctx);
    const uri = `${repositoryUri}:${tag}`;
    const keepRecord = recorded?.id === uri && recorded.origin === 'created';

    if (await imageInRepository(ctx, repository.id, tag)) {
      if (!keepRecord) ctx.state.record('image', { id: uri, origin: 'created', details: { tag, pushed: false } });
      return `image ${tag} already in ECR`;
    }
    if (ctx.config.skipDocker) {
      ctx.notice(`Docker is skipped on the local emulator: the task definition will reference ${uri}, which was not built or pushed`);
      if (!keepRecord || recorded.details?.pushed !== false) ctx.state.record('image', { id: uri, origin: 'created', details: { tag, pushed: false } });
      return `image ${tag} not pushed (Docker skipped on the local emulator)`;
    }
    await buildAndPush(ctx, uri);
    ctx.state.record('image', { id: uri, origin: 'created', details: { tag, pushed: true } });
    return `built and pushed image ${tag}`;
  },

  async plan(ctx) {
    const recorded = ctx.state.get('image');
    if (ctx.config.image) {
      const uri = ctx.config.image;
      const resource = `container image ${uri}`;
      if (recorded?.id === uri && recorded.origin === 'adopted') return { action: 'keep', resource, detail: 'given with --image, not built' };
      ctx.state.foresee('image', { id: uri, origin: 'adopted', details: { tag: tagOf(uri), pushed: false } });
      return { action: 'adopt', resource, detail: 'given with --image: used as it is, not built' };
    }
    const tag = appImageTag(ctx);
    const resource = `container image ${tag}`;
    const changed = recorded?.origin === 'created' && !recorded.id.endsWith(`:${tag}`) ? `; the app's files changed since the image up used last (${String(recorded.details?.tag ?? recorded.id)})` : '';
    const platform = ctx.config.arch === 'arm64' ? 'linux/arm64' : 'linux/amd64';
    if (ctx.state.isNew('repository')) {
      // A new repository holds no image: its URI is known once it exists.
      ctx.state.foreseeNew('image', 'container image');
      if (ctx.config.skipDocker) return { action: 'none', resource, detail: `not built: on the local emulator the data plane runs the app folder${changed}` };
      return { action: 'create', resource, detail: `build for ${platform} from ${ctx.config.appDir} and push to the new repository${changed}` };
    }
    const repository = ctx.state.require('repository');
    const uri = `${repository.details?.uri as string}:${tag}`;
    const keepRecord = recorded?.id === uri && recorded.origin === 'created';
    if (await imageInRepository(ctx, repository.id, tag)) {
      if (!keepRecord) ctx.state.foresee('image', { id: uri, origin: 'created', details: { tag, pushed: false } });
      return { action: 'keep', resource, detail: `already in ECR (the app's files hash to ${tag}: not built again)${changed}` };
    }
    if (ctx.config.skipDocker) {
      ctx.state.foresee('image', { id: uri, origin: 'created', details: { tag, pushed: false } });
      return { action: 'none', resource, detail: `not built: on the local emulator the data plane runs the app folder${changed}` };
    }
    ctx.state.foreseeNew('image', 'container image', { id: uri, origin: 'created', details: { tag, pushed: true } });
    return { action: 'create', resource, detail: `not in ECR: build for ${platform} from ${ctx.config.appDir} and push to ${uri}${changed}` };
  },

  async destroy(ctx) {
    const recorded = ctx.state.get('image');
    if (!recorded) return 'no image recorded';
    ctx.state.forget('image');
    // Deleting the repository with force removes the images; an image given with --image is the user's.
    return recorded.origin === 'adopted' ? `kept image ${recorded.id} (given with --image)` : `image ${recorded.id} goes with the repository`;
  },

  async discover() {
    // Nothing to find: the image lives and dies with the repository.
  },
};
