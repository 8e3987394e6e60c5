import {
  findOwnedJob,
  findOwnedSession,
  listOwnedJobs,
  type Database,
  type JobStatus,
  type Kysely,
  type Owner,
  type VideoAnalysisJob,
} from '@coach/db';

import { AppError } from './errors.ts';
import { decodeCursor, toPage } from './pagination.ts';
import { sessionNotFound } from './sessions.ts';

export interface JobView {
  jobId: string;
  sessionId: string;
  videoId: string;
  status: JobStatus;
  sampleFps: number;
  includeFrames: boolean;
  contentType: string;
  s3Bucket: string;
  s3Key: string;
  declaredSizeBytes: number | null;
  sizeBytes: number | null;
  sqsMessageId: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  createdAt: string;
  updatedAt: string;
  uploadExpiresAt: string;
  queuedAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  /** Share of sampled frames analysed so far (100 once completed). */
  progressPercent: number;
  framesDone: number;
  framesTotal: number | null;
  attempts: number;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function toJobView(row: VideoAnalysisJob): JobView {
  return {
    jobId: row.id,
    sessionId: row.sessionId,
    videoId: row.videoId,
    status: row.status,
    sampleFps: row.sampleFps,
    includeFrames: row.includeFrames,
    contentType: row.contentType,
    s3Bucket: row.s3Bucket,
    s3Key: row.s3Key,
    declaredSizeBytes: row.declaredSizeBytes,
    sizeBytes: row.sizeBytes,
    sqsMessageId: row.sqsMessageId,
    errorCode: row.errorCode,
    errorMessage: row.errorMessage,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    uploadExpiresAt: row.uploadExpiresAt.toISOString(),
    queuedAt: iso(row.queuedAt),
    startedAt: iso(row.startedAt),
    finishedAt: iso(row.finishedAt),
    progressPercent: row.progressPercent,
    framesDone: row.framesDone,
    framesTotal: row.framesTotal,
    attempts: row.attempts,
  };
}

export function jobNotFound(): AppError {
  return new AppError('JOB_NOT_FOUND', 'Analysis job not found.');
}

/** Another owner's job is reported exactly like a missing one. */
export async function getJob(db: Kysely<Database>, p: { owner: Owner; jobId: string }): Promise<JobView> {
  const row = await findOwnedJob(db, p);
  if (!row) throw jobNotFound();
  return toJobView(row);
}

export async function listJobs(
  db: Kysely<Database>,
  p: { owner: Owner; sessionId: string; limit: number; cursor?: string },
) {
  const after = decodeCursor(p.cursor);
  const rows = await listOwnedJobs(db, { ...p, after });
  // An empty page must still tell "no jobs yet" from "no such session".
  if (rows.length === 0 && !after && !(await findOwnedSession(db, p))) throw sessionNotFound();
  return toPage(rows, p.limit, toJobView);
}
