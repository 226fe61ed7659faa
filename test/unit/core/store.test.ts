import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it, vi } from 'vitest';
import { ExitCode } from '../../../src/errors.js';
import { acquireLock, readStateFile, StateStore } from '../../../src/state/store.js';

const dir = () => mkdtempSync(join(tmpdir(), 'ecs-ha-state-'));

describe('StateStore', () => {
  it('saves each record at once, atomically, with mode 0600, and reads it back', () => {
    const d = dir();
    const store = StateStore.open(d, 'demo', '111111111111', 'eu-west-1');
    store.record('cluster', { id: 'demo', arn: 'arn:cluster', origin: 'created' });
    expect(statSync(store.path).mode & 0o777).toBe(0o600);
    expect(readdirSync(d)).toEqual(['demo.json']); // no temp file left behind
    const file = readStateFile(d, 'demo')!;
    expect(file).toMatchObject({ schemaVersion: 1, stack: 'demo', account: '111111111111', region: 'eu-west-1' });
    expect(file.resources.cluster).toEqual({ id: 'demo', arn: 'arn:cluster', origin: 'created' });
    store.forget('cluster');
    expect(readStateFile(d, 'demo')!.resources).toEqual({});
  });

  it('every save writes a new file and renames it over the old one: never the file in place', () => {
    const d = dir();
    const store = StateStore.open(d, 'demo', '111111111111', 'eu-west-1');
    store.record('cluster', { id: 'demo', origin: 'created' });
    const before = statSync(store.path).ino;
    store.record('logGroup', { id: '/ecs/demo', origin: 'created' });
    // A write in place keeps the inode (and a crash mid-write leaves half a file); a rename replaces it.
    expect(statSync(store.path).ino).not.toBe(before);
    expect(readdirSync(d)).toEqual(['demo.json']);
  });

  it('refuses a state file of another account or region', () => {
    const d = dir();
    StateStore.open(d, 'demo', '111111111111', 'eu-west-1').record('cluster', { id: 'demo', origin: 'created' });
    expect(() => StateStore.open(d, 'demo', '222222222222', 'eu-west-1')).toThrow(/belongs to account 111111111111 in eu-west-1/);
    expect(() => StateStore.open(d, 'demo', '111111111111', 'us-east-1')).toThrow(/but the credentials in use are for account 111111111111 in us-east-1/);
  });

  it('refuses a corrupt state file with exit 2 and leaves it untouched', () => {
    const d = dir();
    writeFileSync(join(d, 'demo.json'), '{"schemaVersion": 1, "stack": "de');
    let error: unknown;
    try {
      StateStore.open(d, 'demo', '111111111111', 'eu-west-1');
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ exitCode: ExitCode.usage });
    expect((error as Error).message).toContain('not valid JSON');
    expect(readFileSync(join(d, 'demo.json'), 'utf8')).toBe('{"schemaVersion": 1, "stack": "de');
  });

  it.each([
    ['a null record', { cluster: null }, '"cluster" is null, not a record'],
    ['a record of the wrong type', { cluster: 'demo' }, '"cluster" is string, not a record'],
    ['an unknown key', { repository: { id: 'prod-images', origin: 'created', force: true } }, '"repository" has unknown key force'],
    ['a wrong origin', { executionRole: { id: 'prod-admin', origin: 'owned' } }, '"executionRole".origin is "owned", not "created" or "adopted"'],
    ['an id that is not a string', { cluster: { id: 42, origin: 'created' } }, '"cluster".id is not a non-empty string'],
    ['details that are not an object', { network: { id: 'vpc-1', origin: 'adopted', details: [] } }, '"network".details is not an object'],
  ])('refuses %s with exit 2 and leaves the file untouched', (_what, resources, message) => {
    const d = dir();
    const text = JSON.stringify({ schemaVersion: 1, stack: 'demo', account: '111111111111', region: 'eu-west-1', createdAt: '', updatedAt: '', resources });
    writeFileSync(join(d, 'demo.json'), text);
    expect(() => StateStore.open(d, 'demo', '111111111111', 'eu-west-1')).toThrow(expect.objectContaining({ exitCode: ExitCode.usage, message: expect.stringContaining(message) }));
    expect(readFileSync(join(d, 'demo.json'), 'utf8')).toBe(text);
  });

  it('refuses an account that is not one', () => {
    const d = dir();
    writeFileSync(join(d, 'demo.json'), JSON.stringify({ schemaVersion: 1, stack: 'demo', account: 'me', region: 'eu-west-1', resources: {} }));
    expect(() => readStateFile(d, 'demo')).toThrow('account "me" is not a 12-digit AWS account');
  });

  it('refuses a state file with an unknown schema version', () => {
    const d = dir();
    writeFileSync(join(d, 'demo.json'), JSON.stringify({ schemaVersion: 99, stack: 'demo', resources: {} }));
    expect(() => readStateFile(d, 'demo')).toThrow(/schema version 99/);
  });
});

describe('acquireLock', () => {
  it('refuses a second holder and names the first', () => {
    const d = dir();
    const release = acquireLock(d, 'demo', 'up', () => undefined);
    expect(() => acquireLock(d, 'demo', 'down', () => undefined)).toThrow(new RegExp(`locked by \`ecs-ha up\` \\(pid ${process.pid}`));
    release();
    acquireLock(d, 'demo', 'down', () => undefined)();
  });

  it('never takes over a lock of another host, even when its pid looks dead here', () => {
    const d = dir();
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    writeFileSync(join(d, 'demo.lock'), JSON.stringify({ pid: Number(dead.stdout), host: `not-${hostname()}`, command: 'down', startedAt: 'then' }));
    const onTakeover = vi.fn();

    expect(() => acquireLock(d, 'demo', 'up', onTakeover)).toThrow(new RegExp(`locked by \`ecs-ha down\` \\(pid ${dead.stdout} on not-`));
    expect(onTakeover).not.toHaveBeenCalled();
    expect(JSON.parse(readFileSync(join(d, 'demo.lock'), 'utf8')).host).toBe(`not-${hostname()}`);
  });

  it('takes over a lock left by a process that is gone, with a notice', () => {
    const d = dir();
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const deadPid = Number(dead.stdout);
    const host = hostname();
    writeFileSync(join(d, 'demo.lock'), JSON.stringify({ pid: deadPid, host, command: 'up', startedAt: 'then' }));
    const onTakeover = vi.fn();
    const release = acquireLock(d, 'demo', 'up', onTakeover);
    expect(onTakeover).toHaveBeenCalledWith(expect.objectContaining({ pid: deadPid }));
    expect(JSON.parse(readFileSync(join(d, 'demo.lock'), 'utf8')).pid).toBe(process.pid);
    release();
  });
});
