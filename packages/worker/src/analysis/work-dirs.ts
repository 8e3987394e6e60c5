import { readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const PREFIX = 'analysis-';
/** `analysis-<pid>-XXXXXX`, or `analysis-XXXXXX` from versions before the pid; nothing else with that prefix. */
const WORK_DIR = /^analysis-(?:(\d+)-)?[A-Za-z0-9]{6}$/;

/** `mkdtemp` prefix of this process's download folders: the pid tells a later process whether the owner is gone. */
export function workDirPrefix(): string {
  return `${PREFIX}${process.pid}-`;
}

/**
 * Removes download folders left by analysis processes that are gone (a
 * crash, `kill -9`, a lost container): each holds a whole uploaded video.
 * Folders of live processes are kept, so workers sharing a temp dir do not
 * delete each other's downloads; a folder without a pid (older versions)
 * counts as stale. Returns what was removed.
 */
export async function cleanStaleWorkDirs(workDir: string = os.tmpdir()): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(workDir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const match = WORK_DIR.exec(name);
    if (match === null) continue;
    const pid = match[1];
    if (pid !== undefined && isAlive(Number(pid))) continue;
    const dir = path.join(workDir, name);
    await rm(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: alive, owned by another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
