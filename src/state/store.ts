import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { OperationError, UsageError } from '../errors.js';
import { ensurePrivateDir, explainFileError, writeFileAtomic } from '../fs/safe.js';
import { isProcessAlive } from '../process/alive.js';

export const STATE_SCHEMA_VERSION = 1;

/** `created`: this stack made it and `down` removes it. `adopted`: it was there before and is never deleted. */
export type Origin = 'created' | 'adopted';

export interface ResourceRecord {
  /** The ID, name or ARN the resource is addressed by. */
  id: string;
  arn?: string;
  origin: Origin;
  /** Facts later steps need (DNS name, subnet IDs, image URI …). Never secrets. */
  details?: Record<string, unknown>;
}

export interface StateFile {
  schemaVersion: number;
  stack: string;
  account: string;
  region: string;
  createdAt: string;
  updatedAt: string;
  resources: Record<string, ResourceRecord>;
}

export function statePath(dir: string, stack: string): string {
  return join(dir, `${stack}.json`);
}

/** Reads a state file; undefined when there is none. A corrupt file is refused, never overwritten. */
export function readStateFile(dir: string, stack: string): StateFile | undefined {
  const path = statePath(dir, stack);
  if (!existsSync(path)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new UsageError(
      `the state file ${path} is not valid JSON (${(error as Error).message}); it was left as it is`,
      `move it aside; \`ecs-ha down --stack ${stack}\` still finds the stack's resources by their tags`,
    );
  }
  const file = parsed as Partial<StateFile>;
  if (typeof file !== 'object' || file === null || typeof file.resources !== 'object' || file.stack !== stack) {
    throw new UsageError(`the state file ${path} is not an ecs-ha state file for stack "${stack}"; it was left as it is`);
  }
  if (file.schemaVersion !== STATE_SCHEMA_VERSION) {
    throw new UsageError(
      `the state file ${path} has schema version ${String(file.schemaVersion)}; this ecs-ha reads version ${STATE_SCHEMA_VERSION}`,
      'use the ecs-ha version that wrote it',
    );
  }
  // A hand-edited or foreign record decides what `down` deletes: one of the wrong shape is refused.
  const problems = [
    ...(typeof file.account === 'string' && /^\d{12}$/.test(file.account) ? [] : [`account ${JSON.stringify(file.account)} is not a 12-digit AWS account`]),
    ...(typeof file.region === 'string' && file.region !== '' ? [] : [`region ${JSON.stringify(file.region)} is not a region`]),
    ...(Array.isArray(file.resources) || file.resources === null ? ['resources is not an object'] : Object.entries(file.resources ?? {}).flatMap(([key, record]) => recordProblems(key, record))),
  ];
  if (problems.length > 0) {
    throw new UsageError(
      `the state file ${path} has records of the wrong shape: ${problems.join('; ')}; it was left as it is`,
      `move it aside; \`ecs-ha down --stack ${stack}\` still finds the stack's resources by their tags`,
    );
  }
  return file as StateFile;
}

const RECORD_KEYS = new Set(['id', 'arn', 'origin', 'details']);

/** What is wrong with one resource record, as phrases naming it; empty when it is well formed. */
function recordProblems(key: string, record: unknown): string[] {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return [`"${key}" is ${record === null ? 'null' : typeof record}, not a record`];
  const r = record as Record<string, unknown>;
  const problems: string[] = [];
  const unknown = Object.keys(r).filter((k) => !RECORD_KEYS.has(k));
  if (unknown.length > 0) problems.push(`"${key}" has unknown ${unknown.length === 1 ? 'key' : 'keys'} ${unknown.join(', ')}`);
  if (typeof r.id !== 'string' || r.id === '') problems.push(`"${key}".id is not a non-empty string`);
  if (r.origin !== 'created' && r.origin !== 'adopted') problems.push(`"${key}".origin is ${JSON.stringify(r.origin)}, not "created" or "adopted"`);
  if (r.arn !== undefined && typeof r.arn !== 'string') problems.push(`"${key}".arn is not a string`);
  if (r.details !== undefined && (typeof r.details !== 'object' || r.details === null || Array.isArray(r.details))) problems.push(`"${key}".details is not an object`);
  return problems;
}

/** Reads the stack's state file, refusing one written for another account or region. */
export function readOwnStateFile(dir: string, stack: string, account: string, region: string): StateFile | undefined {
  const existing = readStateFile(dir, stack);
  if (existing && (existing.account !== account || existing.region !== region)) {
    throw new UsageError(
      `the state file ${statePath(dir, stack)} belongs to account ${existing.account} in ${existing.region}, but the credentials in use are for account ${account} in ${region}`,
      'use the same account and --region as the run that created the stack, or another --stack or --state-dir',
    );
  }
  return existing;
}

