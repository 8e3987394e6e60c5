import { openAsBlob } from 'node:fs';

/**
 * A Blob backed by the file on disk (Node ≥ 19.8): `slice()` is free and a
 * PUT of a slice streams that range from disk, so memory stays flat whatever
 * the file size. Reading fails if the file changes meanwhile, which is what
 * an upload of a half-written file should do.
 */
export function openFileAsBlob(path: string): Promise<Blob> {
  return openAsBlob(path);
}
