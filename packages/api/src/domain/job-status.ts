import {
  transitionJob,
  type Database,
  type JobStatus,
  type Kysely,
  type VideoAnalysisJob,
  type VideoAnalysisJobUpdate,
} from '@coach/db';

/**
 * Allowed status changes. `moveJob` only accepts pairs listed here (a compile
 * error otherwise) and the database applies them conditionally, so concurrent
 * writers can never skip or undo a state.
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
} as const satisfies Record<JobStatus, readonly JobStatus[]>;

export type JobTransition = {
  [F in JobStatus]: { from: F; to: (typeof JOB_TRANSITIONS)[F][number] };
}[JobStatus];

export function isTerminal(status: JobStatus): boolean {
  return JOB_TRANSITIONS[status].length === 0;
}

/** Applies one allowed transition; undefined when the job was no longer in `from`. */
export async function moveJob(
  db: Kysely<Database>,
  p: JobTransition & {
    jobId: string;
    set?: Omit<VideoAnalysisJobUpdate, 'status' | 'id' | 'updatedAt'>;
  },
): Promise<VideoAnalysisJob | undefined> {
  return transitionJob(db, { jobId: p.jobId, from: [p.from], to: p.to, set: p.set });
}
