import type { JobStatus } from '@coach/db';

import type { Context } from '../../context.ts';

/** What the upload procedures use of the context. */
export type UploadDeps = Pick<Context, 'db' | 'storage' | 'outbox' | 'config' | 'logger' | 'now' | 'usage'>;

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
  /** When `presignedUrl` stops working (for multipart, the upload's deadline): re-sign with a repeated initiate. */
  expiresIn: number;
  expiresAt: string;
  /**
   * The upload's deadline: each sign, record or list of parts, repeated initiate
   * and complete attempt pushes it out by the idle window, up to the maximum lifetime.
   */
  uploadExpiresAt: string;
  s3Bucket: string;
  s3Key: string;
  maxSizeBytes: number;
}
