import type { ObjectStorage } from '@coach/aws';
import type { Database, Kysely, VideoAnalysisJob } from '@coach/db';
import { completeStoredUpload, enqueueForRelay, type Logger } from '@coach/jobs';

/** What the worker's completers (the upload-events consumer, the sweeper) need. */
export interface LandedUploadDeps {
  db: Kysely<Database>;
  storage: ObjectStorage;
  logger: Logger;
  /** The API's `MAX_UPLOAD_BYTES`: the same checks as upload.complete. */
  maxUploadBytes: number;
}

/** Which of the worker's completers noticed the upload: named by the audit entry (a `system` actor). */
export type WorkerCompleter = 'upload-events' | 'sweeper';

/**
 * `queued`/`rejected`: this call completed the upload. `taken`: someone else
 * moved the job first. `nothing-landed`: no object, or a multipart upload with
 * planned parts unrecorded or refused by storage.
 */
export type LandedOutcome = 'queued' | 'rejected' | 'taken' | 'nothing-landed';

/**
 * Completes an `awaiting_upload` job from what storage holds, as upload.complete
 * would. The worker sends nothing to the analysis queue itself: the message is
 * written due at once, and the API's outbox relay sends it within its poll
 * interval (a client's upload.complete meanwhile sends it inline, under the same key).
 */
export async function completeLandedUpload(
  deps: LandedUploadDeps,
  job: VideoAnalysisJob,
  completer: WorkerCompleter,
): Promise<LandedOutcome> {
  const outcome = await completeStoredUpload(
    {
      ...deps,
      outbox: { enqueue: enqueueForRelay },
      now: () => new Date(),
      completedBy: { kind: 'system', id: completer },
    },
    job,
  );
  switch (outcome.kind) {
    case 'queued':
      deps.logger.info({ jobId: job.id }, 'upload completed from storage without the client');
      return 'queued';
    case 'rejected':
      deps.logger.info({ jobId: job.id, errorCode: outcome.job.errorCode }, 'landed upload rejected');
      return 'rejected';
    case 'taken':
      return 'taken';
    case 'not-stored':
    case 'parts-missing':
    case 'parts-invalid':
      return 'nothing-landed';
  }
}
