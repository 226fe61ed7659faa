/**
 * Pid records of task processes, so that a later command can clean up after a plane that was
 * killed (its tasks run in their own process groups and outlive it).
 */
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { writeFileAtomic } from '../../fs/safe.js';
import { readFile, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { promisify } from 'node:util';

export interface PidRecord {
  pid: number;
  taskId: string;
  /** The command line spawned; lets a pid whose process title was not changed be recognised. */
  argv?: readonly string[];
}

/** Replaces the record file atomically (a reader never sees half a file), mode 0600. */
export function recordPids(file: string, entries: readonly PidRecord[]): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const tasks = entries.map(({ pid, taskId, argv }) => ({ pid, taskId, ...(argv ? { argv: [...argv] } : {}) }));
  writeFileAtomic(file, `${JSON.stringify({ tasks }, null, 2)}\n`);
}

/**
 * SIGKILLs the process group of every recorded task that still runs and is still ours; returns how
 * many groups it killed, and removes the file. A pid can have been reused by another process since
 * it was recorded, so a pid counts only if it leads its own process group and its command line
 * shows gunicorn or the recorded command.
 */
export async function killRecorded(file: string): Promise<number> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
  const victims: number[] = [];
  for (const record of parseRecords(text)) {
    const { pid } = record;
    if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 1 || pid === process.pid) continue;
    const info = await processInfo(pid);
    if (!info || info.pgid !== pid || !isOurs(info.command, record.argv)) continue;
    try {
      process.kill(-pid, 'SIGKILL');
      victims.push(pid);
    } catch {
      // gone meanwhile, or not ours to signal
    }
  }
  // Wait until they are gone, so that their addresses and ports are free for what comes next.
  const deadline = Date.now() + 3_000;
  for (const pid of victims) {
    while (Date.now() < deadline && (await processInfo(pid))) await new Promise((done) => setTimeout(done, 50));
  }
  await unlink(file).catch(() => {});
  return victims.length;
}

function parseRecords(text: string): Array<{ pid: unknown; argv?: string[] }> {
  try {
    const parsed = JSON.parse(text) as { tasks?: unknown };
    if (!Array.isArray(parsed.tasks)) return [];
    return parsed.tasks.filter((entry): entry is { pid: unknown; argv?: unknown } => typeof entry === 'object' && entry !== null).map((entry) => ({
      pid: entry.pid,
      ...(Array.isArray(entry.argv) && entry.argv.every((arg) => typeof arg === 'string') ? { argv: entry.argv as string[] } : {}),
    }));
  } catch {
    return []; // a torn or foreign file: nothing we can trust
  }
}

function isOurs(command: string, argv: readonly string[] | undefined): boolean {
  if (command.includes('gunicorn')) return true;
  const head = (argv ?? []).slice(0, 3).join(' ');
  return head.length > 0 && command.includes(head);
}

/** Process group and command line of a live (not zombie) process, or undefined. */
export async function processInfo(pid: number): Promise<{ pgid: number; command: string } | undefined> {
  if (process.platform === 'linux') {
    try {
      const [stat, cmdline] = await Promise.all([readFile(`/proc/${pid}/stat`, 'utf8'), readFile(`/proc/${pid}/cmdline`, 'utf8')]);
      // Fields after the parenthesised name: state, ppid, pgrp, ...
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (state === 'Z' || state === 'X') return undefined;
      return { pgid: Number(pgrp), command: cmdline.replaceAll('\0', ' ').trim() };
    } catch {
      return undefined;
    }
  }
  try {
    const { stdout } = await promisify(execFile)('ps', ['-o', 'stat=,pgid=,command=', '-p', String(pid)]);
    const match = /^\s*(\S+)\s+(\d+)\s+(.*)$/.exec(stdout.trim());
    if (!match || match[1]?.startsWith('Z')) return undefined;
    return { pgid: Number(match[2]), command: match[3] ?? '' };
  } catch {
    return undefined; // ps exits 1 for a pid that does not exist
  }
}
