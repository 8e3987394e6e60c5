import type { VideoContentType } from '@coach/api';

import type { RouterOutputs } from '../app-router.ts';
import type { ApiClient } from '../client.ts';
import { errorCodeOf } from '../error-code.ts';
import { callApi } from './api-retry.ts';
import { abortError, isPauseReason, UploadError } from './errors.ts';
import { partRange, sendParts, type PartPlan } from './multipart.ts';
import { ProgressTracker, type UploadProgressEvent } from './progress.ts';
import { defaultFetch, type FetchLike } from './put.ts';
import type { BackoffOptions, RetryPolicy } from './retry.ts';
import { sendSingle } from './single-put.ts';
import { openUploadSource, type UploadFile, type UploadSource } from './source.ts';

export interface TransferOptions {
  /**
   * Called on every phase change and whenever storage confirms a part (or the
   * whole single PUT): fetch reports no upload progress, so that is the granularity.
   */
  onProgress?: (event: UploadProgressEvent) => void;
  /**
   * Cancels the upload: PUTs stop, the server discards the upload (`upload.abort`,
   * the job becomes `aborted`) and the promise rejects with an AbortError. Once
   * every byte is stored, completion is no longer cancelled. Aborted with
   * `pauseReason()`, it pauses instead: the same, except that the server keeps
   * the upload for `resumeUpload`.
   */
  signal?: AbortSignal;
  /** Part PUTs in flight at once. Default 4: enough to fill a phone uplink without starving the app. */
  concurrency?: number;
  /** Retries per request after the first attempt, on network errors and 5xx/429 only. Default 5. */
  retries?: number;
  backoff?: BackoffOptions;
  /**
   * fetch for the storage PUTs (default: the global one); API calls use the
   * client's own. For polyfills, and for tests that inject faults.
   */
  fetch?: FetchLike;
}

export interface UploadVideoOptions extends TransferOptions {
  client: ApiClient;
  sessionId: string;
  file: UploadFile;
  /** Default: from the file's type or extension, else the API's default (`video/mp4`). */
  contentType?: VideoContentType;
  sampleFps?: number;
  includeFrames?: boolean;
  /**
   * Called once the server created the job, before any byte is sent. An
   * upload can outlive the page or app that started it: keep what this gives
   * where a reload cannot lose it (localStorage, AsyncStorage). A multipart
   * upload goes on with `resumeUpload({ jobId })`; a single PUT with
   * `uploadVideo` again, same file and options, and this `clientRequestId`.
   * `expiresAt` is when the server gives the upload up if it hears nothing.
   */
  onJobCreated?: (job: CreatedJob) => void;
  /**
   * Only to continue an upload an earlier run started (a reload during a single
   * PUT): its `clientRequestId` from `onJobCreated`, with the same file and
   * options. The server answers the same job with a fresh URL. Default: a new id.
   */
  clientRequestId?: string;
}

export interface CreatedJob {
  jobId: string;
  uploadMode: 'single' | 'multipart';
  clientRequestId: string;
  /** When the server expires the upload if it stops hearing from it (ISO 8601). */
  expiresAt: string;
}

export interface ResumeUploadOptions extends TransferOptions {
  client: ApiClient;
  jobId: string;
  /** The same file the upload started with (checked by size). */
  file: UploadFile;
}

/** What `upload.complete` answered: the job id, its status (`queued`, …) and the queue message id. */
export type UploadResult = RouterOutputs['upload']['complete'];

interface Settings {
  concurrency: number;
  policy: RetryPolicy;
  fetch: FetchLike;
}

function settingsOf(options: TransferOptions): Settings {
  const concurrency = options.concurrency ?? 4;
  const retries = options.retries ?? 5;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError('concurrency must be a whole number ≥ 1');
  if (!Number.isInteger(retries) || retries < 0) throw new RangeError('retries must be a whole number ≥ 0');
  return {
    concurrency,
    policy: {
      retries,
      initialDelayMs: options.backoff?.initialDelayMs ?? 500,
      maxDelayMs: options.backoff?.maxDelayMs ?? 20_000,
    },
    fetch: options.fetch ?? defaultFetch,
  };
}

