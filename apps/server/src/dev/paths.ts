import path from 'node:path';

/** The repository root, whatever directory a script was started from. */
export const REPO_ROOT = path.resolve(import.meta.dirname, '../../../..');

export function dataDir(override?: string): string {
  return path.resolve(REPO_ROOT, override ?? '.data');
}
