import type { StoredObject } from '@coach/aws';
import type { VideoAnalysisJob } from '@coach/db';

import { jobFailure, type JobFailure, type UploadRejectionCode } from '../failures.ts';

/** Why a stored object cannot be analysed, or undefined when it is acceptable. */
export function checkStoredObject(
  job: Pick<VideoAnalysisJob, 'declaredSizeBytes' | 'contentType'>,
  object: StoredObject,
  maxUploadBytes: number,
): JobFailure<UploadRejectionCode> | undefined {
  if (object.sizeBytes === 0) return jobFailure.emptyUpload();
  if (object.sizeBytes > maxUploadBytes) return jobFailure.fileTooLarge(formatBytes(maxUploadBytes));
  if (job.declaredSizeBytes !== null && object.sizeBytes !== job.declaredSizeBytes) {
    return jobFailure.sizeMismatch(object.sizeBytes, job.declaredSizeBytes);
  }
  const storedType = object.contentType?.split(';')[0]?.trim().toLowerCase();
  if (storedType !== job.contentType) return jobFailure.contentTypeMismatch(storedType, job.contentType);
  return undefined;
}

/** A byte count as people read a size: GiB from 1 GiB up, MiB from 1 MiB, KiB from 1 KiB, else bytes. */
export function formatBytes(bytes: number): string {
  const gib = bytes / 1024 ** 3;
  if (gib >= 1) return `${Number(gib.toFixed(2))} GiB`;
  if (bytes >= 1024 ** 2) return `${Number((bytes / 1024 ** 2).toFixed(2))} MiB`;
  if (bytes >= 1024) return `${Number((bytes / 1024).toFixed(2))} KiB`;
  return `${bytes} bytes`;
}
