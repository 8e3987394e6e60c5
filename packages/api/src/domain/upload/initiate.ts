import { randomUUID } from 'node:crypto';

import {
  findJobByClientRequestId,
  reserveUploadAndInsertJob,
  type AuditActor,
  type InsertJobParams,
  type Owner,
  type VideoAnalysisJob,
} from '@coach/db';
import { signals, videoKey, type VideoContentType } from '@coach/jobs';

import { AppError } from '../errors.ts';
import { planParts, S3_MAX_REQUEST_BYTES, type PartPlan } from '../multipart.ts';
import { sessionNotFound } from '../sessions.ts';
import { firstUploadDeadline, singlePutUrlSeconds } from './deadline.ts';
import type { InitiatedUpload, UploadDeps } from './deps.ts';
import { explainRefusal, refuseOverOwnerLimits, uploadLimitsOf } from './quota.ts';
import { answerRepeat } from './repeat.ts';
import { fileTooLarge } from './stored-object.ts';

export interface InitiateUploadParams {
  owner: Owner;
  userId: string;
  /** Named by the job's `upload.initiated` audit entry. */
  actor: AuditActor;
  sessionId: string;
  sampleFps: number;
  includeFrames: boolean;
  /** Where the coach tapped the player on the first frame (0..1); the most prominent person when absent. */
  subjectHint?: { x: number; y: number } | undefined;
  contentType: VideoContentType;
  /**
   * The file's exact size: it bounds the single PUT (signed `Content-Length`) or sets the part plan.
   * Null only for the first version's clients, which declare none (see `putStyle`).
   */
  sizeBytes: number | null;
  /**
   * `first-version`: the first version's clients PUT the file once, sending only its Content-Type.
   * Their URL is always one PUT (up to S3's single-PUT maximum, whatever the multipart threshold),
   * signs no `If-None-Match`, and binds the length only when a size was given; the stored object
   * is checked against `MAX_UPLOAD_BYTES` when the upload is completed, as for every upload.
   */
  putStyle?: 'standard' | 'first-version';
  /** The caller's idempotency key (per user); a repeat with it answers the same job. */
  clientRequestId?: string | undefined;
}

/**
 * Signs the upload URL first and only then records the job, so a signing
 * failure leaves nothing behind. The insert checks session ownership itself.
 *
 * With a `clientRequestId`, a repeat of the call answers the job the first one
 * created (see `answerRepeat`): looked up before any limit is counted or any
 * storage is touched, and again when the insert meets the unique index, so
 * concurrent repeats still make exactly one job.
 *
 * Limits: the user's initiate rate is an in-memory allowance of this process,
 * checked first and paid only by an upload that was created; the owner's
 * storage quota and open uploads are reserved in the statement that inserts
 * the job (`reserveUploadAndInsertJob`), exact across processes.
 */
export async function initiateUpload(deps: UploadDeps, p: InitiateUploadParams): Promise<InitiatedUpload> {
  const { storage, config } = deps;
  if (p.sizeBytes !== null && p.sizeBytes > config.maxUploadBytes) {
    throw fileTooLarge(config.maxUploadBytes);
  }
  if (p.putStyle === 'first-version' && p.sizeBytes !== null && p.sizeBytes > S3_MAX_REQUEST_BYTES) {
    throw fileTooLarge(S3_MAX_REQUEST_BYTES);
  }
  const clientRequestId = p.clientRequestId ?? null;
  const findEarlier: FindEarlier = (db) =>
    clientRequestId === null ? undefined : findJobByClientRequestId(db, { userId: p.userId, clientRequestId });
  const earlier = await findEarlier(deps.db);
  if (earlier) return answerRepeat(deps, p, earlier);
  deps.usage.ensureAvailable(p.userId, 'initiates');

  const jobId = randomUUID();
  const videoId = randomUUID();
  const key = videoKey({ owner: p.owner, sessionId: p.sessionId, videoId, contentType: p.contentType });
  const now = deps.now();
  const deadline = firstUploadDeadline(config, now);
  const urlSeconds = singlePutUrlSeconds(config, deadline, now);

  // Storage first, the row second: a storage failure leaves nothing behind.
  const target = await prepareStorage(deps, p, key, urlSeconds);
  const row: InsertJobParams = {
    id: jobId,
    sessionId: p.sessionId,
    owner: p.owner,
    createdBy: p.userId,
    videoId,
    sampleFps: p.sampleFps,
    includeFrames: p.includeFrames,
    subjectHint: p.subjectHint ?? null,
    s3Bucket: storage.bucket,
    s3Key: key,
    contentType: p.contentType,
    declaredSizeBytes: p.sizeBytes,
    // An upload that declared no size (the first version's, always one PUT) may store up to the limit,
    // and never more than S3 takes in one PUT: that much is held.
    reservedBytes: p.sizeBytes ?? Math.min(config.maxUploadBytes, S3_MAX_REQUEST_BYTES),
    uploadExpiresAt: deadline,
    multipart: target.plan && target.uploadId ? { uploadId: target.uploadId, ...target.plan } : null,
    clientRequestId,
  };
  let outcome: InsertOutcome;
  try {
    outcome = await insertJob(deps, p, row, findEarlier);
  } catch (error) {
    await target.abandon();
    throw error;
  }
  if ('earlier' in outcome) {
    await target.abandon();
    return answerRepeat(deps, p, outcome.earlier);
  }
  const job = outcome.inserted;
  if (!job) {
    await target.abandon();
    throw sessionNotFound();
  }
  deps.usage.take(p.userId, 'initiates', 1);
  signals().uploadsInitiated.add(1, { mode: target.plan ? 'multipart' : 'single' });
  return {
    jobId,
    sessionId: p.sessionId,
    videoId,
    status: job.status,
    uploadMode: target.plan ? 'multipart' : 'single',
    presignedUrl: target.presignedUrl,
    method: 'PUT',
    headers: target.headers,
    multipart: target.plan,
    // A multipart upload has no URL here: its answer lasts as long as the upload's deadline.
    expiresIn: target.plan ? Math.floor((deadline.getTime() - now.getTime()) / 1000) : urlSeconds,
    expiresAt: (target.plan ? deadline : new Date(now.getTime() + urlSeconds * 1000)).toISOString(),
    uploadExpiresAt: deadline.toISOString(),
    s3Bucket: storage.bucket,
    s3Key: key,
    maxSizeBytes: config.maxUploadBytes,
  };
}

