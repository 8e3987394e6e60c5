/**
 * Where there is no file system (browsers, React Native), a path cannot be
 * opened: upload the `File`/`Blob` the user picked, or a stream.
 */
export function openFileAsBlob(path: string): Promise<Blob> {
  return Promise.reject(
    new TypeError(`"${path}" is a file path, which only Node can open. Pass the File or Blob the user chose instead.`),
  );
}

/** Bytes [start, end) of the file at `path`. */
export interface FileRange {
  path: string;
  start: number;
  end: number;
}

/** Never called where paths cannot be opened: no source has a file range there. */
export function putFileRange(_: {
  url: string;
  headers: Record<string, string>;
  range: FileRange;
  signal: AbortSignal;
  fileStamp: { size: number; mtimeMs: number };
}): Promise<Response> {
  return Promise.reject(new TypeError('File paths can only be uploaded under Node.'));
}

export function statFile(_path: string): Promise<{ size: number; mtimeMs: number }> {
  return Promise.reject(new TypeError('File paths can only be uploaded under Node.'));
}
