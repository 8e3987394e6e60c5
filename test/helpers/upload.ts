/** The single-PUT URL of an initiated upload; fails the test if the upload went multipart. */
export function putUrl(upload: { presignedUrl: string | null; uploadMode: string }): string {
  if (!upload.presignedUrl) throw new Error(`expected a single-PUT upload, got ${upload.uploadMode}`);
  return upload.presignedUrl;
}
