/**
 * Files ecs-ha writes beside the user's work (state, trace, logs, pid records): created 0600,
 * never through a symbolic link someone planted, and temp files under names nobody can predict.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
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
  const fd = openSync(temp, 'wx', 0o600);
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
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
