import type { ObjectStorage } from '@coach/aws';
import {
  findOwnedJob,
  findOwnedSession,
  listOwnedJobs,
  recordAuditEvent,
  type AuditActor,
  type Database,
  type JobStatus,
  type Kysely,
  type Owner,
  type RetentionPolicy,
  type VideoAnalysisJob,
} from '@coach/db';
import {
  frameKey,
  originalRemovesAt,
  parseStoredResult,
  type AnalysisResult,
  type JobFailureCode,
  type Logger,
} from '@coach/jobs';

import type { ApiConfig } from '../context.ts';
import { AppError } from './errors.ts';
import { decodeCursor, toPage } from './pagination.ts';
import { readEffectiveRetention } from './retention.ts';
import { sessionNotFound } from './sessions.ts';
import type { UsageMeter } from './usage-meter.ts';

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
  /** A documented failure code (`JobFailureCode`) once the job failed, was rejected, expired or aborted. */
  errorCode: JobFailureCode | null;
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
  /** The analysis summary once completed (metrics, model, timings); null before. */
  result: AnalysisResult | null;
  /** When the owner's current retention policy removes the original (null: kept, removed, or none stored). */
  originalRemovesAt: string | null;
  /** When retention removed the original; its analysis stays. */
  originalRemovedAt: string | null;
}

/** Short-lived download links for a completed job's stored analysis. */
export interface JobArtifacts {
  metricsUrl: string;
  /** The first frames' links; the rest page through jobs.frames. */
  frames: { index: number; url: string }[];
  frameCount: number;
  expiresIn: number;
}

/** Frame links signed per jobs.get; more come from jobs.frames, a page at a time. */
export const FRAME_LINKS_PER_PAGE = 60;

export type JobDetails = JobView & { artifacts: JobArtifacts | null };

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/**
 * The job as callers see it, under its owner's current retention policy; a
 * stored result that fails its schema is logged and shown as null.
 */
export function toJobView(row: VideoAnalysisJob, logger: Logger, retention: RetentionPolicy): JobView {
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
    // Written only through `@coach/jobs` (`JobColumns`), which admits only these codes.
    errorCode: row.errorCode as JobFailureCode | null,
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
    result: parseStoredResult(row.result, (issues) =>
      logger.error({ jobId: row.id, issues }, 'stored analysis result fails its schema; shown as null'),
    ),
    originalRemovesAt: iso(originalRemovesAt(row, retention)),
    originalRemovedAt: iso(row.originalRemovedAt),
  };
}

export function jobNotFound(): AppError {
  return new AppError('JOB_NOT_FOUND', 'Analysis job not found.');
}

/** Another owner's job is reported exactly like a missing one. */
export async function getJob(deps: ReadDeps, p: { owner: Owner; jobId: string }): Promise<JobView> {
  const row = await findOwnedJob(deps.db, p);
  if (!row) throw jobNotFound();
  return toJobView(row, deps.logger, await readEffectiveRetention(deps.db, deps.config, p.owner));
}

/** The job plus signed links to its stored metrics and frames, once completed. */
export async function getJobDetails(deps: LinkDeps, p: LinkParams): Promise<JobDetails> {
  const view = await getJob(deps, p);
  const result = view.status === 'completed' ? view.result : null;
  if (!result) return { ...view, artifacts: null };
  const expiresInSeconds = deps.config.downloadUrlExpiresSeconds;
  deps.usage.charge(p.userId, 'signedUrls', 1 + framesOnPage(result, 0, FRAME_LINKS_PER_PAGE).length);
  const [metricsUrl, page] = await Promise.all([
    deps.storage.presignGet({ key: result.artifacts.metricsKey, expiresInSeconds }),
    signFrames(deps, result, 0, FRAME_LINKS_PER_PAGE),
  ]);
  await recordLinks(deps, p, view, {
    artifacts: page.frames.length > 0 ? ['metrics', 'frames'] : ['metrics'],
    frameCount: page.frames.length,
  });
  return {
    ...view,
    artifacts: { metricsUrl, frames: page.frames, frameCount: page.frameCount, expiresIn: expiresInSeconds },
  };
}

/** Statuses whose job holds its checked video: it landed and passed the stored-object checks. */
const HOLDS_VIDEO: readonly JobStatus[] = ['queued', 'processing', 'completed', 'failed'];

