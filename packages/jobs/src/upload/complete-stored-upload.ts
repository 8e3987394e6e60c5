import type { ObjectStorage, StoredObject } from '@coach/aws';
import {
  deleteUploadParts,
  listUploadParts,
  recordAuditEvent,
  type AuditActor,
  type AuditDetails,
  type AuditEntry,
  type Database,
  type Kysely,
  type VideoAnalysisJob,
} from '@coach/db';

import { keyWritableUntil } from '../discard.ts';
import { failureColumns } from '../failures.ts';
import type { Logger } from '../logger.ts';
import { analysisDedupeKey, analysisOutboxMessage } from '../outbox/analysis-messages.ts';
import type { OutboxDispatcher } from '../outbox/dispatcher.ts';
import { inSpan, signals } from '../signals.ts';
import { moveJob } from '../status.ts';
import { checkStoredObject } from './stored-object.ts';

/** What completing an upload needs; `upload.complete`, the upload-events consumer and the sweeper each pass theirs. */
export interface UploadCompletionDeps {
  db: Kysely<Database>;
  storage: ObjectStorage;
  /** The analysis message is written with the transition; the caller sends it (`analysisDedupeKey.first`) once this returns. */
  outbox: Pick<OutboxDispatcher, 'enqueue'>;
  logger: Logger;
  maxUploadBytes: number;
  now: () => Date;
  /** Named by the `upload.completed` or `upload.rejected` audit entry: the client's caller, or the worker's completer (`system`). */
  completedBy: AuditActor;
}

/** How an attempt to complete an `awaiting_upload` job from what storage holds ended. */
export type UploadCompletion =
  /** This call moved the job to `queued` and wrote its one analysis message. */
  | { kind: 'queued'; job: VideoAnalysisJob }
  /** This call moved the job to `rejected` (the object failed the checks) and deleted the object. */
  | { kind: 'rejected'; job: VideoAnalysisJob }
  /** Another caller moved the job first (a concurrent completion, an abort or an expiry): read it again. */
  | { kind: 'taken' }
  /** Nothing is stored at the key yet. */
  | { kind: 'not-stored' }
  /** A multipart upload whose planned parts are not all recorded: nothing to assemble yet. */
  | { kind: 'parts-missing'; missingPartNumbers: number[] }
  /** Storage refused the recorded parts; the record was cleared so a resume sends them again. */
  | { kind: 'parts-invalid'; cause: Error };

/**
 * The one completion of an upload, whoever notices the bytes arrived: the
 * client's `upload.complete`, an S3 object-created notification, or the
 * sweeper before it would expire the upload. A multipart upload whose planned
 * parts are all recorded is assembled first; then the object is HEADed and
 * checked. One conditional transition decides the outcome, so concurrent
 * callers yield one `queued` (with one outbox row under
 * `analysisDedupeKey.first`) or one `rejected`; the others get `taken`.
 */
export async function completeStoredUpload(deps: UploadCompletionDeps, job: VideoAnalysisJob): Promise<UploadCompletion> {
  const { db, storage, logger } = deps;
  if (job.uploadMode === 'multipart') {
    const assembly = await assembleParts(deps, job);
    if (assembly) return assembly;
  }
  const object = await inSpan('s3 head upload', {}, () => storage.head(job.s3Key));
  if (!object) return { kind: 'not-stored' };
  const rejection = checkStoredObject(job, object, deps.maxUploadBytes);
  if (rejection) {
    const now = deps.now();
    const rejected = await db.transaction().execute(async (trx) => {
      const row = await moveJob(trx, {
        jobId: job.id,
        from: 'awaiting_upload',
        to: 'rejected',
        set: {
          sizeBytes: object.sizeBytes,
          ...failureColumns(rejection, now),
          // The URL stays valid: what it stores after the delete below must go too (the sweeper's watch).
          keyWritableUntil: keyWritableUntil(job, now),
        },
      });
      if (row) {
        await recordAuditEvent(
          trx,
          uploadAuditEntry(row, deps.completedBy, 'upload.rejected', { sizeBytes: object.sizeBytes, errorCode: rejection.code }),
        );
      }
      return row;
    });
    if (!rejected) return { kind: 'taken' };
    // Nothing will ever read a rejected upload; do not keep paying for it.
    await storage.delete(job.s3Key).catch((error: unknown) => {
      logger.warn({ err: error, jobId: job.id }, 'could not delete rejected upload');
    });
    signals().uploadsRejected.add(1, { code: rejection.code });
    return { kind: 'rejected', job: rejected };
  }
  const queued = await inSpan('postgres queue job', {}, () => queueJob(deps, job, object));
  if (!queued) return { kind: 'taken' };
  signals().uploadsCompleted.add(1, { mode: queued.uploadMode });
  return { kind: 'queued', job: queued };
}

/** Moves the job to `queued` and writes its analysis message, in one transaction; undefined when another caller moved it first. */
function queueJob(
  deps: UploadCompletionDeps,
  job: VideoAnalysisJob,
  object: StoredObject,
): Promise<VideoAnalysisJob | undefined> {
  return deps.db.transaction().execute(async (trx) => {
    const row = await moveJob(trx, {
      jobId: job.id,
      from: 'awaiting_upload',
      to: 'queued',
      set: { sizeBytes: object.sizeBytes, etag: object.etag ?? null, queuedAt: deps.now() },
    });
    if (row) {
      await deps.outbox.enqueue(trx, analysisOutboxMessage(row, analysisDedupeKey.first(row.id)));
      await recordAuditEvent(trx, uploadAuditEntry(row, deps.completedBy, 'upload.completed', { sizeBytes: object.sizeBytes }));
    }
    return row;
  });
}

/** The audit entry of a decision on an upload, by whoever made it. */
function uploadAuditEntry(
  job: VideoAnalysisJob,
  actor: AuditActor,
  action: 'upload.completed' | 'upload.rejected',
  details: AuditDetails,
): AuditEntry {
  return {
    owner: { type: job.ownerType, id: job.ownerId },
    actor,
    action,
    target: { type: 'job', id: job.id },
    sessionId: job.sessionId,
    details,
  };
}

/**
 * Assembles a multipart upload from the recorded parts; undefined when it
 * was assembled (by this call, or by a concurrent one: `NoSuchUpload`).
 */
async function assembleParts(deps: UploadCompletionDeps, job: VideoAnalysisJob): Promise<UploadCompletion | undefined> {
  if (!job.multipartUploadId || !job.partCount) throw new Error(`multipart job ${job.id} has no upload id or part plan`);
  const parts = await listUploadParts(deps.db, { jobId: job.id });
  const recorded = new Set(parts.map((part) => part.partNumber));
  const missingPartNumbers: number[] = [];
  for (let n = 1; n <= job.partCount; n++) if (!recorded.has(n)) missingPartNumbers.push(n);
  if (missingPartNumbers.length > 0) return { kind: 'parts-missing', missingPartNumbers };
  try {
    await deps.storage.completeMultipartUpload({ key: job.s3Key, uploadId: job.multipartUploadId, parts });
  } catch (error) {
    if (error instanceof Error && error.name === 'InvalidPartsError') {
      // S3 does not say which part it refused (and the emulator has no ListParts):
      // forget the record so listParts reports every part missing and a resume re-sends them.
      await deleteUploadParts(deps.db, { jobId: job.id });
      return { kind: 'parts-invalid', cause: error };
    }
    throw error;
  }
  return undefined;
}
