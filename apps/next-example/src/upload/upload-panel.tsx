'use client';

import { useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';

import { uploadVideo } from '@coach/client';

import { useTRPC, useTRPCClient } from '../trpc/client.tsx';
import { JobWatch } from './job-watch.tsx';

/**
 * Uploads a video with `uploadVideo` (straight to storage) into a session
 * chosen from the list the server component already fetched (hydrated, not
 * fetched again), then follows the job live.
 */
export function UploadPanel() {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const sessions = useQuery(trpc.sessions.list.queryOptions({ limit: 50 }));
  const [file, setFile] = useState<File | undefined>();
  const [sessionId, setSessionId] = useState<string | undefined>();
  const [percent, setPercent] = useState<number | undefined>();
  const [jobId, setJobId] = useState<string | undefined>();
  const [error, setError] = useState<string | undefined>();
  const chosenSession = sessionId ?? sessions.data?.items[0]?.sessionId;

  const upload = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (!file || !chosenSession) return;
    setError(undefined);
    setJobId(undefined);
    setPercent(0);
    try {
      const result = await uploadVideo({
        client,
        sessionId: chosenSession,
        file,
        onProgress: (p) => setPercent(p.totalBytes === 0 ? 0 : Math.floor((100 * p.bytesSent) / p.totalBytes)),
      });
      setJobId(result.jobId);
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : String(caught));
    }
  };

  return (
    <section className="card" aria-labelledby="upload-heading">
      <h2 id="upload-heading">Upload a video</h2>
      <form onSubmit={(event) => void upload(event)}>
        <label>
          Upload to session
          <select value={chosenSession ?? ''} onChange={(event) => setSessionId(event.target.value)}>
            {sessions.data?.items.map((session) => (
              <option key={session.sessionId} value={session.sessionId}>
                {session.title}
              </option>
            ))}
          </select>
        </label>
        <label>
          Video file
          <input type="file" accept="video/*" onChange={(event) => setFile(event.target.files?.[0])} />
        </label>
        <button type="submit" disabled={!file || !chosenSession}>
          Upload
        </button>
      </form>
      {percent !== undefined && <p data-testid="upload-percent">{percent}%</p>}
      {error && <p role="alert">{error}</p>}
      {jobId && <JobWatch key={jobId} jobId={jobId} />}
    </section>
  );
}
