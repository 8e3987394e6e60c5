import {
  insertStorageDeletions,
  lockRetentionCandidates,
  markOriginalsRemoved,
  recordAuditEvents,
  releaseStoredUpload,
  type AuditActor,
  type Database,
  type Kysely,
  type RetentionCandidate,
  type RetentionPolicy,
} from '@coach/db';

import { deleteJobRows } from './delete-rows.ts';

/** Who retention's deletions are recorded as requested by. */
export const RETENTION_ACTOR = 'system:retention';
/** The same, as the audit trail names it. */
const RETENTION_AUDIT_ACTOR: AuditActor = { kind: 'system', id: 'retention' };

export interface RetentionReport {
  /** Videos deleted whole (their owner's `deleteEverythingAfterDays` passed). */
  retentionJobsDeleted: number;
  /** Originals whose removal was recorded (their owner's `deleteOriginalsAfterDays` passed). */
  retentionOriginalsRemoved: number;
}

/**
 * One retention pass (RETENTION.md here): up to `limit` videos past their
 * owner's whole-video window are deleted, then up to `limit` originals past
 * theirs are recorded for removal, each batch in one transaction with its
 * storage deletion rows. The sweeper's deletion pass then empties storage.
 */
export async function applyRetention(
  db: Kysely<Database>,
  p: { defaults: RetentionPolicy; limit: number },
): Promise<RetentionReport> {
  // Whole videos first: one past both windows is deleted, not first stripped of its original.
  const retentionJobsDeleted = await db.transaction().execute(async (trx) => {
    const due = await lockRetentionCandidates(trx, { ...p, rule: 'everything' });
    return recordRetentionDeletions(trx, { scope: 'everything', jobs: due });
  });
  const retentionOriginalsRemoved = await db.transaction().execute(async (trx) => {
    const due = await lockRetentionCandidates(trx, { ...p, rule: 'originals' });
    return recordRetentionDeletions(trx, { scope: 'original', jobs: due });
  });
  return { retentionJobsDeleted, retentionOriginalsRemoved };
}

/**
 * The one place a retention deletion is decided and written, inside the
 * caller's transaction, with its audit entries (actor `system`, id
 * `retention`). `everything`: deleted as jobs.delete deletes (tombstone, quota,
 * the video's prefix). `original`: the job records the removal, its original's
 * bytes leave the owner's usage, and a deletion row names the one key.
 * Returns how many jobs it changed (a job another writer changed first is skipped).
 */
async function recordRetentionDeletions(
  trx: Kysely<Database>,
  p: { scope: 'everything' | 'original'; jobs: readonly RetentionCandidate[] },
): Promise<number> {
  if (p.scope === 'everything') {
    let deleted = 0;
    for (const [owner, jobIds] of byOwner(p.jobs)) {
      const rows = await deleteJobRows(trx, {
        owner,
        requestedBy: RETENTION_ACTOR,
        jobIds,
        audit: { actor: RETENTION_AUDIT_ACTOR, reason: 'retention' },
      });
      deleted += rows.length;
    }
    return deleted;
  }
  const marked = await markOriginalsRemoved(trx, { jobIds: p.jobs.map((job) => job.id) });
  for (const job of marked) await releaseStoredUpload(trx, { jobId: job.id });
  await recordAuditEvents(
    trx,
    marked.map((job) => ({
      owner: { type: job.ownerType, id: job.ownerId },
      actor: RETENTION_AUDIT_ACTOR,
      action: 'original.deleted',
      target: { type: 'job', id: job.id },
      sessionId: job.sessionId,
      details: { reason: 'retention' },
    })),
  );
  await insertStorageDeletions(
    trx,
    marked.map((job) => ({
      target: { jobId: job.id },
      scope: 'original' as const,
      prefix: job.s3Key,
      multipartUploadId: null,
      // No worker writes a finished job's original, but a PUT URL without create-only (the first
      // version's) may store it again until the upload's deadline: removed again by a pass after it.
      repeatUntil: job.uploadExpiresAt,
      requestedBy: RETENTION_ACTOR,
    })),
  );
  return marked.length;
}

function byOwner(jobs: readonly RetentionCandidate[]) {
  const groups = new Map<string, { owner: { type: RetentionCandidate['ownerType']; id: string }; jobIds: string[] }>();
  for (const job of jobs) {
    const key = `${job.ownerType}\u0000${job.ownerId}`;
    const group = groups.get(key) ?? { owner: { type: job.ownerType, id: job.ownerId }, jobIds: [] };
    group.jobIds.push(job.id);
    groups.set(key, group);
  }
  return [...groups.values()].map((group) => [group.owner, group.jobIds] as const);
}