/**
 * Uploads a video in one call: initiate → one PUT, or parts in parallel
 * (signed in small batches, each recorded as it lands) → complete. Resolves
 * with `upload.complete`'s answer. Rejects with an AbortError when cancelled,
 * else with an UploadError whose `jobId` (once the job exists) can go to
 * `resumeUpload`; `errorCodeOf(error)` gives the API's code.
 */
export async function uploadVideo(options: UploadVideoOptions): Promise<UploadResult> {
  const settings = settingsOf(options);
  const source = await open(options.file, undefined, options.signal);
  try {
    return await uploadFrom(source, options, settings);
  } finally {
    source.close();
  }
}

async function uploadFrom(source: UploadSource, options: UploadVideoOptions, settings: Settings): Promise<UploadResult> {
  const { client, signal } = options;
  const progress = new ProgressTracker(source.size, options.onProgress);
  progress.enter('preparing');
  let jobId: string | undefined;
  try {
    // One key for every attempt: if only an answer was lost, the retry gets the job the
    // lost call created rather than a second one. Never cancelled mid-flight, or a job
    // might be created that this call could not abort.
    const isRepeat = options.clientRequestId !== undefined;
    const clientRequestId = options.clientRequestId ?? newClientRequestId();
    const initiated = await callApi(
      () =>
        client.upload.initiate.mutate({
          sessionId: options.sessionId,
          sizeBytes: source.size,
          contentType: options.contentType ?? source.contentType,
          sampleFps: options.sampleFps,
          includeFrames: options.includeFrames,
          clientRequestId,
        }),
      settings.policy,
    );
    jobId = initiated.jobId;
    progress.setExpiresAt(initiated.uploadExpiresAt);
    options.onJobCreated?.({ jobId, uploadMode: initiated.uploadMode, clientRequestId, expiresAt: initiated.uploadExpiresAt });
    if (signal?.aborted) throw abortError();
    progress.enter('uploading');
    if (initiated.uploadMode === 'multipart' && initiated.multipart) {
      const plan = initiated.multipart;
      await sendAllParts(options, settings, source, progress, jobId, plan, range(1, plan.partCount));
    } else if (initiated.presignedUrl) {
      // A stream is buffered here, whole: single PUTs are below the multipart threshold (64 MiB by default).
      const blob = await source.read(0, source.size);
      if (signal?.aborted) throw abortError();
      await sendSingle({
        url: initiated.presignedUrl,
        headers: initiated.headers,
        blob,
        policy: settings.policy,
        fetch: settings.fetch,
        signal,
        isRepeat,
      });
      progress.fileDone();
    } else {
      throw new UploadError('The server answered with neither a presigned URL nor a part plan.', jobId);
    }
    return await complete(client, jobId, settings, progress, signal);
  } catch (error) {
    throw await failure(error, client, jobId, settings, signal);
  }
}

/**
 * Continues an upload from the server's record of stored parts (after an app
 * restart, a crash, or on another device of the same owner): sends only the
 * missing parts, then completes. A job that is no longer accepting parts, or a
 * single-PUT job, goes straight to completion, which answers for it
 * (the finished job's result, or why not: `UPLOAD_NOT_FOUND`, `UPLOAD_ABORTED`, …).
 */
export async function resumeUpload(options: ResumeUploadOptions): Promise<UploadResult> {
  const settings = settingsOf(options);
  const source = await open(options.file, options.jobId, options.signal);
  try {
    return await resumeFrom(source, options, settings);
  } finally {
    source.close();
  }
}

