/**
 * Where there is no file system (browsers, React Native), a path cannot be
 * opened: upload the `File`/`Blob` the user picked, or a stream.
 */
export function openFileAsBlob(path: string): Promise<Blob> {
  return Promise.reject(
    new TypeError(`"${path}" is a file path, which only Node can open. Pass the File or Blob the user chose instead.`),
  );
}
