// Node's file-backed Blob under the `node` condition, a stub that refuses paths everywhere else
// (package.json "imports"), so a browser bundle never contains node:fs.
import { openFileAsBlob, statFile, type FileRange } from '#node-file';

import type { VideoContentType } from '@coach/api';

import { isNodeStream, isWebStream, StreamReader, type ByteStream } from './stream-source.ts';

/**
 * A stream to upload: a Node `Readable` (`fs.createReadStream(path)`, …) or a
 * web `ReadableStream` of bytes. The size must be known up front (the server
 * plans the parts from it); a stream that ends early or runs past it fails the
 * upload, which is then not completed. A stream is read once, in order.
 */
export interface UploadStream {
  stream: ByteStream;
  /** The exact number of bytes the stream yields. */
  sizeBytes: number;
  /** Default: the extension of an `fs.ReadStream`'s path, else the upload's `contentType` or the API's default. */
  contentType?: VideoContentType;
}

/**
 * What to upload: a browser `File`/`Blob`, in Node a file path (`'clip.mp4'`
 * or `{ path }`), read one part at a time, never whole, or a stream with its
 * size (`{ stream, sizeBytes }`), read once, in order, a part at a time.
 */
export type UploadFile = Blob | string | { path: string } | UploadStream;

/** The file, read range by range: each range is a Blob sent (and re-sent on retry) as is. */
export interface UploadSource {
  size: number;
  /** The type the file announces (Blob type, file extension, stream option), when it is one the API accepts. */
  contentType: VideoContentType | undefined;
  /**
   * Bytes [start, end). A Blob or path source slices (free: bytes are read when a
   * PUT sends them). A stream source reads them now, so ranges must be asked in
   * ascending order, each once; bytes before a range are read and discarded.
   */
  read(start: number, end: number): Promise<Blob>;
  /** Releases the file: a stream is destroyed (Node) or cancelled (web). Idempotent. */
  close(): void;
}

function blobSource(blob: Blob, contentType: VideoContentType | undefined): UploadSource {
  return {
    size: blob.size,
    contentType,
    // The whole file as is, keeping its type; a slice otherwise.
    read: (start, end) => Promise.resolve(start === 0 && end === blob.size ? blob : blob.slice(start, end)),
    close: () => undefined,
  };
}

function streamSource(file: UploadStream): UploadSource {
  const { stream, sizeBytes } = file;
  if (!isWebStream(stream) && !isNodeStream(stream)) {
    throw new TypeError('`stream` must be a Node Readable or a web ReadableStream.');
  }
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 0) {
    if (isWebStream(stream)) void stream.cancel().catch(() => undefined);
    else stream.destroy();
    throw new RangeError('A stream needs `sizeBytes`, the exact number of bytes it yields (a whole number ≥ 0).');
  }
  const path = 'path' in stream && typeof stream.path === 'string' ? stream.path : undefined;
  const reader = new StreamReader(stream, sizeBytes);
  return {
    size: sizeBytes,
    contentType: file.contentType ?? (path === undefined ? undefined : contentTypeForName(path)),
    read: (start, end) => reader.read(start, end),
    close: () => reader.close(),
  };
}

/** Every type the API accepts (the annotation fails to compile if the API's list changes). */
const EXTENSIONS: Record<VideoContentType, readonly string[]> = {
  'video/mp4': ['mp4', 'm4v'],
  'video/quicktime': ['mov', 'qt'],
  'video/webm': ['webm'],
  'video/3gpp': ['3gp', '3gpp'],
};

function isVideoContentType(type: string): type is VideoContentType {
  return Object.hasOwn(EXTENSIONS, type);
}

/**
 * The video type the API would be told for this file (from its MIME type, else
 * its name's extension), or undefined when it is not a video the API accepts:
 * check a picked file before uploading it.
 */
export function videoContentTypeOf(file: Blob | string): VideoContentType | undefined {
  if (typeof file === 'string') return contentTypeForName(file);
  const type = file.type.split(';')[0]?.trim().toLowerCase() ?? '';
  if (isVideoContentType(type)) return type;
  return 'name' in file && typeof file.name === 'string' ? contentTypeForName(file.name) : undefined;
}

export function contentTypeForName(name: string): VideoContentType | undefined {
  const extension = name.slice(name.lastIndexOf('.') + 1).toLowerCase();
  for (const [type, extensions] of Object.entries(EXTENSIONS)) {
    if (extensions.includes(extension) && isVideoContentType(type)) return type;
  }
  return undefined;
}

/**
 * Where each slice of a file path source lies in its file, and the file's size
 * and modification time when the upload opened it: under Node the default PUT
 * reads the range from disk itself (see `putFileRange`), never through a Blob.
 */
const fileRanges = new WeakMap<Blob, { range: FileRange; stamp: { size: number; mtimeMs: number } }>();

export function fileRangeOf(blob: Blob) {
  return fileRanges.get(blob);
}

async function pathSource(path: string): Promise<UploadSource> {
  const [blob, stamp] = await Promise.all([openFileAsBlob(path), statFile(path)]);
  const source = blobSource(blob, contentTypeForName(path));
  return {
    ...source,
    read: async (start, end) => {
      const slice = await source.read(start, end);
      fileRanges.set(slice, { range: { path, start, end }, stamp });
      return slice;
    },
  };
}

export async function openUploadSource(file: UploadFile): Promise<UploadSource> {
  if (file instanceof Blob) return blobSource(file, videoContentTypeOf(file));
  if (typeof file === 'object' && 'stream' in file) return streamSource(file);
  if (isWebStream(file) || isNodeStream(file)) {
    throw new TypeError('Pass a stream as `{ stream, sizeBytes }`: its size must be known before the upload starts.');
  }
  return pathSource(typeof file === 'string' ? file : file.path);
}
