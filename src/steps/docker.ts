/**
 * The docker step: finds out, before anything is created, whether Docker can build the image.
 * It changes nothing; every step that does waits for it (see Step.checksEnvironment).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ReadContext } from '../engine/plan.js';
import type { Step } from '../engine/step.js';
import { EnvironmentError } from '../errors.js';
import type { RunResult } from '../process/runner.js';
import { contentHash, imageTagFor, lastLines } from './image.js';

const DOCKER_MISSING_HINT = 'install and start Docker, or pass --image URI with an image you built and pushed yourself';

/** Docker's server version; EnvironmentError (exit 3) when the command or the daemon is missing. */
export async function checkDocker(ctx: ReadContext): Promise<string> {
  let result: RunResult;
  try {
    result = await ctx.runner.run('docker', ['version', '--format', '{{.Server.Version}}']);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'the docker command was not found' : (error as Error).message;
    throw new EnvironmentError(`Docker is needed to build the app image, but ${reason}`, DOCKER_MISSING_HINT, { cause: error });
  }
  if (result.exitCode !== 0) {
    throw new EnvironmentError(
      `Docker is needed to build the app image, but the Docker daemon did not answer: ${lastLines(result.stderr, 3) || `exit ${result.exitCode}`}`,
      DOCKER_MISSING_HINT,
    );
  }
  return result.stdout.trim();
}

/**
 * Why this run needs no Docker ("Docker not needed (--image given)"), or undefined when it does.
 * Throws EnvironmentError (exit 3) when the app folder has no Dockerfile to build.
 */
export function whyDockerIsNotNeeded(ctx: ReadContext): string | undefined {
  if (ctx.config.image) return 'Docker not needed (--image given)';
  if (ctx.config.skipDocker) return 'Docker not needed (the local data plane runs the app folder)';
  const { appDir, arch } = ctx.config;
  if (!existsSync(join(appDir, 'Dockerfile'))) {
    throw new EnvironmentError(`there is no Dockerfile in the app directory ${appDir}`, 'pass --image URI to use an image built elsewhere');
  }
  // An image of this very content pushed by an earlier run needs no Docker now.
  const recorded = ctx.state.get('image');
  const tag = imageTagFor(contentHash(appDir, arch), arch);
  if (recorded?.origin === 'created' && recorded.id.endsWith(`:${tag}`) && recorded.details?.pushed === true) return `Docker not needed (image ${tag} pushed before)`;
  return undefined;
}

export const dockerStep: Step = {
  id: 'docker',
  title: 'Docker',
  dependsOn: [],
  checksEnvironment: true,

  async ensure(ctx) {
    return whyDockerIsNotNeeded(ctx) ?? `Docker ${await checkDocker(ctx)} answers`;
  },

  // The same check as ensure: Docker missing is exit 3 for a plan too, when up would need it.
  async plan(ctx) {
    const detail = whyDockerIsNotNeeded(ctx) ?? `Docker ${await checkDocker(ctx)} answers`;
    return { action: 'none', resource: 'Docker', detail };
  },

  async destroy() {
    return '';
  },

  async discover() {
    // Nothing of its own.
  },
};