/**
 * The stack's state, saved atomically (temp file + rename, mode 0600) every time a resource
 * is recorded, so that an interrupted run can resume and `down` can reverse it.
 */
export class StateStore {
  private constructor(
    readonly dir: string,
    private data: StateFile,
    private persisted: boolean,
  ) {}

  /** Opens the stack's state, refusing one written for another account or region. */
  static open(dir: string, stack: string, account: string, region: string): StateStore {
    const existing = readOwnStateFile(dir, stack, account, region);
    const now = new Date().toISOString();
    const data = existing ?? { schemaVersion: STATE_SCHEMA_VERSION, stack, account, region, createdAt: now, updatedAt: now, resources: {} };
    return new StateStore(dir, data, existing !== undefined);
  }

  get path(): string {
    return statePath(this.dir, this.data.stack);
  }
  get stack(): string {
    return this.data.stack;
  }
  get account(): string {
    return this.data.account;
  }
  get region(): string {
    return this.data.region;
  }
  /** True when a state file exists on disk for this stack. */
  get exists(): boolean {
    return this.persisted;
  }

  get(key: string): ResourceRecord | undefined {
    return this.data.resources[key];
  }

  /** The record of a resource an earlier step must have made; a bug if missing. */
  require(key: string): ResourceRecord {
    const record = this.data.resources[key];
    if (!record) throw new OperationError(`internal: step needs "${key}", which is not in the state yet`);
    return record;
  }

  entries(): Array<[string, ResourceRecord]> {
    return Object.entries(this.data.resources);
  }

  isEmpty(): boolean {
    return Object.keys(this.data.resources).length === 0;
  }

  record(key: string, record: ResourceRecord): void {
    this.data.resources[key] = record;
    this.save();
  }

  forget(key: string): void {
    if (!(key in this.data.resources)) return;
    delete this.data.resources[key];
    this.save();
  }

  snapshot(): StateFile {
    return structuredClone(this.data);
  }

  save(): void {
    ensurePrivateDir(this.dir);
    this.data.updatedAt = new Date().toISOString();
    writeFileAtomic(this.path, `${JSON.stringify(this.data, null, 2)}\n`);
    this.persisted = true;
  }

  /** Removes the state file once everything it listed is gone. */
  remove(): void {
    rmSync(this.path, { force: true });
    this.persisted = false;
  }
}

export interface LockInfo {
  pid: number;
  host: string;
  command: string;
  startedAt: string;
}


/**
 * Takes the stack's lock so two runs cannot work on one stack. A lock left by a process that
 * no longer runs on this host is taken over, with `onTakeover` told. Returns the release function.
 */
export function acquireLock(dir: string, stack: string, command: string, onTakeover: (stale: LockInfo) => void): () => void {
  ensurePrivateDir(dir);
  const path = join(dir, `${stack}.lock`);
  const mine: LockInfo = { pid: process.pid, host: hostname(), command, startedAt: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeFileSync(fd, JSON.stringify(mine));
      closeSync(fd);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        rmSync(path, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw explainFileError(error, `cannot take the lock ${path}`);
    }
    let holder: LockInfo | undefined;
    let text = '';
    try {
      text = readFileSync(path, 'utf8');
      holder = JSON.parse(text) as LockInfo;
    } catch {
      holder = undefined; // cut short by a crash between open and write, or not ours at all
    }
    // A lock that cannot be read is taken over only when no live process could be holding it.
    const namedPid = Number(/"pid"\s*:\s*(\d+)/.exec(text)?.[1]);
    const unreadableButHeld = !holder && Number.isInteger(namedPid) && namedPid > 0 && isProcessAlive(namedPid);
    if (unreadableButHeld) {
      throw new OperationError(`stack "${stack}" is locked: the lock file ${path} cannot be read, and the process it names (pid ${namedPid}) is running`, `wait for it to finish; if that process is not ecs-ha, delete ${path}`);
    }
    const stale = !holder || (holder.host === mine.host && !isProcessAlive(holder.pid));
    if (!stale) {
      throw new OperationError(
        `stack "${stack}" is locked by \`ecs-ha ${holder!.command}\` (pid ${holder!.pid} on ${holder!.host}, since ${holder!.startedAt})`,
        `wait for it to finish; if that process no longer runs, delete ${path}`,
      );
    }
    onTakeover(holder ?? { pid: 0, host: 'unknown', command: 'unknown', startedAt: 'unknown' });
    rmSync(path, { force: true });
  }
  throw new OperationError(`could not take the lock ${path}`);
}
