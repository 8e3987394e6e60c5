import { UploadPartCommand } from '@aws-sdk/client-s3';

import type { TestServer } from './server.ts';

/** The single-PUT URL of an initiated upload; fails the test if the upload went multipart. */
export function putUrl(upload: { presignedUrl: string | null; uploadMode: string }): string {
  if (!upload.presignedUrl) throw new Error(`expected a single-PUT upload, got ${upload.uploadMode}`);
  return upload.presignedUrl;
}

/** What storage answers a part sent straight to a multipart upload (e.g. 'NoSuchUpload' once it is aborted). */
export async function partUploadOutcome(
  server: Pick<TestServer, 'aws' | 'bucket'>,
  p: { key: string; uploadId: string; partNumber: number },
): Promise<string> {
  const answer = await server.aws.s3
    .send(
      new UploadPartCommand({
        Bucket: server.bucket,
        Key: p.key,
        UploadId: p.uploadId,
        PartNumber: p.partNumber,
        Body: new Uint8Array(10),
      }),
    )
    .catch((error: unknown) => error);
  return (answer as { name?: string }).name ?? 'stored';
}
