import { useQuery } from '@tanstack/react-query';
import { useId, useRef, useState, type ChangeEvent, type FormEvent } from 'react';

import { newClientRequestId, videoContentTypeOf } from '@coach/client';

import { useTRPC, useTRPCClient } from '../api/trpc.tsx';
import { libraryInput, type LibraryJob } from '../library/session-library.tsx';
import { formatBytes, formatDeadline } from './format.ts';
import { UploadProgressBar } from './upload-progress.tsx';
import { findDuplicate, sameSelection, type UploadSelection } from './upload-selection.ts';
import { useVideoUpload, type UploadState } from './use-video-upload.ts';

const ACCEPT = 'video/mp4,video/quicktime,video/webm,video/3gpp,.mp4,.m4v,.mov,.webm,.3gp';

/** Choose a video and how to analyse it, upload it (or resume an interrupted upload), with progress and cancel. */
export function UploadPanel({
  sessionId,
  onUploaded,
}: {
  sessionId: string | null;
  onUploaded: (jobId: string, sessionId: string) => void;
}) {
  const id = useId();
  const trpc = useTRPC();
  const client = useTRPCClient();
  const sessionVideos = useQuery({ ...trpc.jobs.list.queryOptions(libraryInput(sessionId ?? '')), enabled: sessionId !== null });
  /** The last upload asked for: the same file and options again reuse its clientRequestId. */
  const lastRequest = useRef<(UploadSelection & { clientRequestId: string }) | null>(null);
  const [duplicateOf, setDuplicateOf] = useState<LibraryJob | null>(null);
  const upload = useVideoUpload({ client, onUploaded });
  const [file, setFile] = useState<File | null>(null);
  const [fileError, setFileError] = useState<string | null>(null);
  const [sampleFps, setSampleFps] = useState(10);
  const [includeFrames, setIncludeFrames] = useState(true);
  const busy = upload.state.status === 'uploading';
  const resuming = file !== null && upload.canResumeWith(file);
  // Another file while one upload is unfinished: uploading it discards that one, and the page says so first.
  const replacing = upload.pending !== null && file !== null && !resuming;

  const choose = (event: ChangeEvent<HTMLInputElement>) => {
    const chosen = event.target.files?.[0] ?? null;
    setFile(chosen);
    setDuplicateOf(null);
    setFileError(
      chosen && !videoContentTypeOf(chosen)
        ? `“${chosen.name}” is not a video we can analyse. Choose an MP4, MOV, WebM or 3GP file.`
        : null,
    );
  };

  const send = (confirmed: boolean) => {
    if (!file || fileError || busy) return;
    if (resuming) return upload.resume(file);
    if (!sessionId) return;
    const selection: UploadSelection = { file, sessionId, sampleFps, includeFrames };
    const previous = lastRequest.current;
    const isRepeat = previous !== null && sameSelection(previous, selection);
    // A file already in the session is sent again only when the user says so; a repeated click is not a new upload.
    const duplicate = isRepeat || confirmed ? undefined : findDuplicate(sessionVideos.data?.items ?? [], file);
    if (duplicate) return setDuplicateOf(duplicate);
    setDuplicateOf(null);
    const clientRequestId = isRepeat ? previous.clientRequestId : newClientRequestId();
    lastRequest.current = { ...selection, clientRequestId };
    upload.start(file, { sessionId, sampleFps, includeFrames, clientRequestId });
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    send(false);
  };

  return (
    <section aria-labelledby={`${id}-heading`} className="card">
      <h2 id={`${id}-heading`}>2. Video</h2>
      {upload.pending && !busy && (
        <div className="notice" role="note">
          <p>
            An upload of <strong>{upload.pending.fileName}</strong> ({formatBytes(upload.pending.sizeBytes)}) did not finish.
            {upload.pending.uploadMode === 'multipart'
              ? ' Choose the same file to resume it where it stopped'
              : ' Choose the same file to continue it'}
            {upload.pending.expiresAt ? ` before ${formatDeadline(upload.pending.expiresAt)}.` : '.'}
            {replacing && (
              <>
                {' '}
                Uploading <strong>{file.name}</strong> instead discards it.
              </>
            )}
          </p>
          <button type="button" className="secondary" onClick={upload.discardPending}>
            Discard that upload
          </button>
        </div>
      )}
      {duplicateOf && file && (
        <div className="notice" role="alertdialog" aria-labelledby={`${id}-duplicate`}>
          <p id={`${id}-duplicate`}>
            A video of the same size ({formatBytes(file.size)}) is already in this session, uploaded{' '}
            {new Date(duplicateOf.createdAt).toLocaleString()}. Upload <strong>{file.name}</strong> again?
          </p>
          <div className="actions">
            <button type="button" onClick={() => send(true)}>
              Upload it again
            </button>
            <button type="button" className="secondary" onClick={() => setDuplicateOf(null)}>
              Don’t upload
            </button>
          </div>
        </div>
      )}
      <form onSubmit={submit}>
        <div className="field">
          <label htmlFor={`${id}-file`}>Video file</label>
          <input
            id={`${id}-file`}
            type="file"
            accept={ACCEPT}
            onChange={choose}
            disabled={busy}
            aria-describedby={`${id}-file-hint${fileError ? ` ${id}-file-error` : ''}`}
            aria-invalid={fileError ? true : undefined}
          />
          <p id={`${id}-file-hint`} className="hint">
            MP4, MOV, WebM or 3GP, filmed from head to toe.
          </p>
          {fileError && (
            <p id={`${id}-file-error`} role="alert" className="error">
              {fileError}
            </p>
          )}
        </div>
        {!resuming && (
          <fieldset disabled={busy}>
            <legend>Analysis</legend>
            <div className="field">
              <label htmlFor={`${id}-fps`}>Frames analysed per second</label>
              <select id={`${id}-fps`} value={sampleFps} onChange={(e) => setSampleFps(Number(e.target.value))}>
                {[5, 10, 15, 30].map((fps) => (
                  <option key={fps} value={fps}>
                    {fps}
                  </option>
                ))}
              </select>
            </div>
            <div className="check">
              <input
                id={`${id}-frames`}
                type="checkbox"
                checked={includeFrames}
                onChange={(e) => setIncludeFrames(e.target.checked)}
              />
              <label htmlFor={`${id}-frames`}>Keep the analysed frames (to see the pose on each)</label>
            </div>
          </fieldset>
        )}
        {!sessionId && !resuming && <p className="hint">Choose or create a session first.</p>}
        <div className="actions">
          <button type="submit" disabled={busy || !file || fileError !== null || (!resuming && !sessionId)}>
            {resuming ? 'Resume upload' : replacing ? 'Discard it and upload' : 'Upload'}
          </button>
          {busy && (
            <button type="button" className="secondary" onClick={upload.cancel}>
              Cancel upload
            </button>
          )}
        </div>
      </form>
      {'progress' in upload.state &&
        (upload.state.progress ? (
          <UploadProgressBar fileName={upload.state.fileName} progress={upload.state.progress} />
        ) : (
          <p className="hint">{resuming ? 'Checking what was already uploaded…' : 'Preparing the upload…'}</p>
        ))}
      <UploadOutcome state={upload.state} />
    </section>
  );
}

/** What happened to the upload, announced to screen readers as it changes (never every byte). */
function UploadOutcome({ state }: { state: UploadState }) {
  if (state.status === 'failed') {
    return (
      <p role="alert" className="error">
        Upload of {state.fileName} failed. {state.message}
      </p>
    );
  }
  const text =
    state.status === 'uploading'
      ? `Uploading ${state.fileName}…`
      : state.status === 'uploaded'
        ? `${state.fileName} is uploaded and queued for analysis.`
        : state.status === 'cancelled'
          ? `Upload of ${state.fileName} cancelled.`
          : '';
  return (
    <p role="status" className="status">
      {text}
    </p>
  );
}
