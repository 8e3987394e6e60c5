import type { VideoContentType } from '@coach/api';

/**
 * What to upload: a browser `File`/`Blob`, or in Node a file path (`'clip.mp4'`
 * or `{ path }`), read one part at a time, never whole. Streams are not
 * accepted: a part must be re-readable for retries and resume, and the size
 * must be known before the upload starts.
 */
export type UploadFile = Blob | string | { path: string };

/** The file as a lazily read Blob: slicing copies nothing, bytes are read when a PUT sends them. */
export interface UploadSource {
  blob: Blob;
  size: number;
  /** The type the file announces (Blob type or file extension), when it is one the API accepts. */
  contentType: VideoContentType | undefined;
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

export function contentTypeForName(name: string): VideoContentType | undefined {
  const extension = name.slice(name.lastIndexOf('.') + 1).toLowerCase();
  for (const [type, extensions] of Object.entries(EXTENSIONS)) {
    if (extensions.includes(extension) && isVideoContentType(type)) return type;
  }
  return undefined;
}

export async function openUploadSource(file: UploadFile): Promise<UploadSource> {
  if (typeof file === 'string' || !(file instanceof Blob)) {
    const path = typeof file === 'string' ? file : file.path;
    // Loaded only for paths, so a browser bundle never needs node:fs at run time.
    const { openFileAsBlob } = await import('./node-file.ts');
    const blob = await openFileAsBlob(path);
    return { blob, size: blob.size, contentType: contentTypeForName(path) };
  }
  const type = file.type.split(';')[0]?.trim().toLowerCase() ?? '';
  const fromName = 'name' in file && typeof file.name === 'string' ? contentTypeForName(file.name) : undefined;
  return { blob: file, size: file.size, contentType: isVideoContentType(type) ? type : fromName };
}
