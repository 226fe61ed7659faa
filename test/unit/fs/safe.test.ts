import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AwsClients } from '../../../src/aws/clients.js';
import { ExitCode } from '../../../src/errors.js';
import { folderExposure, openForAppend } from '../../../src/fs/safe.js';
import { acquireLock, StateStore } from '../../../src/state/store.js';

const dir = () => mkdtempSync(join(tmpdir(), 'ecs-ha-safe-'));

describe('files written safely', () => {
  it('the state temp file is not at a predictable name: a planted symlink there redirects nothing', () => {
    const d = dir();
    const victim = join(d, 'victim.txt');
    writeFileSync(victim, 'precious\n');
    // The name the state file used to be written through: <state>.<pid>.tmp
    symlinkSync(victim, join(d, `demo.json.${process.pid}.tmp`));
    const state = StateStore.open(d, 'demo', '123456789012', 'us-east-1');
    state.record('cluster', { id: 'demo', origin: 'created' });

    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(JSON.parse(readFileSync(join(d, 'demo.json'), 'utf8')).resources.cluster.id).toBe('demo');
    // No temp file is left behind: only the planted link ends in .tmp.
    expect(readdirSync(d).filter((f) => f.endsWith('.tmp'))).toEqual([`demo.json.${process.pid}.tmp`]);
  });

  it('the trace file is never written through a symbolic link', async () => {
    const d = dir();
    const victim = join(d, 'victim.txt');
    writeFileSync(victim, 'precious\n');
    const trace = join(d, 'trace.jsonl');
    symlinkSync(victim, trace);
    expect(() => openForAppend(trace)).toThrow(expect.objectContaining({ exitCode: ExitCode.environment, message: `refusing to write to ${trace}: it is a symbolic link` }));
    // The clients open the trace once, at start: refused there, before any AWS call.
    expect(() => new AwsClients({ region: 'us-east-1', endpointUrl: 'http://127.0.0.1:9', credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1, tracePath: trace })).toThrow(
      'it is a symbolic link',
    );
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
  });

  it('a new trace file is 0600', () => {
    const path = join(dir(), 'trace.jsonl');
    openForAppend(path);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('says when the state folder is writable by others', () => {
    const d = dir();
    expect(folderExposure(d)).toBeUndefined();
    chmodSync(d, 0o777);
    expect(folderExposure(d)).toBe('it is writable by others (mode 777)');
    chmodSync(d, 0o770);
    expect(folderExposure(d)).toBe('it is writable by its group (mode 770)');
  });
});

describe('a lock file that cannot be read', () => {
  it('is not taken over while the process it names is alive', async () => {
    const d = dir();
    mkdirSync(d, { recursive: true });
    const holder = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      writeFileSync(join(d, 'demo.lock'), `{"pid": ${holder.pid}, "host": "`); // cut short
      expect(() => acquireLock(d, 'demo', 'up', () => undefined)).toThrow(`the process it names (pid ${holder.pid}) is running`);
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('is taken over when the process it names is gone, or it names none', async () => {
    const d = dir();
    const gone = spawn('true', { stdio: 'ignore' });
    await new Promise((done) => gone.once('exit', done));
    writeFileSync(join(d, 'demo.lock'), `{"pid": ${gone.pid}, "ho`);
    const taken: unknown[] = [];
    acquireLock(d, 'demo', 'up', (stale) => taken.push(stale))();
    writeFileSync(join(d, 'demo.lock'), 'garbage');
    acquireLock(d, 'demo', 'up', (stale) => taken.push(stale))();
    expect(taken).toHaveLength(2);
  });
});
