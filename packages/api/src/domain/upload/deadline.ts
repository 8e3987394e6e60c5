import { extendUploadDeadline, findJob } from '@coach/db';

import { AppError } from '../errors.ts';
import { jobNotFound } from '../jobs.ts';
import type { UploadDeps } from './deps.ts';

type DeadlineDeps = Pick<UploadDeps, 'db' | 'config'>;

/**
 * Progress on an open upload (a part signed, recorded or listed, a repeated
 * initiate, a complete attempt) pushes its deadline out by the idle window, up
 * to its maximum lifetime. Undefined when the deadline had already passed (or
 * the job stopped waiting): a passed deadline is never revived.
 */
export function pushUploadDeadline(deps: DeadlineDeps, jobId: string): Promise<Date | undefined> {
  return extendUploadDeadline(deps.db, {
    jobId,
    idleSeconds: deps.config.uploadIdleWindowSeconds,
    maxLifetimeSeconds: deps.config.uploadMaxLifetimeSeconds,
  });
}

/** The pushed deadline, for a call that needs the upload still open (signing URLs); refused once it passed. */
export async function requireUploadDeadline(deps: DeadlineDeps, jobId: string): Promise<Date> {
  const deadline = await pushUploadDeadline(deps, jobId);
  if (deadline) return deadline;
  const job = await findJob(deps.db, { jobId });
  // Deleted since the caller found it: as gone as any deleted job.
  if (job?.status === 'deleted') throw jobNotFound();
  if (job && job.status !== 'awaiting_upload') {
    throw new AppError('UPLOAD_CLOSED', `This upload is already ${job.status}; nothing more can be uploaded.`);
  }
  throw new AppError(
    'UPLOAD_EXPIRED',
    'This upload went without progress for longer than its idle window (or reached its maximum lifetime) and is closing. Start a new upload with upload.initiate.',
  );
}

/** The first deadline, set at initiate: the idle window from now (never past the maximum lifetime). */
export function firstUploadDeadline(config: UploadDeps['config'], now: Date): Date {
  return new Date(now.getTime() + Math.min(config.uploadIdleWindowSeconds, config.uploadMaxLifetimeSeconds) * 1000);
}

/** A single-PUT URL's lifetime: short as configured, and never past the upload's deadline (the key watch relies on it). */
export function singlePutUrlSeconds(config: UploadDeps['config'], deadline: Date, now: Date): number {
  return Math.min(config.uploadUrlExpiresSeconds, Math.floor((deadline.getTime() - now.getTime()) / 1000));
}