async function resumeFrom(source: UploadSource, options: ResumeUploadOptions, settings: Settings): Promise<UploadResult> {
  const { client, jobId, signal } = options;
  const progress = new ProgressTracker(source.size, options.onProgress);
  try {
    let state: RouterOutputs['upload']['listParts'];
    try {
      state = await callApi(() => client.upload.listParts.query({ jobId }, { signal }), settings.policy, signal);
    } catch (error) {
      const code = errorCodeOf(error);
      if (code !== 'NOT_MULTIPART' && code !== 'UPLOAD_CLOSED') throw error;
      progress.enter('preparing');
      return await complete(client, jobId, settings, progress, signal);
    }
    if (state.sizeBytes !== source.size) {
      throw new UploadError(
        `This upload is for a file of ${state.sizeBytes} bytes, but the file given has ${source.size}. Resume with the same file.`,
        jobId,
      );
    }
    const plan = { partSizeBytes: state.partSizeBytes, partCount: state.partCount };
    let stored = 0;
    for (const part of state.parts) {
      const { start, end } = partRange(plan, source.size, part.partNumber);
      stored += end - start;
    }
    // The first event already counts what the server recorded: a resume never shows 0 % first.
    progress.setAlreadyStored(stored);
    progress.setExpiresAt(state.uploadExpiresAt);
    progress.enter('preparing');
    progress.enter('uploading');
    const missing = [...state.missingPartNumbers].sort((a, b) => a - b);
    await sendAllParts(options, settings, source, progress, jobId, plan, missing);
    return await complete(client, jobId, settings, progress, signal);
  } catch (error) {
    throw await failure(error, client, jobId, settings, signal);
  }
}

/**
 * Opens the file, and ties a stream's life to `signal`: cancelling destroys
 * (Node) or cancels (web) it, as does an already aborted signal. The caller
 * closes the source when the upload ends, whichever way.
 */
async function open(file: UploadFile, jobId: string | undefined, signal: AbortSignal | undefined): Promise<UploadSource> {
  let source: UploadSource;
  try {
    source = await openUploadSource(file);
  } catch (error) {
    throw new UploadError(`The file could not be opened: ${messageOf(error)}`, jobId, { cause: error });
  }
  if (signal?.aborted) {
    source.close();
    throw abortError();
  }
  const onAbort = () => source.close();
  signal?.addEventListener('abort', onAbort, { once: true });
  return {
    ...source,
    close: () => {
      signal?.removeEventListener('abort', onAbort);
      source.close();
    },
  };
}

function sendAllParts(
  options: TransferOptions & { client: ApiClient },
  settings: Settings,
  source: UploadSource,
  progress: ProgressTracker,
  jobId: string,
  plan: PartPlan,
  partNumbers: readonly number[],
): Promise<void> {
  return sendParts({
    client: options.client,
    jobId,
    source,
    plan,
    partNumbers,
    concurrency: settings.concurrency,
    policy: settings.policy,
    fetch: settings.fetch,
    signal: options.signal,
    progress,
  });
}

async function complete(
  client: ApiClient,
  jobId: string,
  settings: Settings,
  progress: ProgressTracker,
  signal: AbortSignal | undefined,
): Promise<UploadResult> {
  if (signal?.aborted) throw abortError();
  progress.enter('completing');
  // Idempotent, so safe to retry; not cancelled, because every byte is already stored.
  const result = await callApi(() => client.upload.complete.mutate({ jobId }), settings.policy);
  progress.enter('completed');
  return result;
}

/**
 * The error an upload rejects with. After a cancel (whatever else failed
 * meanwhile) the server discards the upload first, briefly retried: the sweeper
 * aborts whatever this misses, and a cancelled upload should not hang offline.
 * After a pause the server is left alone: what it stored stays for a resume.
 */
async function failure(
  error: unknown,
  client: ApiClient,
  jobId: string | undefined,
  settings: Settings,
  signal: AbortSignal | undefined,
): Promise<unknown> {
  if (signal?.aborted) {
    if (isPauseReason(signal.reason)) return abortError('The upload was paused.');
    if (jobId !== undefined) {
      const id = jobId;
      const policy = { ...settings.policy, retries: Math.min(2, settings.policy.retries) };
      await callApi(() => client.upload.abort.mutate({ jobId: id }), policy).catch(() => undefined);
    }
    return abortError();
  }
  if (error instanceof UploadError) return error;
  return new UploadError(messageOf(error), jobId, { cause: error });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function range(first: number, last: number): number[] {
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}

/**
 * A fresh `clientRequestId` (for callers that keep one across repeated calls):
 * 128 random bits as hex. Not `crypto.randomUUID()`: browsers offer it only in
 * secure contexts, and a web app on plain http (a phone testing against a
 * laptop's LAN address) would fail every upload; `getRandomValues` works everywhere.
 */
export function newClientRequestId(): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}
