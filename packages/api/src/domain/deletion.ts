import {
  lockSessionsWithPlayer,
  recordAuditEvent,
  removeSessionPlayer,
  type AuditActor,
  type Database,
  type DeletedJobRow,
  type Kysely,
  type Owner,
} from '@coach/db';
import { deleteJobRows, deleteSessionRows } from '@coach/jobs';

import { jobNotFound } from './jobs.ts';
import { sessionNotFound } from './sessions.ts';

/**
 * Deletion commits the rows' change and what storage must lose in one
 * transaction; the worker's sweeper empties storage afterwards, retrying until
 * nothing is left (packages/jobs/src/deletion/README.md). From the commit on,
 * every procedure answers not found.
 */
export interface DeletedJob {
  jobId: string;
  sessionId: string;
}

const deletedJob = (row: DeletedJobRow): DeletedJob => ({ jobId: row.id, sessionId: row.sessionId });

/** jobs.delete: one video with everything stored for it. A missing, foreign or already deleted job is not found. */
export async function deleteJob(
  db: Kysely<Database>,
  p: { owner: Owner; userId: string; actor: AuditActor; jobId: string },
): Promise<{ deleted: DeletedJob }> {
  const [row] = await db.transaction().execute(async (trx) => {
    return deleteJobRows(trx, { owner: p.owner, requestedBy: p.userId, jobIds: [p.jobId], audit: { actor: p.actor } });
  });
  if (!row) throw jobNotFound();
  return { deleted: deletedJob(row) };
}

/** sessions.delete: the session and every video in it. A missing, foreign or already deleted session is not found. */
export async function deleteSession(
  db: Kysely<Database>,
  p: { owner: Owner; userId: string; actor: AuditActor; sessionId: string },
): Promise<{ sessionId: string; jobsDeleted: DeletedJob[] }> {
  const outcome = await db.transaction().execute(async (trx) => {
    const deleted = await deleteSessionRows(trx, { owner: p.owner, sessionId: p.sessionId, requestedBy: p.userId });
    if (deleted) {
      await recordAuditEvent(trx, {
        owner: p.owner,
        actor: p.actor,
        action: 'session.deleted',
        target: { type: 'session', id: p.sessionId },
        details: { jobIds: deleted.jobs.map((job) => job.id) },
      });
    }
    return deleted;
  });
  if (!outcome) throw sessionNotFound();
  return { sessionId: p.sessionId, jobsDeleted: outcome.jobs.map(deletedJob) };
}

export interface ErasureReport {
  playerId: string;
  /** Sessions that listed the player among others: the id is gone from them, their videos stay. */
  sessionsUpdated: string[];
  /** Sessions whose only listed player it was: deleted with their videos. */
  sessionsDeleted: string[];
  /** Every video deleted, with its session. */
  jobsDeleted: DeletedJob[];
}

/**
 * sessions.erasePlayer (an erasure request): within the caller's own sessions
 * only, removes the player id wherever it is listed, and deletes every session
 * (with its videos) that listed no one else, since every video in it shows
 * only that player. Other owners' sessions are never read, whatever ids they
 * use. One transaction: the report lists exactly what it changed.
 */
export async function erasePlayer(
  db: Kysely<Database>,
  p: { owner: Owner; userId: string; actor: AuditActor; playerId: string },
): Promise<ErasureReport> {
  return db.transaction().execute(async (trx) => {
    const report: ErasureReport = { playerId: p.playerId, sessionsUpdated: [], sessionsDeleted: [], jobsDeleted: [] };
    for (const session of await lockSessionsWithPlayer(trx, { owner: p.owner, playerId: p.playerId })) {
      if (session.playerIds.every((id) => id === p.playerId)) {
        const outcome = await deleteSessionRows(trx, { owner: p.owner, sessionId: session.id, requestedBy: p.userId });
        if (!outcome) continue;
        report.sessionsDeleted.push(session.id);
        report.jobsDeleted.push(...outcome.jobs.map(deletedJob));
      } else {
        await removeSessionPlayer(trx, { sessionId: session.id, playerId: p.playerId });
        report.sessionsUpdated.push(session.id);
      }
    }
    // What went, never whom it was about: the player id is not recorded (packages/api/src/audit/README.md).
    await recordAuditEvent(trx, {
      owner: p.owner,
      actor: p.actor,
      action: 'player.erased',
      target: { type: 'player', id: null },
      details: {
        sessionsUpdated: report.sessionsUpdated,
        sessionsDeleted: report.sessionsDeleted,
        jobIds: report.jobsDeleted.map((job) => job.jobId),
        sessionsUpdatedCount: report.sessionsUpdated.length,
        sessionsDeletedCount: report.sessionsDeleted.length,
        jobsDeletedCount: report.jobsDeleted.length,
      },
    });
    return report;
  });
}