/** The job this user already started with the call's `clientRequestId`, if any. */
type FindEarlier = (db: UploadDeps['db']) => Promise<VideoAnalysisJob | undefined> | undefined;

/** Where the file goes: one signed PUT, or a multipart upload with its part plan. */
interface UploadTarget {
  presignedUrl: string | null;
  headers: Record<string, string>;
  plan: PartPlan | null;
  uploadId: string | null;
  /** Gives up a multipart upload that will get no job (a failed or refused insert). */
  abandon(): Promise<void>;
}

async function prepareStorage(deps: UploadDeps, p: InitiateUploadParams, key: string, expiresIn: number): Promise<UploadTarget> {
  const { storage, config } = deps;
  const firstVersion = p.putStyle === 'first-version';
  if (!firstVersion && p.sizeBytes !== null && p.sizeBytes > config.multipartThresholdBytes) {
    const plan = planParts(p.sizeBytes, config.multipartPartSizeBytes);
    // A caller over the owner's limits costs no storage call: read here (exact only in the reservation).
    await refuseOverOwnerLimits(deps, { owner: p.owner, sizeBytes: p.sizeBytes });
    const uploadId = await storage.createMultipartUpload({ key, contentType: p.contentType });
    const abandon = async () => {
      await storage.abortMultipartUpload({ key, uploadId }).catch((error: unknown) => {
        deps.logger.warn({ err: error, key }, 'could not abort a multipart upload for a refused initiate');
      });
    };
    return { presignedUrl: null, headers: {}, plan, uploadId, abandon };
  }
  const signed = await storage.presignPut({
    key,
    contentType: p.contentType,
    contentLength: p.sizeBytes ?? undefined,
    expiresInSeconds: expiresIn,
    createOnly: !firstVersion,
  });
  return { presignedUrl: signed.url, headers: signed.headers, plan: null, uploadId: null, abandon: async () => {} };
}

type InsertOutcome = { inserted: Pick<VideoAnalysisJob, 'status'> | undefined } | { earlier: VideoAnalysisJob };

/** A refused reservation is explained and retried at most this often (a new owner's row, room freed meanwhile). */
const RESERVE_ATTEMPTS = 3;

/**
 * Reserves the owner's quota and open-upload slot and inserts the job, in one
 * statement. A concurrent repeat of the same `clientRequestId` that got there
 * first is answered instead (`earlier`); `inserted: undefined` means no such
 * session. Over a limit throws its error.
 */
async function insertJob(
  deps: UploadDeps,
  p: InitiateUploadParams,
  row: InsertJobParams,
  findEarlier: FindEarlier,
): Promise<InsertOutcome> {
  const limits = uploadLimitsOf(deps.config);
  for (let attempt = 1; ; attempt++) {
    let inserted: Pick<VideoAnalysisJob, 'status'> | undefined;
    try {
      inserted = await reserveUploadAndInsertJob(deps.db, { job: row, limits, actor: p.actor });
    } catch (error) {
      // A concurrent repeat won the (created_by, client_request_id) unique index: nothing was reserved.
      const raced = isUniqueViolation(error) ? await findEarlier(deps.db) : undefined;
      if (raced) return { earlier: raced };
      throw error;
    }
    if (inserted) return { inserted };
    const refusal = await explainRefusal(deps, { owner: p.owner, sessionId: p.sessionId, sizeBytes: row.reservedBytes ?? 0 });
    if ('error' in refusal) {
      if (refusal.error.code === 'SESSION_NOT_FOUND') return { inserted: undefined };
      throw refusal.error;
    }
    if (attempt >= RESERVE_ATTEMPTS) {
      // Room kept appearing and vanishing under concurrent initiates of this owner: a retry may simply pass.
      throw new AppError('TOO_MANY_REQUESTS', 'Too many uploads are starting at once for this account. Try again in a moment.', {
        retryAfterSeconds: 1,
      });
    }
  }
}

function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23505';
}
