import { openAsBlob } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';

/**
 * A Blob backed by the file on disk (Node ≥ 19.8): `slice()` is free and a
 * PUT of a slice streams that range from disk, so memory stays flat whatever
 * the file size. Reading fails if the file changes meanwhile, which is what
 * an upload of a half-written file should do.
 */
export function openFileAsBlob(path: string): Promise<Blob> {
  return openAsBlob(path);
}

/** What `putFileRange` checks the file against: it must not change during the upload. */
export async function statFile(path: string): Promise<{ size: number; mtimeMs: number }> {
  const { size, mtimeMs } = await stat(path);
  return { size, mtimeMs };
}

/** Bytes [start, end) of the file at `path`. */
export interface FileRange {
  path: string;
  start: number;
  end: number;
}

/** Bytes read from the file and written to the socket at a time; two such buffers per PUT in flight. */
const CHUNK_BYTES = 256 * 1024;

/**
 * PUTs a range of a file with node:http(s), reading it into two reused
 * buffers: each is refilled only once the socket flushed it, so a PUT holds
 * 512 KiB whatever the part size, and no per-chunk garbage piles up between
 * collections. (fetch copies every chunk of a stream body, and buffers a Blob
 * body whole: 4 parts of 16 MiB in flight peaked at 209 MiB RSS for a 2 GiB
 * file.) Fails like fetch: an AbortError when `signal` aborts, a TypeError on
 * a network error, else the Response, whatever its status. A file that
 * changed since the upload began fails with a NotReadableError cause.
 */
export async function putFileRange(p: {
  url: string;
  headers: Record<string, string>;
  range: FileRange;
  signal: AbortSignal;
  fileStamp: { size: number; mtimeMs: number };
}): Promise<Response> {
  p.signal.throwIfAborted();
  const file = await open(p.range.path, 'r');
  try {
    const now = await file.stat();
    if (now.size !== p.fileStamp.size || now.mtimeMs !== p.fileStamp.mtimeMs) {
      const cause = new Error(`${p.range.path} changed while it was being uploaded.`);
      cause.name = 'NotReadableError';
      throw new TypeError('The file changed during the upload.', { cause });
    }
    return await new Promise<Response>((resolve, reject) => {
      const url = new URL(p.url);
      const request = (url.protocol === 'https:' ? https : http).request(url, {
        method: 'PUT',
        headers: p.headers,
        signal: p.signal,
      });
      const fail = (error: unknown) => {
        request.destroy();
        reject(
          p.signal.aborted
            ? (p.signal.reason ?? new DOMException('This operation was aborted', 'AbortError'))
            : new TypeError('fetch failed', { cause: error }),
        );
      };
      request.on('error', fail);
      request.on('response', (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', fail);
        response.on('end', () => {
          const headers = new Headers();
          for (const [name, value] of Object.entries(response.headers)) {
            if (typeof value === 'string') headers.set(name, value);
          }
          resolve(new Response(Buffer.concat(chunks).toString('utf8'), { status: response.statusCode ?? 0, headers }));
        });
      });
      writeRange(file, request, p.range).then(() => request.end(), fail);
    });
  } finally {
    await file.close();
  }
}

/**
 * Chunk buffers of finished PUTs, taken by the next ones. Each PUT allocating
 * its own pair left 512 KiB of garbage per part outside the JavaScript heap,
 * which V8 collects late: a 2 GiB upload (128 parts) peaked at 103 MiB RSS,
 * 45 MiB above its start. Kept: enough for 8 PUTs in flight (any more
 * allocate, and their buffers are dropped when spares are full).
 */
const spareBuffers: Buffer[] = [];
const MAX_SPARE_BUFFERS = 16;
let buffersAllocated = 0;

function takeBuffer(): Buffer {
  const spare = spareBuffers.pop();
  if (spare) return spare;
  buffersAllocated++;
  return Buffer.allocUnsafeSlow(CHUNK_BYTES);
}

/** How many chunk buffers PUTs have allocated in this process: flat once the spares cover the PUTs in flight. */
export function chunkBuffersAllocated(): number {
  return buffersAllocated;
}

async function writeRange(file: FileHandle, request: http.ClientRequest, range: FileRange): Promise<void> {
  const buffers = [takeBuffer(), takeBuffer()];
  const flushed: Promise<void>[] = [Promise.resolve(), Promise.resolve()];
  let slot = 0;
  for (let position = range.start; position < range.end; slot ^= 1) {
    await flushed[slot];
    // Destroyed (aborted, failed, or answered early): its 'error' or 'response' settles the PUT.
    if (request.destroyed) return;
    const buffer = buffers[slot] as Buffer;
    const { bytesRead } = await file.read(buffer, 0, Math.min(CHUNK_BYTES, range.end - position), position);
    if (bytesRead === 0) throw new Error(`${range.path} ended before byte ${range.end}.`);
    position += bytesRead;
    // Settles once the socket flushed the chunk or failed (the request's 'error' reports that).
    flushed[slot] = new Promise((resolve) => request.write(buffer.subarray(0, bytesRead), () => resolve()));
  }
  await Promise.all(flushed);
  // Only once both writes were flushed: no socket still reads them. A PUT that stopped early
  // leaves its pair to the collector rather than risk handing out a buffer still queued.
  for (const buffer of buffers) if (spareBuffers.length < MAX_SPARE_BUFFERS) spareBuffers.push(buffer);
}
