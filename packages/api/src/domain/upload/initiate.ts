import { randomUUID } from 'node:crypto';

import {
  findJobByClientRequestId,
  insertJobForOwnedSession,
  lockUploadQuota,
  type InsertJobParams,
  type Owner,
  type VideoAnalysisJob,
} from '@coach/db';
import { signals, videoKey, type VideoContentType } from '@coach/jobs';

import { planParts, type PartPlan } from '../multipart.ts';
import { sessionNotFound } from '../sessions.ts';
import { firstUploadDeadline, singlePutUrlSeconds } from './deadline.ts';
import type { InitiatedUpload, UploadDeps } from './deps.ts';
import { enforceUploadQuota, hasUploadQuota } from './quota.ts';
import { answerRepeat } from './repeat.ts';
import { fileTooLarge } from './stored-object.ts';

export interface InitiateUploadParams {
  owner: Owner;
  userId: string;
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
 * storage is touched, and again under the quota lock and after the insert, so
 * concurrent repeats still make exactly one job.
 */
export async function initiateUpload(deps: UploadDeps, p: InitiateUploadParams): Promise<InitiatedUpload> {
  const { storage, config } = deps;
  if (p.sizeBytes !== null && p.sizeBytes > config.maxUploadBytes) {
    throw fileTooLarge(config.maxUploadBytes);
  }
  if (p.putStyle === 'first-version' && p.sizeBytes !== null && p.sizeBytes > SINGLE_PUT_MAX_BYTES) {
    throw fileTooLarge(SINGLE_PUT_MAX_BYTES);
  }
  const clientRequestId = p.clientRequestId ?? null;
  const findEarlier: FindEarlier = (db) =>
    clientRequestId === null ? undefined : findJobByClientRequestId(db, { userId: p.userId, clientRequestId });
  const earlier = await findEarlier(deps.db);
  if (earlier) return answerRepeat(deps, p, earlier);

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
    // A caller over the limits costs no storage call: checked here without the lock
    // (and again under it, before the insert, where it is exact).
    if (hasUploadQuota(config)) await enforceUploadQuota(deps.db, config, { userId: p.userId, owner: p.owner });
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

/** S3 refuses a single PUT over 5 GiB. */
export const SINGLE_PUT_MAX_BYTES = 5 * 1024 ** 3;

type InsertOutcome = { inserted: Pick<VideoAnalysisJob, 'status'> | undefined } | { earlier: VideoAnalysisJob };

/**
 * Inserts the job, under the quota lock when limits apply. A concurrent repeat
 * of the same `clientRequestId` that got there first is answered instead
 * (`earlier`); `inserted: undefined` means no such session.
 */
async function insertJob(
  deps: UploadDeps,
  p: InitiateUploadParams,
  row: InsertJobParams,
  findEarlier: FindEarlier,
): Promise<InsertOutcome> {
  const { config } = deps;
  const outcome: InsertOutcome = hasUploadQuota(config)
    ? await deps.db.transaction().execute(async (trx) => {
        await lockUploadQuota(trx, { userId: p.userId, owner: p.owner });
        // A concurrent repeat that took the lock first has committed its job by now: answer that, uncounted.
        const raced = await findEarlier(trx);
        if (raced) return { earlier: raced };
        await enforceUploadQuota(trx, config, { userId: p.userId, owner: p.owner });
        return { inserted: await insertJobForOwnedSession(trx, row) };
      })
    : // One statement, so no transaction: one database round trip instead of three.
      { inserted: await insertJobForOwnedSession(deps.db, row) };
  if ('inserted' in outcome && !outcome.inserted) {
    // Nothing inserted: no such session, or a concurrent repeat won the unique index.
    const raced = await findEarlier(deps.db);
    if (raced) return { earlier: raced };
  }
  return outcome;
}
