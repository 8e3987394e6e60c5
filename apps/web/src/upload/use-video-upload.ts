import { useCallback, useEffect, useRef, useState } from 'react';

import {
  errorCodeOf,
  resumeUpload,
  uploadVideo,
  type ApiClient,
  type TransferOptions,
  type UploadProgressEvent,
  type UploadResult,
} from '@coach/client';

import {
  canResumeAfter,
  forgetsRecord,
  isRecordOf,
  leaveReason,
  transferEndOf,
  type ActiveTransfer,
} from './pending-upload-rules.ts';
import { isSameFile, pendingUploadStore, type PendingUpload } from './pending-upload-store.ts';
import { ProgressMeter, type UploadProgress } from './progress-meter.ts';

export type UploadState =
  | { status: 'idle' }
  /** `progress` is null until the uploader's first figures (on a resume: once the server said what it stored). */
  | { status: 'uploading'; fileName: string; progress: UploadProgress | null }
  | { status: 'uploaded'; fileName: string; jobId: string; progress: UploadProgress }
  | { status: 'cancelled'; fileName: string }
  | { status: 'failed'; fileName: string; message: string; canResume: boolean };

export interface StartUploadOptions {
  sessionId: string;
  sampleFps: number;
  includeFrames: boolean;
  /**
   * One per choice of file and options: a repeated click sends the same id, so
   * the server answers the job the first click made instead of a second one,
   * and once that job is uploaded the hook answers it without calling at all.
   */
  clientRequestId: string;
}

export interface VideoUpload {
  state: UploadState;
  /** An upload that did not finish (in this page or before a reload), to go on with the same file. */
  pending: PendingUpload | null;
  /** True when `file` is the one `pending` needs. */
  canResumeWith: (file: File) => boolean;
  /**
   * Starts a new upload. A pending upload is discarded first (the server too is told), so show that before calling.
   * A `clientRequestId` that already uploaded a job answers that job (`onUploaded` again), uploading nothing.
   */
  start: (file: File, options: StartUploadOptions) => void;
  resume: (file: File) => void;
  cancel: () => void;
  /** Forgets the pending upload and has the server discard what it stored. */
  discardPending: () => void;
}

interface Transfer extends ActiveTransfer {
  controller: AbortController;
}

/**
 * One video upload at a time, with what a progress bar needs (bytes, speed,
 * ETA, deadline), cancel, and resume: every upload is kept in localStorage
 * from the moment its job exists, so after a reload, a dropped connection or
 * signing in again the user picks the same file and it goes on: a multipart
 * upload sends only the missing parts, a single PUT is sent again to the same
 * job (its initiate repeated with the same clientRequestId). A transfer only ever clears or replaces its own job's
 * record, and starting another upload discards the pending one explicitly, so
 * no unfinished job is left open on the server. `onUploaded(jobId)` fires when
 * the job is queued (with the session it went to).
 */
