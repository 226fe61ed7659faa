/**
 * Files ecs-ha writes beside the user's work (state, trace, logs, pid records): created 0600,
 * never through a symbolic link someone planted, and temp files under names nobody can predict.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, mkdirSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { EnvironmentError } from '../errors.js';

const APPEND = constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND | (constants.O_NOFOLLOW ?? 0);

/** Opens a file for appending, 0600 when created; refuses a symbolic link (ELOOP). */
export function openForAppend(path: string): number {
  try {
    return openSync(path, APPEND, 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') {
      throw new EnvironmentError(`refusing to write to ${path}: it is a symbolic link`, 'remove the link, or choose another path', { cause: error });
    }
    throw error;
  }
}

/** Writes `content` to `path` atomically: an exclusive temp file of a random name, 0600, then a rename. */
export function writeFileAtomic(path: string, content: string): void {
  const temp = `${path}.${randomBytes(8).toString('hex')}.tmp`;
  let fd: number;
  try {
    fd = openSync(temp, 'wx', 0o600);
  } catch (error) {
    throw explainFileError(error, `cannot write ${path}`);
  }
  try {
    try {
      writeSync(fd, content);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (error) {
    // A full disk or a failed rename leaves the old file as it was, and no half-written temp file.
    rmSync(temp, { force: true });
    throw explainFileError(error, `cannot write ${path}`);
  }
}

const FILE_ERRORS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  ENOTDIR: 'a part of the path is a file, not a folder',
  ENOENT: 'a part of the path does not exist and cannot be created there',
  EISDIR: 'it is a folder',
  EEXIST: 'a file of that name is in the way',
};

/** A file-system error as exit 3 with what happened and what to do; anything else unchanged. */
export function explainFileError(error: unknown, what: string, hint = 'choose a folder you can write with --state-dir, or free space / fix its permissions'): unknown {
  if (error instanceof EnvironmentError) return error;
  const code = (error as NodeJS.ErrnoException)?.code;
  if (!code || !(code in FILE_ERRORS)) return error;
  return new EnvironmentError(`${what}: ${FILE_ERRORS[code]} (${code})`, hint, { cause: error });
}

/**
 * Creates a folder and its missing parents, 0700, one level at a time: Node's recursive mkdir never
 * returns for a path under /proc (it spins, ignoring SIGTERM). Fails with exit 3, explained.
 */
export function ensurePrivateDir(dir: string, what = 'the state folder'): void {
  const target = resolve(dir);
  const missing: string[] = [];
  for (let current = target; ; current = dirname(current)) {
    let stats;
    try {
      stats = statSync(current);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw explainFileError(error, `cannot create ${what} ${dir}`);
      missing.unshift(current);
      if (dirname(current) === current) break;
      continue;
    }
    if (!stats.isDirectory()) throw explainFileError(Object.assign(new Error('not a directory'), { code: current === target ? 'EEXIST' : 'ENOTDIR' }), `cannot create ${what} ${dir}`);
    break;
  }
  for (const folder of missing) {
    try {
      mkdirSync(folder, { mode: 0o700 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST' && statSync(folder).isDirectory()) continue;
      throw explainFileError(error, `cannot create ${what} ${dir}`);
    }
  }
}

/** Why a folder holding state is not private to this user, or undefined when it is. */
export function folderExposure(dir: string): string | undefined {
  let stats;
  try {
    stats = statSync(dir);
  } catch {
    return undefined; // not there yet: it is created 0700
  }
  const problems: string[] = [];
  if (typeof process.getuid === 'function' && stats.uid !== process.getuid()) problems.push(`it is owned by another user (uid ${stats.uid})`);
  if (stats.mode & 0o022) problems.push(`it is writable by ${stats.mode & 0o002 ? 'others' : 'its group'} (mode ${(stats.mode & 0o777).toString(8)})`);
  return problems.length > 0 ? problems.join(' and ') : undefined;
}
