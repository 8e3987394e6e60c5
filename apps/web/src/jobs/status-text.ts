import type { RouterOutputs } from '@coach/client';

export type JobStatusName = RouterOutputs['jobs']['get']['status'];

/** What a job's status means, as a sentence (the results page). */
export const STATUS_TEXT: Record<JobStatusName, string> = {
  awaiting_upload: 'Waiting for the upload to finish.',
  queued: 'Queued for analysis.',
  processing: 'Analysing the video…',
  completed: 'Analysis complete.',
  failed: 'Analysis failed.',
  rejected: 'The upload was refused.',
  expired: 'The upload expired before it finished.',
  aborted: 'The upload was cancelled.',
  // The API answers not found for a deleted job; a page open at the time shows this until it reloads.
  deleted: 'The video was deleted.',
};

/** The same, in a word or two (the library). */
export const STATUS_LABEL: Record<JobStatusName, string> = {
  awaiting_upload: 'Uploading',
  queued: 'Queued',
  processing: 'Analysing',
  completed: 'Analysed',
  failed: 'Analysis failed',
  rejected: 'Upload refused',
  expired: 'Upload expired',
  aborted: 'Upload cancelled',
  deleted: 'Deleted',
};

export const FAILED: readonly JobStatusName[] = ['failed', 'rejected', 'expired', 'aborted'];

export const isTerminal = (status: JobStatusName) => status === 'completed' || FAILED.includes(status);