export function useVideoUpload({
  client,
  onUploaded,
}: {
  client: ApiClient;
  onUploaded?: (jobId: string, sessionId: string) => void;
}): VideoUpload {
  const [state, setState] = useState<UploadState>({ status: 'idle' });
  const [pending, setPending] = useState<PendingUpload | null>(() => pendingUploadStore.load());
  const active = useRef<Transfer | null>(null);
  /** The job each finished upload's clientRequestId made, so the same request is never sent twice. */
  const uploadedRequests = useRef(new Map<string, { jobId: string; fileName: string; progress: UploadProgress | undefined }>());
  const onUploadedRef = useRef(onUploaded);
  useEffect(() => {
    onUploadedRef.current = onUploaded;
  }, [onUploaded]);
  // Leaving the page mid-upload (sign out, a refused token) pauses a multipart upload, to resume after
  // signing in again, and cancels a single PUT; a reload or a closed tab does not run this.
  useEffect(
    () => () => {
      const transfer = active.current;
      transfer?.controller.abort(leaveReason(transfer));
    },
    [],
  );

  const save = useCallback((upload: PendingUpload) => {
    pendingUploadStore.save(upload);
    setPending(upload);
  }, []);

  /** Forgets the stored record if, and only if, it is `jobId`'s. */
  const forget = useCallback((jobId: string | undefined) => {
    if (!isRecordOf(pendingUploadStore.load(), jobId)) return;
    pendingUploadStore.clear();
    setPending(null);
  }, []);

  /** Has the server discard `upload` (what it stored, and its place among the open uploads) and forgets it. */
  const discard = useCallback(
    (upload: PendingUpload): Promise<void> => {
      forget(upload.jobId);
      // Not retried: if this call fails, the server's sweeper ends the upload when it expires.
      return client.upload.abort.mutate({ jobId: upload.jobId }).then(
        () => undefined,
        () => undefined,
      );
    },
    [client, forget],
  );

  const transfer = useCallback(
    async (
      file: File,
      current: Transfer,
      send: (options: TransferOptions) => Promise<UploadResult>,
      target: { sessionId: string; clientRequestId: string | undefined; knownExpiresAt: string | null },
    ) => {
      const { signal } = current.controller;
      let latest: UploadProgress | undefined;
      const meter = new ProgressMeter(
        file.size,
        (progress) => {
          latest = progress;
          setState({ status: 'uploading', fileName: file.name, progress });
        },
        target.knownExpiresAt,
      );
      const ticker = setInterval(() => meter.tick(), 1_000);
      // Busy from the click on, not from the first event: a discard or opening the file may come first.
      setState({ status: 'uploading', fileName: file.name, progress: null });
      const onProgress = (event: UploadProgressEvent) => {
        meter.onEvent(event);
        // The server's latest deadline, so the offer to continue after a reload says it too.
        const stored = pendingUploadStore.load();
        if (event.expiresAt && stored && isRecordOf(stored, current.jobId) && stored.expiresAt !== event.expiresAt) {
          save({ ...stored, expiresAt: event.expiresAt });
        }
      };
      try {
        const done = await send({ signal, fetch: meter.fetch, onProgress });
        forget(current.jobId);
        if (target.clientRequestId) {
          uploadedRequests.current.set(target.clientRequestId, { jobId: done.jobId, fileName: file.name, progress: latest });
        }
        setState({
          status: 'uploaded',
          fileName: file.name,
          jobId: done.jobId,
          progress: latest ?? completedProgress(file.size),
        });
        onUploadedRef.current?.(done.jobId, target.sessionId);
      } catch (error) {
        const end = transferEndOf(error, signal);
        const stored = pendingUploadStore.load();
        if (forgetsRecord(stored, current.jobId, end)) forget(current.jobId);
        if (end.kind === 'paused') return;
        if (end.kind === 'cancelled') {
          // uploadVideo already told the server to discard it.
          setState({ status: 'cancelled', fileName: file.name });
          return;
        }
        const canResume = canResumeAfter(error, stored, current.jobId);
        setState({ status: 'failed', fileName: file.name, message: describeFailure(error, canResume), canResume });
      } finally {
        clearInterval(ticker);
        if (active.current === current) active.current = null;
      }
    },
    [forget, save],
  );

  /** Claims the one transfer slot; null while another transfer runs. */
  const begin = useCallback((jobId: string | undefined): Transfer | null => {
    if (active.current) return null;
    const current: Transfer = { controller: new AbortController(), jobId, resumable: jobId !== undefined };
    active.current = current;
    return current;
  }, []);

  const start = useCallback(
    (file: File, options: StartUploadOptions) => {
      const done = uploadedRequests.current.get(options.clientRequestId);
      if (done && !active.current) {
        setState({
          status: 'uploaded',
          fileName: done.fileName,
          jobId: done.jobId,
          progress: done.progress ?? completedProgress(file.size),
        });
        onUploadedRef.current?.(done.jobId, options.sessionId);
        return;
      }
      const current = begin(undefined);
      if (!current) return;
      // Before the new job exists, so it neither replaces the record nor counts next to the old one.
      const discarded = pending ? discard(pending) : Promise.resolve();
      const { clientRequestId, ...initiateOptions } = options;
      const target = { sessionId: options.sessionId, clientRequestId, knownExpiresAt: null };
      void transfer(
        file,
        current,
        async (transferOptions) => {
          await discarded;
          return uploadVideo({
            client,
            file,
            ...initiateOptions,
            clientRequestId,
            ...transferOptions,
            onJobCreated: ({ jobId, uploadMode, clientRequestId, expiresAt }) => {
              current.jobId = jobId;
              // Every upload can go on later (parts, or a single PUT sent again), so leaving the page pauses it.
              current.resumable = true;
              save({
                jobId,
                sessionId: options.sessionId,
                fileName: file.name,
                sizeBytes: file.size,
                lastModified: file.lastModified,
                startedAt: new Date().toISOString(),
                uploadMode,
                expiresAt,
                // A single PUT goes on by repeating this very initiate: same inputs, same id.
                repeat:
                  uploadMode === 'single'
                    ? { clientRequestId, sampleFps: options.sampleFps, includeFrames: options.includeFrames }
                    : undefined,
              });
            },
          });
        },
        target,
      );
    },
    [begin, client, discard, pending, save, transfer],
  );

  const resume = useCallback(
    (file: File) => {
      if (!pending || !isSameFile(pending, file)) return;
      const { jobId, repeat, sessionId } = pending;
      const current = begin(jobId);
      if (!current) return;
      void transfer(
        file,
        current,
        (transferOptions) =>
          pending.uploadMode === 'single' && repeat
            ? uploadVideo({ client, file, sessionId, ...repeat, ...transferOptions })
            : resumeUpload({ client, jobId, file, ...transferOptions }),
        { sessionId, clientRequestId: repeat?.clientRequestId, knownExpiresAt: pending.expiresAt ?? null },
      );
    },
    [begin, client, pending, transfer],
  );

  const cancel = useCallback(() => active.current?.controller.abort(), []);

  const discardPending = useCallback(() => {
    if (!pending || active.current) return;
    void discard(pending);
    setState({ status: 'idle' });
  }, [discard, pending]);

  const canResumeWith = useCallback((file: File) => pending !== null && isSameFile(pending, file), [pending]);

  return { state, pending, canResumeWith, start, resume, cancel, discardPending };
}

function completedProgress(size: number): UploadProgress {
  return { phase: 'completed', bytesSent: size, totalBytes: size, bytesPerSecond: null, etaSeconds: 0, expiresAt: null };
}

function describeFailure(error: unknown, canResume: boolean): string {
  const again = canResume ? ' Choose the same file again to resume where it stopped.' : ' Please try again.';
  // The API's messages are written for the person using the app.
  if (errorCodeOf(error) !== undefined) return error instanceof Error ? error.message : String(error);
  const cause = error instanceof Error ? error.cause : undefined;
  if (cause instanceof TypeError) return `The connection was lost during the upload.${again}`;
  return `${error instanceof Error ? error.message : String(error)}${again}`;
}
