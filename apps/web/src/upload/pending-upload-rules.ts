import { errorCodeOf, isPauseReason, pauseReason, UploadError } from '@coach/client';

import type { PendingUpload } from './pending-upload-store.ts';

/** API answers after which the same upload cannot go on: it is over, or was never there. */
const FINAL_CODES = new Set([
  'UPLOAD_EXPIRED',
  'UPLOAD_ABORTED',
  'UPLOAD_CLOSED',
  'UPLOAD_NOT_FOUND',
  'JOB_NOT_FOUND',
  'UPLOAD_PARTS_INVALID',
  'UPLOAD_REJECTED',
]);

/**
 * The transfer under way: its job id once the server created the job, and
 * whether that job can be resumed (any upload whose job exists: parts go on,
 * a single PUT is sent again to the same job).
 */
export interface ActiveTransfer {
  jobId: string | undefined;
  resumable: boolean;
}

/** How a transfer ended, as far as the stored pending upload is concerned. */
export type TransferEnd = { kind: 'completed' } | { kind: 'cancelled' } | { kind: 'paused' } | { kind: 'failed'; error: unknown };

/** Reads how a transfer ended from what its promise rejected with and the signal it was given. */
export function transferEndOf(error: unknown, signal: AbortSignal): TransferEnd {
  if (error instanceof Error && error.name === 'AbortError') {
    return isPauseReason(signal.reason) ? { kind: 'paused' } : { kind: 'cancelled' };
  }
  return { kind: 'failed', error };
}

/** True when `stored` is the record of `jobId`'s upload. Without a job (initiate failed) nothing is ever ours. */
export function isRecordOf(stored: PendingUpload | null, jobId: string | undefined): boolean {
  return stored !== null && jobId !== undefined && stored.jobId === jobId;
}

/** True when the failed transfer of `jobId` can go on later: its record is kept and the server did not close the upload. */
export function canResumeAfter(error: unknown, stored: PendingUpload | null, jobId: string | undefined): boolean {
  return (
    isRecordOf(stored, jobId) &&
    error instanceof UploadError &&
    error.jobId === jobId &&
    !FINAL_CODES.has(errorCodeOf(error) ?? '')
  );
}

/**
 * Whether the stored pending upload is forgotten once the transfer of `jobId`
 * ended. Only the transfer's own record ever is: a record of another upload
 * stays, so that one can still be resumed or discarded. A pause keeps even its own.
 */
export function forgetsRecord(stored: PendingUpload | null, jobId: string | undefined, end: TransferEnd): boolean {
  switch (end.kind) {
    case 'paused':
      return false;
    case 'completed':
    case 'cancelled':
      return isRecordOf(stored, jobId);
    case 'failed':
      return isRecordOf(stored, jobId) && !canResumeAfter(end.error, stored, jobId);
  }
}

/**
 * The abort reason for a transfer the page stops on its own (the panel
 * unmounts: signing out, a refused token). A resumable upload pauses, so it can
 * go on after signing in again (cancelling would discard it, and with an
 * expired token could not even tell the server); anything else is cancelled,
 * so no unfinished job lingers on the server.
 */
export function leaveReason(transfer: ActiveTransfer): unknown {
  return transfer.resumable ? pauseReason() : undefined;
}