/** A short-lived link to play a job's original video, once it landed; owner-checked like the analysis links. */
export async function signVideoUrl(
  deps: LinkDeps,
  p: LinkParams,
): Promise<{ url: string; contentType: string; expiresIn: number }> {
  const view = await getJob(deps, p);
  if (!HOLDS_VIDEO.includes(view.status)) {
    throw new AppError(
      'VIDEO_NOT_AVAILABLE',
      view.status === 'awaiting_upload'
        ? 'This video has not finished uploading yet; it can be played once its upload completes.'
        : `This upload was ${view.status}, so there is no video to play.`,
    );
  }
  if (view.originalRemovedAt) {
    throw new AppError(
      'ORIGINAL_REMOVED',
      `This video's original was removed on ${view.originalRemovedAt} under your retention policy (retention.get); ` +
        'its analysis (summary, metrics and frames) is still available.',
    );
  }
  const expiresInSeconds = deps.config.downloadUrlExpiresSeconds;
  deps.usage.charge(p.userId, 'signedUrls', 1);
  const url = await deps.storage.presignGet({ key: view.s3Key, expiresInSeconds });
  await recordLinks(deps, p, view, { artifacts: ['original'], frameCount: 0 });
  return { url, contentType: view.contentType, expiresIn: expiresInSeconds };
}

/** A page of signed frame links of a completed job that stored frames. */
export async function listFrames(deps: LinkDeps, p: LinkParams & { offset: number; limit: number }) {
  const view = await getJob(deps, p);
  const result = view.status === 'completed' ? view.result : null;
  if (!result) return { frames: [], frameCount: 0, nextOffset: null, expiresIn: deps.config.downloadUrlExpiresSeconds };
  deps.usage.charge(p.userId, 'signedUrls', framesOnPage(result, p.offset, p.limit).length);
  const page = await signFrames(deps, result, p.offset, p.limit);
  if (page.frames.length > 0) await recordLinks(deps, p, view, { artifacts: ['frames'], frameCount: page.frames.length });
  return { ...page, expiresIn: deps.config.downloadUrlExpiresSeconds };
}

/** What signing links needs: the links are paid for from the caller's allowance before any is signed. */
type LinkDeps = ReadDeps & { storage: ObjectStorage; config: ApiConfig; usage: UsageMeter };

/** Reading jobs: a stored result that fails its schema is reported to the log; retention's defaults date the original's removal. */
type ReadDeps = { db: Kysely<Database>; logger: Logger; config: Pick<ApiConfig, 'retentionDefaults'> };
/** Who asks for links to which job; `actor` is named by the `link.signed` audit entry. */
type LinkParams = { owner: Owner; userId: string; actor: AuditActor; jobId: string };

/**
 * One `link.signed` entry per call that signed links, written before the
 * answer leaves: no link reaches a caller without its entry (presigning is
 * local, so the links exist only in this call until then).
 */
async function recordLinks(
  deps: LinkDeps,
  p: LinkParams,
  view: JobView,
  links: { artifacts: ('original' | 'metrics' | 'frames')[]; frameCount: number },
): Promise<void> {
  await recordAuditEvent(deps.db, {
    owner: p.owner,
    actor: p.actor,
    action: 'link.signed',
    target: { type: 'job', id: view.jobId },
    sessionId: view.sessionId,
    details: { ...links, expiresInSeconds: deps.config.downloadUrlExpiresSeconds },
  });
}

/** The frame indexes a page holds. */
function framesOnPage(result: AnalysisResult, offset: number, limit: number): number[] {
  const frameCount = result.artifacts.framesPrefix ? result.frameCount : 0;
  const end = Math.min(frameCount, offset + limit);
  return Array.from({ length: Math.max(0, end - offset) }, (_, i) => offset + i);
}

async function signFrames(
  deps: { storage: ObjectStorage; config: ApiConfig },
  result: AnalysisResult,
  offset: number,
  limit: number,
) {
  const { framesPrefix } = result.artifacts;
  const frameCount = framesPrefix ? result.frameCount : 0;
  const indexes = framesOnPage(result, offset, limit);
  const frames = await Promise.all(
    indexes.map(async (index) => {
      const key = frameKey(framesPrefix ?? '', index);
      return { index, url: await deps.storage.presignGet({ key, expiresInSeconds: deps.config.downloadUrlExpiresSeconds }) };
    }),
  );
  const end = offset + indexes.length;
  return { frames, frameCount, nextOffset: end < frameCount ? end : null };
}

export async function listJobs(deps: ReadDeps, p: { owner: Owner; sessionId: string; limit: number; cursor?: string }) {
  const after = decodeCursor(p.cursor);
  const rows = await listOwnedJobs(deps.db, { ...p, after });
  // An empty page must still tell "no jobs yet" from "no such session".
  if (rows.length === 0 && !after && !(await findOwnedSession(deps.db, p))) throw sessionNotFound();
  const retention = await readEffectiveRetention(deps.db, deps.config, p.owner);
  return toPage(rows, p.limit, (row) => toJobView(row, deps.logger, retention));
}
