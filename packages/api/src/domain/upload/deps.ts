import type { JobStatus } from '@coach/db';

import type { Context } from '../../context.ts';

/** What the upload procedures use of the context. */
export type UploadDeps = Pick<Context, 'db' | 'storage' | 'outbox' | 'config' | 'logger' | 'now'>;

/** What initiate answers, first time or repeated: where and how to PUT the file. */
export interface InitiatedUpload {
  jobId: string;
  sessionId: string;
  videoId: string;
  status: JobStatus;
  /** `multipart` above the size threshold: sign parts with upload.signParts instead of one PUT. */
  uploadMode: 'single' | 'multipart';
  /** The single-PUT URL; null for a multipart upload. */
  presignedUrl: string | null;
  method: 'PUT';
  /** Send exactly these headers with the PUT (or every part PUT), or storage refuses the upload. */
  headers: Record<string, string>;
  /** The part plan of a multipart upload: every part has `partSizeBytes` except the last. */
  multipart: { partSizeBytes: number; partCount: number } | null;
  expiresIn: number;
  expiresAt: string;
  s3Bucket: string;
  s3Key: string;
  maxSizeBytes: number;
}
