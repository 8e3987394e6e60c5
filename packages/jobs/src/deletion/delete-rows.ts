import type { ObjectStorage } from '@coach/aws';
import {
  insertStorageDeletions,
  markJobsDeleted,
  markSessionDeleted,
  recordAuditEvents,
  type AuditActor,
  type Database,
  type DeletedJobRow,
  type Kysely,
  type Owner,
} from '@coach/db';

import { isVideoKey, prefixOfKey, sessionPrefix } from '../keys.ts';

/**
 * Deletes jobs of `owner` (by id, or every one of a session) and records what
 * storage must lose, one row per job. Run it inside the caller's transaction:
 * the status change and its deletion row commit together (README.md here).
 * Jobs already deleted are skipped, so a repeat deletes nothing twice.
 * With `audit`, each deleted job gets its `job.deleted` entry in the same
 * transaction (a session's deletion records one `session.deleted` instead).
 */
export async function deleteJobRows(
  db: Kysely<Database>,
  p: {
    owner: Owner;
    requestedBy: string;
    jobIds?: readonly string[];
    sessionId?: string;
    audit?: { actor: AuditActor; reason?: string };
  },
): Promise<DeletedJobRow[]> {
  const jobs = await markJobsDeleted(db, p);
  const { audit } = p;
  if (audit) {
    await recordAuditEvents(
      db,
      jobs.map((job) => ({
        owner: p.owner,
        actor: audit.actor,
        action: 'job.deleted' as const,
        target: { type: 'job' as const, id: job.id },
        sessionId: job.sessionId,
        details: { previousStatus: job.previousStatus, ...(audit.reason ? { reason: audit.reason } : {}) },
      })),
    );
  }
  await insertStorageDeletions(
    db,
    jobs.map((job) => ({
      target: { jobId: job.id },
      scope: 'everything' as const,
      prefix: prefixOfKey(job.s3Key),
      multipartUploadId: job.multipartUploadId,
      // A worker that held the lease may write frames or metrics until it finds the lease gone.
      repeatUntil: job.leaseHeldUntil,
      requestedBy: p.requestedBy,
    })),
  );
  return jobs;
}

/**
 * Deletes one session of `owner` with every job in it, recording the
 * session's prefix too (its row also catches a job whose initiate raced this
 * deletion). Undefined when there is no such live session.
 */
export async function deleteSessionRows(
  db: Kysely<Database>,
  p: { owner: Owner; sessionId: string; requestedBy: string },
): Promise<{ jobs: DeletedJobRow[] } | undefined> {
  const session = await markSessionDeleted(db, p);
  if (!session) return undefined;
  const jobs = await deleteJobRows(db, { owner: p.owner, requestedBy: p.requestedBy, sessionId: p.sessionId });
  await insertStorageDeletions(db, [
    {
      target: { sessionId: p.sessionId },
      scope: 'everything',
      prefix: sessionPrefix({ owner: p.owner, sessionId: p.sessionId }),
      multipartUploadId: null,
      repeatUntil: null,
      requestedBy: p.requestedBy,
    },
  ]);
  return { jobs };
}

/**
 * Deletes every object under `prefix`, `batchSize` keys (≤ 1000) at a time:
 * lists from the start, deletes that page, lists again until nothing is
 * left, so a pass that dies half-way leaves a prefix the next pass simply
 * lists again. `onDeleted` hears each batch as it goes (a failure later still
 * counts what went).
 */
export async function emptyPrefix(
  storage: Pick<ObjectStorage, 'listKeys' | 'deleteKeys'>,
  prefix: string,
  options: { batchSize?: number; onDeleted?: (count: number) => void } = {},
): Promise<void> {
  // A prefix is never the bucket's root: a bug here must not empty the bucket.
  if (!prefix.startsWith('coach_plus/') || !prefix.endsWith('/') || prefix.split('/').length < 5) {
    throw new Error(`refusing to empty ${JSON.stringify(prefix)}: not a session or video prefix`);
  }
  for (;;) {
    const keys = await storage.listKeys(prefix, { limit: options.batchSize ?? 1000 });
    if (keys.length === 0) return;
    await storage.deleteKeys(keys);
    options.onDeleted?.(keys.length);
  }
}

/**
 * Deletes one stored original (retention's `original` scope): exactly that
 * key, never what lies beside it. Listed first, so `onDeleted` hears whether
 * it was still there; a key already gone is no error.
 */
export async function deleteOriginal(
  storage: Pick<ObjectStorage, 'listKeys' | 'deleteKeys'>,
  key: string,
  options: { onDeleted?: (count: number) => void } = {},
): Promise<void> {
  // Frames and metrics share the video's folder: only an original's key may be named here.
  if (!isVideoKey(key)) throw new Error(`refusing to delete ${JSON.stringify(key)}: not an original video's key`);
  const keys = (await storage.listKeys(key, { limit: 10 })).filter((listed) => listed === key);
  if (keys.length === 0) return;
  await storage.deleteKeys(keys);
  options.onDeleted?.(keys.length);
}
