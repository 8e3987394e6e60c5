import {
  claimLeasedJob,
  transitionJob,
  updateLeasedJob,
  type Database,
  type JobStatus,
  type Kysely,
  type VideoAnalysisJob,
  type VideoAnalysisJobUpdate,
} from '@coach/db';

import type { JobFailureCode } from './failures.ts';
import { AnalysisResultSchema, type AnalysisResult } from './messages/analysis-result.ts';

/**
 * Allowed status changes. Every status write goes through this module: `moveJob`
 * and the lease writes accept only pairs listed here (a compile error otherwise)
 * and the database applies them conditionally, so concurrent writers can never
 * skip or undo a state.
 */
export const JOB_TRANSITIONS = {
  awaiting_upload: ['queued', 'rejected', 'expired', 'aborted'],
  queued: ['processing', 'failed'],
  // processing → processing: a worker reclaims a job whose previous lease lapsed.
  processing: ['completed', 'failed', 'queued', 'processing'],
  completed: [],
  failed: [],
  rejected: [],
  expired: [],
  aborted: [],
  // Reached from every other status by a deletion alone (`markJobsDeleted`), never by the lifecycle's writes.
  deleted: [],
} as const satisfies Record<JobStatus, readonly JobStatus[]>;

export type JobTransition = {
  [F in JobStatus]: { from: F; to: (typeof JOB_TRANSITIONS)[F][number] };
}[JobStatus];

export function isTerminal(status: JobStatus): boolean {
  return JOB_TRANSITIONS[status].length === 0;
}

/**
 * The columns a status write may set besides the status: `errorCode` holds
 * only a documented failure code, and `result` only a valid `AnalysisResult`
 * (written by `completeLeasedJob`).
 */
export type JobColumns = Omit<VideoAnalysisJobUpdate, 'status' | 'id' | 'updatedAt' | 'errorCode' | 'result' | 'leaseToken'> & {
  errorCode?: JobFailureCode | null;
};

/** Applies one allowed transition; undefined when the job was no longer in `from`. */
export async function moveJob(
  db: Kysely<Database>,
  p: JobTransition & { jobId: string; set?: JobColumns },
): Promise<VideoAnalysisJob | undefined> {
  return transitionJob(db, { jobId: p.jobId, from: [p.from], to: p.to, set: p.set });
}

/** The claim: a queued job, or a processing one whose lease lapsed, becomes processing. */
const CLAIM = [
  { from: 'queued', to: 'processing' },
  { from: 'processing', to: 'processing' },
] as const satisfies readonly JobTransition[];

/** Where a leased (`processing`) job may go: the table's own list. */
export type LeaseExit = (typeof JOB_TRANSITIONS)['processing'][number];

/**
 * Claims a job for one worker under a new lease token (`CLAIM`'s transitions).
 * Undefined: not claimable.
 */
export function claimJob(
  db: Kysely<Database>,
  p: { jobId: string; leaseToken: string; leaseOwner: string; leaseSeconds: number; messageId?: string },
): Promise<VideoAnalysisJob | undefined> {
  return claimLeasedJob(db, { ...p, from: CLAIM.map((t) => t.from), to: CLAIM[0].to });
}

/**
 * Writes a job this worker holds the lease of, optionally moving it out of
 * `processing` to one of the table's exits (the lease is then released).
 * Undefined means the lease was lost and nothing was written.
 */
export function writeLeasedJob(
  db: Kysely<Database>,
  p: {
    jobId: string;
    leaseToken: string;
    to?: Exclude<LeaseExit, 'processing' | 'completed'>;
    set?: JobColumns;
    /** Only if the lease lapsed at least this long ago (a sweeper taking over a dead worker's job). */
    lapsedForSeconds?: number;
  },
): Promise<VideoAnalysisJob | undefined> {
  const { to, ...rest } = p;
  return updateLeasedJob(db, to ? { ...rest, to } : rest);
}

/**
 * Completes a leased job with its result, validated here so a bad result is
 * refused at write rather than found unreadable by every later read.
 */
export async function completeLeasedJob(
  db: Kysely<Database>,
  p: { jobId: string; leaseToken: string; result: AnalysisResult; finishedAt: Date },
): Promise<VideoAnalysisJob | undefined> {
  const result = AnalysisResultSchema.parse(p.result);
  return updateLeasedJob(db, {
    jobId: p.jobId,
    leaseToken: p.leaseToken,
    to: 'completed' satisfies LeaseExit,
    set: { result: JSON.stringify(result), progressPercent: 100, finishedAt: p.finishedAt, errorCode: null, errorMessage: null },
  });
}
