import {
  findOwnedJob,
  listUploadParts,
  upsertUploadParts,
  type Database,
  type Kysely,
  type Owner,
  type RecordedPart,
  type VideoAnalysisJob,
} from '@coach/db';

import type { Context } from '../context.ts';
import { AppError } from './errors.ts';
import { jobNotFound } from './jobs.ts';
import { pushUploadDeadline, requireUploadDeadline } from './upload/deadline.ts';

const MIB = 1024 ** 2;
const MIN_PART_BYTES = 5 * MIB;
/** S3's most for one request's body: a single PUT, and each part of a multipart upload. */
export const S3_MAX_REQUEST_BYTES = 5 * 1024 ** 3;
const MAX_PARTS = 10_000;

export interface PartPlan {
  partSizeBytes: number;
  partCount: number;
}

/**
 * Equal parts of at least `preferredPartBytes` (never under S3's 5 MiB), grown
 * in whole MiB until the upload fits in 10,000 parts; the last part is the remainder.
 */
export function planParts(sizeBytes: number, preferredPartBytes: number): PartPlan {
  let partSizeBytes = Math.max(MIN_PART_BYTES, preferredPartBytes, Math.ceil(sizeBytes / MAX_PARTS));
  partSizeBytes = Math.ceil(partSizeBytes / MIB) * MIB;
  if (partSizeBytes > S3_MAX_REQUEST_BYTES) throw new RangeError(`${sizeBytes} bytes cannot be uploaded in ${MAX_PARTS} parts`);
  return { partSizeBytes, partCount: Math.max(1, Math.ceil(sizeBytes / partSizeBytes)) };
}

/** The exact length of one part: every part is full-size except the last. */
export function partLength(job: { sizeBytes: number; partSizeBytes: number; partCount: number }, partNumber: number): number {
  return partNumber < job.partCount ? job.partSizeBytes : job.sizeBytes - job.partSizeBytes * (job.partCount - 1);
}

interface MultipartJob {
  job: VideoAnalysisJob;
  uploadId: string;
  partSizeBytes: number;
  partCount: number;
  sizeBytes: number;
}

/** The caller's own multipart job that is still accepting parts. */
async function openMultipartJob(db: Kysely<Database>, p: { owner: Owner; jobId: string }): Promise<MultipartJob> {
  const job = await findOwnedJob(db, p);
  if (!job) throw jobNotFound();
  return asOpenMultipart(job);
}

/** Checks that an already-loaded (and owner-checked) job is a multipart upload still accepting parts. */
function asOpenMultipart(job: VideoAnalysisJob): MultipartJob {
  if (
    job.uploadMode !== 'multipart' ||
    !job.multipartUploadId ||
    !job.partSizeBytes ||
    !job.partCount ||
    !job.declaredSizeBytes
  ) {
    throw new AppError('NOT_MULTIPART', 'This upload is a single PUT; it has no parts. Use its presignedUrl.');
  }
  if (job.status !== 'awaiting_upload') {
    throw new AppError('UPLOAD_CLOSED', `This upload is already ${job.status}; no more parts are accepted.`);
  }
  return {
    job,
    uploadId: job.multipartUploadId,
    partSizeBytes: job.partSizeBytes,
    partCount: job.partCount,
    sizeBytes: job.declaredSizeBytes,
  };
}

function assertPartNumbers(partNumbers: readonly number[], partCount: number): void {
  const outside = partNumbers.filter((n) => n > partCount);
  if (outside.length > 0) {
    throw new AppError(
      'INVALID_PART_NUMBER',
      `This upload has parts 1 to ${partCount}; ${outside.join(', ')} ${outside.length === 1 ? 'is' : 'are'} out of range.`,
    );
  }
}

export interface SignedPart {
  partNumber: number;
  url: string;
  /** The exact number of bytes to PUT. */
  sizeBytes: number;
}

