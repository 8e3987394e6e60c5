import { useCallback, useEffect, useRef, useState } from 'react';

import {
  errorCodeOf,
  resumeUpload,
  uploadVideo,
  UploadError,
  type ApiClient,
  type TransferOptions,
  type UploadResult,
} from '@coach/client';

import { isSameFile, pendingUploadStore, type PendingUpload } from './pending-upload-store.ts';
import { ProgressMeter, type UploadProgress } from './progress-meter.ts';

export type UploadState =
  | { status: 'idle' }
  | { status: 'uploading'; fileName: string; progress: UploadProgress }
  | { status: 'uploaded'; fileName: string; jobId: string; progress: UploadProgress }
  | { status: 'cancelled'; fileName: string }
  | { status: 'failed'; fileName: string; message: string; canResume: boolean };

export interface StartUploadOptions {
  sessionId: string;
  sampleFps: number;
  includeFrames: boolean;
}

export interface VideoUpload {
  state: UploadState;
  /** A multipart upload that did not finish (in this page or before a reload), to resume with the same file. */
  pending: PendingUpload | null;
  /** True when `file` is the one `pending` needs. */
  canResumeWith(file: File): boolean;
  start(file: File, options: StartUploadOptions): void;
  resume(file: File): void;
  cancel(): void;
  /** Forgets the pending upload and has the server discard what it stored. */
  discardPending(): void;
}

/** API answers after which the same upload cannot go on: it is over, or was never there. */
const FINAL_CODES = new Set(['UPLOAD_EXPIRED', 'UPLOAD_ABORTED', 'UPLOAD_CLOSED', 'UPLOAD_NOT_FOUND', 'JOB_NOT_FOUND', 'UPLOAD_PARTS_INVALID', 'UPLOAD_REJECTED']);

/**
 * One video upload at a time, with what a progress bar needs (bytes, speed,
 * ETA), cancel, and resume: a multipart upload's job id is kept in
 * localStorage from the moment the job exists, so after a reload or a
 * dropped connection the user picks the same file and only the missing
 * parts are sent. `onUploaded(jobId)` fires when the job is queued.
 */
export function useVideoUpload({ client, onUploaded }: { client: ApiClient; onUploaded?: (jobId: string) => void }): VideoUpload {
  const [state, setState] = useState<UploadState>({ status: 'idle' });
  const [pending, setPending] = useState<PendingUpload | null>(() => pendingUploadStore.load());
  const controller = useRef<AbortController | null>(null);
  const onUploadedRef = useRef(onUploaded);
  useEffect(() => {
    onUploadedRef.current = onUploaded;
  }, [onUploaded]);
  // Leaving the page mid-upload (sign out, navigation) cancels it; a reload or a closed tab does not run this.
  useEffect(() => () => controller.current?.abort(), []);

  const remember = useCallback((upload: PendingUpload | null) => {
    if (upload) pendingUploadStore.save(upload);
    else pendingUploadStore.clear();
    setPending(upload);
  }, []);

  const transfer = useCallback(
    async (file: File, send: (options: TransferOptions) => Promise<UploadResult>) => {
      if (controller.current) return;
      const abort = new AbortController();
      controller.current = abort;
      let latest: UploadProgress | undefined;
      const meter = new ProgressMeter(file.size, (progress) => {
        latest = progress;
        setState({ status: 'uploading', fileName: file.name, progress });
      });
      const ticker = setInterval(() => meter.tick(), 1_000);
      try {
        const done = await send({ signal: abort.signal, fetch: meter.fetch, onProgress: meter.onEvent });
        remember(null);
        setState({
          status: 'uploaded',
          fileName: file.name,
          jobId: done.jobId,
          progress: latest ?? { phase: 'completed', bytesSent: file.size, totalBytes: file.size, bytesPerSecond: null, etaSeconds: 0 },
        });
        onUploadedRef.current?.(done.jobId);
      } catch (error) {
        if (error instanceof Error && error.name === 'AbortError') {
          // uploadVideo already told the server to discard it.
          remember(null);
          setState({ status: 'cancelled', fileName: file.name });
          return;
        }
        const stored = pendingUploadStore.load();
        const canResume =
          stored !== null && error instanceof UploadError && error.jobId === stored.jobId && !FINAL_CODES.has(errorCodeOf(error) ?? '');
        if (!canResume) remember(null);
        setState({ status: 'failed', fileName: file.name, message: describeFailure(error, canResume), canResume });
      } finally {
        clearInterval(ticker);
        controller.current = null;
      }
    },
    [remember],
  );

  const start = useCallback(
    (file: File, options: StartUploadOptions) => {
      void transfer(file, (transferOptions) =>
        uploadVideo({
          client,
          file,
          ...options,
          ...transferOptions,
          onJobCreated: ({ jobId, uploadMode }) => {
            // Only parts survive a reload; a single PUT starts again.
            if (uploadMode !== 'multipart') return;
            remember({
              jobId,
              sessionId: options.sessionId,
              fileName: file.name,
              sizeBytes: file.size,
              lastModified: file.lastModified,
              startedAt: new Date().toISOString(),
            });
          },
        }),
      );
    },
    [client, remember, transfer],
  );

  const resume = useCallback(
    (file: File) => {
      if (!pending || !isSameFile(pending, file)) return;
      const { jobId } = pending;
      void transfer(file, (transferOptions) => resumeUpload({ client, jobId, file, ...transferOptions }));
    },
    [client, pending, transfer],
  );

  const cancel = useCallback(() => controller.current?.abort(), []);

  const discardPending = useCallback(() => {
    if (!pending) return;
    void client.upload.abort.mutate({ jobId: pending.jobId }).catch(() => undefined);
    remember(null);
    setState({ status: 'idle' });
  }, [client, pending, remember]);

  const canResumeWith = useCallback((file: File) => pending !== null && isSameFile(pending, file), [pending]);

  return { state, pending, canResumeWith, start, resume, cancel, discardPending };
}

function describeFailure(error: unknown, canResume: boolean): string {
  const again = canResume ? ' Choose the same file again to resume where it stopped.' : ' Please try again.';
  // The API's messages are written for the person using the app.
  if (errorCodeOf(error) !== undefined) return error instanceof Error ? error.message : String(error);
  const cause = error instanceof Error ? error.cause : undefined;
  if (cause instanceof TypeError) return `The connection was lost during the upload.${again}`;
  return `${error instanceof Error ? error.message : String(error)}${again}`;
}
