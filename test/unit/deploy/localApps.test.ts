/**
 * `--local`: the data plane runs the folder an image is built from. The registry of folders, and
 * the endpoint route the CLI makes a folder known through (its token keeps others out).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AppFolders, registerAppFolder } from '../../../src/local/plane/apps.js';
import type { Balancers } from '../../../src/local/plane/balancers.js';
import { LocalEndpoint } from '../../../src/local/plane/endpoint.js';
import type { Scheduler } from '../../../src/local/plane/scheduler.js';
import { contentHash, imageTagFor } from '../../../src/steps/image.js';

const REPO = '123456789012.dkr.ecr.us-east-1.amazonaws.com/demo';

function appFolder(content: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'ecs-ha-app-'));
  writeFileSync(join(dir, 'Dockerfile'), 'FROM python:3.12-slim\nCMD ["gunicorn", "app:app"]\n');
  writeFileSync(join(dir, 'app.py'), content);
  return dir;
}
const imageOf = (dir: string, arch: 'x86_64' | 'arm64' = 'x86_64') => `${REPO}:${imageTagFor(contentHash(dir, arch), arch)}`;

describe('which folder plays an image', () => {
  it('the registered folder whose files hash to the image tag; the plane\'s own folder otherwise', () => {
    const own = appFolder('v1');
    const broken = appFolder('broken');
    const apps = new AppFolders(own);
    apps.register(broken);
    expect(apps.folderFor(imageOf(broken), 'X86_64')).toBe(broken);
    expect(apps.folderFor(imageOf(own), 'X86_64')).toBe(own);
    expect(apps.folderFor(imageOf(broken, 'arm64'), 'ARM64')).toBe(broken);
    // Another architecture's tag, an image given with --image, a digest: the plane's own folder.
    expect(apps.folderFor(imageOf(broken, 'arm64'), 'X86_64')).toBe(own);
    expect(apps.folderFor('public.ecr.aws/docker/library/python:3.12-slim', 'X86_64')).toBe(own);
  });

  it('hashes at launch time: a folder changed after it was registered plays the image built from it now', () => {
    const own = appFolder('v1');
    const changing = appFolder('v2');
    const apps = new AppFolders(own);
    apps.register(changing);
    writeFileSync(join(changing, 'app.py'), 'v3');
    expect(apps.folderFor(imageOf(changing), undefined)).toBe(changing);
    rmSync(changing, { recursive: true });
    expect(apps.folderFor(`${REPO}:000000000000`, undefined)).toBe(own);
  });

  it('takes only an absolute folder with a Dockerfile', () => {
    const apps = new AppFolders(appFolder('v1'));
    expect(() => apps.register('relative/app')).toThrow('expected an absolute path');
    const empty = mkdtempSync(join(tmpdir(), 'ecs-ha-empty-'));
    expect(() => apps.register(empty)).toThrow(`there is no Dockerfile in ${empty}`);
  });
});

describe('POST /_ecs-ha/apps on the plane\'s endpoint', () => {
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    while (closers.length > 0) await closers.pop()!();
  });

  async function endpoint(folders: AppFolders, token: string): Promise<string> {
    // The route needs neither moto nor the scheduler.
    const local = new LocalEndpoint('http://127.0.0.1:9', {} as Scheduler, {} as Balancers, { folders, token });
    const port = await local.listen();
    closers.push(() => local.close());
    return `http://127.0.0.1:${port}`;
  }

  it('registers a folder for the CLI that shows the token, and refuses anyone else', async () => {
    const folders = new AppFolders(appFolder('v1'));
    const token = 'a'.repeat(48);
    const url = await endpoint(folders, token);
    const broken = appFolder('broken');

    await expect(registerAppFolder({ endpointUrl: url, token: 'b'.repeat(48) }, broken)).rejects.toThrow(`the local data plane refused the app folder ${broken}: {"__type":"AccessDenied","message":"wrong or missing token"}`);
    const anonymous = await fetch(`${url}/_ecs-ha/apps`, { method: 'POST', body: JSON.stringify({ appDir: broken }) });
    expect(anonymous.status).toBe(403);
    expect(folders.folders).toEqual([]);

    expect(await registerAppFolder({ endpointUrl: url, token }, broken)).toBe('registered');
    expect(folders.folders).toEqual([broken]);
    await expect(registerAppFolder({ endpointUrl: url, token }, join(broken, 'nope'))).rejects.toThrow(`there is no Dockerfile in ${join(broken, 'nope')}`);
  });

  it('a plane of an earlier ecs-ha (no token in its info file) is not asked', async () => {
    expect(await registerAppFolder({ endpointUrl: 'http://127.0.0.1:9' }, '/srv/app')).toBe('unsupported');
  });
});
