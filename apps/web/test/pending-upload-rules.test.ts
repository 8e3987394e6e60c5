import { describe, expect, it } from 'vitest';

import { TRPCClientError, UploadError } from '@coach/client';

import {
  canResumeAfter,
  forgetsRecord,
  isRecordOf,
  leaveReason,
  transferEndOf,
  type TransferEnd,
} from '../src/upload/pending-upload-rules.ts';
import type { PendingUpload } from '../src/upload/pending-upload-store.ts';

const older: PendingUpload = {
  jobId: 'job-older',
  sessionId: 'session-1',
  fileName: 'long-rally.mp4',
  sizeBytes: 11 * 1024 * 1024,
  lastModified: 1_700_000_000_000,
  startedAt: '2026-11-24T10:00:00.000Z',
  uploadMode: 'multipart',
};
const mine: PendingUpload = { ...older, jobId: 'job-mine', fileName: 'nets.mp4' };

/** An UploadError as uploadVideo rejects with it after the API answered `appCode`. */
function apiFailure(jobId: string | undefined, appCode?: string): UploadError {
  const cause = appCode
    ? TRPCClientError.from({ error: { message: appCode, code: -32012, data: { appCode, httpStatus: 412 } } })
    : new TypeError('fetch failed');
  return new UploadError('failed', jobId, { cause });
}

const abortError = () => new DOMException('The upload was cancelled.', 'AbortError');

/** How a transfer ended after its controller was aborted with `reason` (what the hook does on cancel or on leaving). */
function endAfterAbort(reason: unknown): TransferEnd {
  const controller = new AbortController();
  controller.abort(reason);
  return transferEndOf(abortError(), controller.signal);
}

describe('forgetsRecord: a transfer clears the stored pending upload only if it is its own', () => {
  const ends: TransferEnd[] = [
    { kind: 'completed' },
    { kind: 'cancelled' },
    { kind: 'failed', error: apiFailure('job-mine', 'UPLOAD_ABORTED') },
    { kind: 'failed', error: apiFailure(undefined, 'TOO_MANY_OPEN_UPLOADS') },
    { kind: 'failed', error: apiFailure('job-mine') },
    { kind: 'paused' },
  ];

  it("keeps another upload's record whichever way this transfer ended, with or without a job", () => {
    for (const end of ends) {
      expect(forgetsRecord(older, 'job-mine', end), end.kind).toBe(false);
      // initiate failed: this transfer never had a job, so nothing stored can be its own.
      expect(forgetsRecord(older, undefined, end), end.kind).toBe(false);
    }
  });

  it('clears its own record once the upload is over: completed, cancelled, or failed for good', () => {
    expect(forgetsRecord(mine, 'job-mine', { kind: 'completed' })).toBe(true);
    expect(forgetsRecord(mine, 'job-mine', { kind: 'cancelled' })).toBe(true);
    for (const code of [
      'UPLOAD_EXPIRED',
      'UPLOAD_ABORTED',
      'UPLOAD_CLOSED',
      'UPLOAD_NOT_FOUND',
      'JOB_NOT_FOUND',
      'UPLOAD_PARTS_INVALID',
      'UPLOAD_REJECTED',
    ]) {
      expect(forgetsRecord(mine, 'job-mine', { kind: 'failed', error: apiFailure('job-mine', code) }), code).toBe(true);
    }
  });

  it('keeps its own record when the upload can go on: paused, or failed on the network or a refused token', () => {
    expect(forgetsRecord(mine, 'job-mine', { kind: 'paused' })).toBe(false);
    expect(forgetsRecord(mine, 'job-mine', { kind: 'failed', error: apiFailure('job-mine') })).toBe(false);
    expect(forgetsRecord(mine, 'job-mine', { kind: 'failed', error: apiFailure('job-mine', 'TOKEN_EXPIRED') })).toBe(false);
  });

  it('has nothing to clear when nothing is stored', () => {
    for (const end of ends) expect(forgetsRecord(null, 'job-mine', end)).toBe(false);
  });
});

describe('canResumeAfter', () => {
  it("offers a resume only for this transfer's own record, an error about its job, and an upload the server did not close", () => {
    expect(canResumeAfter(apiFailure('job-mine'), mine, 'job-mine')).toBe(true);
    expect(canResumeAfter(apiFailure('job-mine', 'SERVICE_UNAVAILABLE'), mine, 'job-mine')).toBe(true);
    expect(canResumeAfter(apiFailure('job-mine', 'UPLOAD_EXPIRED'), mine, 'job-mine')).toBe(false);
    // The record left is another upload's: this failure cannot be resumed through it.
    expect(canResumeAfter(apiFailure('job-mine'), older, 'job-mine')).toBe(false);
    expect(canResumeAfter(apiFailure('job-older'), older, 'job-mine')).toBe(false);
    // A single PUT keeps no record.
    expect(canResumeAfter(apiFailure('job-mine'), null, 'job-mine')).toBe(false);
    expect(canResumeAfter(new Error('not an upload error'), mine, 'job-mine')).toBe(false);
  });
});

describe('isRecordOf', () => {
  it('matches by job id, and never without one', () => {
    expect(isRecordOf(mine, 'job-mine')).toBe(true);
    expect(isRecordOf(older, 'job-mine')).toBe(false);
    expect(isRecordOf(mine, undefined)).toBe(false);
    expect(isRecordOf(null, 'job-mine')).toBe(false);
  });
});

describe('leaving the page mid-upload', () => {
  it('pauses a resumable upload: the end reads as paused, so its record stays for after signing in again', () => {
    const end = endAfterAbort(leaveReason({ jobId: 'job-mine', resumable: true }));
    expect(end).toEqual({ kind: 'paused' });
    expect(forgetsRecord(mine, 'job-mine', end)).toBe(false);
  });

  it('cancels what cannot be resumed (a single PUT, or no job yet), so the server discards it', () => {
    expect(leaveReason({ jobId: 'job-single', resumable: false })).toBeUndefined();
    expect(endAfterAbort(leaveReason({ jobId: undefined, resumable: false }))).toEqual({ kind: 'cancelled' });
  });

  it('tells a user cancel from a failure', () => {
    expect(endAfterAbort(undefined)).toEqual({ kind: 'cancelled' });
    const error = apiFailure('job-mine');
    expect(transferEndOf(error, new AbortController().signal)).toEqual({ kind: 'failed', error });
  });
});