/** Signs part URLs for the caller's own upload; re-signing an expired URL is just calling again. */
export async function signParts(
  deps: Pick<Context, 'db' | 'storage' | 'config' | 'now' | 'usage'>,
  p: { owner: Owner; userId: string; jobId: string; partNumbers: number[] },
): Promise<{ jobId: string; expiresIn: number; expiresAt: string; uploadExpiresAt: string; parts: SignedPart[] }> {
  const open = await openMultipartJob(deps.db, p);
  assertPartNumbers(p.partNumbers, open.partCount);
  deps.usage.charge(p.userId, 'signedUrls', p.partNumbers.length);
  // Signing is progress; an upload whose deadline passed signs nothing more.
  const deadline = await requireUploadDeadline(deps, open.job.id);
  const expiresInSeconds = deps.config.partUrlExpiresSeconds;
  const parts = await Promise.all(
    p.partNumbers.map(async (partNumber) => {
      const sizeBytes = partLength(open, partNumber);
      const url = await deps.storage.presignUploadPart({
        key: open.job.s3Key,
        uploadId: open.uploadId,
        partNumber,
        contentLength: sizeBytes,
        expiresInSeconds,
      });
      return { partNumber, url, sizeBytes };
    }),
  );
  return {
    jobId: open.job.id,
    expiresIn: expiresInSeconds,
    expiresAt: new Date(deps.now().getTime() + expiresInSeconds * 1000).toISOString(),
    uploadExpiresAt: deadline.toISOString(),
    parts,
  };
}

/** Records parts the uploader stored; S3 checks each ETag when the upload completes. */
export async function recordParts(
  deps: DeadlineDeps,
  p: { owner: Owner; jobId: string; parts: RecordedPart[] },
): Promise<UploadProgress> {
  const open = await openMultipartJob(deps.db, p);
  assertPartNumbers(
    p.parts.map((part) => part.partNumber),
    open.partCount,
  );
  await upsertUploadParts(deps.db, { jobId: open.job.id, parts: p.parts });
  return progressOf(deps.db, await withPushedDeadline(deps, open));
}

export interface UploadProgress {
  jobId: string;
  partSizeBytes: number;
  partCount: number;
  sizeBytes: number;
  /** Parts recorded so far, ascending, with their ETags. */
  parts: RecordedPart[];
  missingPartNumbers: number[];
  /** The upload's deadline, pushed out by this call (as it was, once passed). */
  uploadExpiresAt: string;
}

/** What is stored so far, from the server's record: the basis for resuming anywhere. */
export async function listParts(deps: DeadlineDeps, p: { owner: Owner; jobId: string }): Promise<UploadProgress> {
  const open = await openMultipartJob(deps.db, p);
  return progressOf(deps.db, await withPushedDeadline(deps, open));
}

type DeadlineDeps = Pick<Context, 'db' | 'config'>;

/** Recording or listing parts is progress: the job with its deadline pushed out (as it was, once passed). */
async function withPushedDeadline(deps: DeadlineDeps, open: MultipartJob): Promise<MultipartJob> {
  const deadline = await pushUploadDeadline(deps, open.job.id);
  return deadline ? { ...open, job: { ...open.job, uploadExpiresAt: deadline } } : open;
}

async function progressOf(db: Kysely<Database>, open: MultipartJob): Promise<UploadProgress> {
  const parts = await listUploadParts(db, { jobId: open.job.id });
  const have = new Set(parts.map((part) => part.partNumber));
  const missingPartNumbers: number[] = [];
  for (let n = 1; n <= open.partCount; n++) if (!have.has(n)) missingPartNumbers.push(n);
  return {
    jobId: open.job.id,
    partSizeBytes: open.partSizeBytes,
    partCount: open.partCount,
    sizeBytes: open.sizeBytes,
    parts,
    missingPartNumbers,
    uploadExpiresAt: open.job.uploadExpiresAt.toISOString(),
  };
}

/**
 * Records the parts a caller hands to upload.complete before the shared
 * completion (`completeStoredUpload`, `@coach/jobs`) assembles what is recorded.
 */
export async function recordGivenParts(
  deps: Pick<Context, 'db'>,
  job: VideoAnalysisJob,
  given: RecordedPart[] | undefined,
): Promise<void> {
  const open = asOpenMultipart(job);
  if (!given?.length) return;
  assertPartNumbers(
    given.map((part) => part.partNumber),
    open.partCount,
  );
  await upsertUploadParts(deps.db, { jobId: job.id, parts: given });
}
