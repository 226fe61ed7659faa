/**
 * Which app folder plays which image on the local data plane. On ECS a task runs the code of its
 * task definition's image; here the image is never built, so the plane runs the folder the image
 * would have been built from: the one whose content hash is the image's tag (`up` and `deploy`
 * tag images that way, see steps/image.ts). The plane's own folder (the one `up --local` started
 * it with) is the fallback, for any image that no known folder hashes to (one given with --image).
 *
 * Folders are made known by the CLI (`up --local`, `deploy --local --app-dir`) through
 * POST /_ecs-ha/apps on the plane's endpoint, with the token from the plane's info file: whoever
 * can name a folder here gets its code run, so only someone who can read the private state folder may.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { Architecture } from '../../config.js';
import { contentHash, imageTagFor, tagOf } from '../../steps/image.js';

export const APPS_PATH = '/_ecs-ha/apps';
export const TOKEN_HEADER = 'x-ecs-ha-token';

export class AppFolders {
  /** Most recently registered first: of two folders with the same content, the newer one plays it. */
  private readonly registered: string[] = [];

  constructor(readonly defaultDir: string) {}

  /** Why the folder cannot play an image, or undefined when it can. */
  static problemWith(dir: unknown): string | undefined {
    if (typeof dir !== 'string' || !isAbsolute(dir)) return 'expected an absolute path';
    if (!existsSync(join(dir, 'Dockerfile'))) return `there is no Dockerfile in ${dir}`;
    return undefined;
  }

  register(dir: string): void {
    const problem = AppFolders.problemWith(dir);
    if (problem) throw new Error(problem);
    const known = this.registered.indexOf(dir);
    if (known >= 0) this.registered.splice(known, 1);
    this.registered.unshift(dir);
  }

  get folders(): readonly string[] {
    return [...this.registered];
  }

  /**
   * The folder whose files hash, now, to the image's tag; hashed at each launch, so that a folder
   * changed after it was registered still plays the image `up` builds from it next.
   */
  folderFor(image: string, cpuArchitecture: string | undefined): string {
    const tag = tagOf(image);
    const arch: Architecture = cpuArchitecture === 'ARM64' ? 'arm64' : 'x86_64';
    for (const dir of [...this.registered, this.defaultDir]) {
      try {
        if (imageTagFor(contentHash(dir, arch), arch) === tag) return dir;
      } catch {
        // a folder removed since it was registered plays nothing
      }
    }
    return this.defaultDir;
  }
}

/** The CLI's side: makes `appDir` known to the running plane. Throws with the plane's answer when it refuses. */
export async function registerAppFolder(plane: { endpointUrl: string; token?: string }, appDir: string): Promise<'registered' | 'unsupported'> {
  // A plane started by an earlier ecs-ha has no token and no such route: it runs its own folder for every image.
  if (!plane.token) return 'unsupported';
  const response = await fetch(`${plane.endpointUrl}${APPS_PATH}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', [TOKEN_HEADER]: plane.token },
    body: JSON.stringify({ appDir }),
    signal: AbortSignal.timeout(10_000),
  });
  if (response.status === 404) return 'unsupported';
  if (!response.ok) throw new Error(`the local data plane refused the app folder ${appDir}: ${(await response.text()).trim() || `HTTP ${response.status}`}`);
  return 'registered';
}
