import { useQueryClient } from '@tanstack/react-query';
import { useSubscription } from '@trpc/tanstack-react-query';
import { lazy, Suspense, useEffect, useId, useState } from 'react';

import { errorCodeOf, type RouterOutputs } from '@coach/client';

import { useAuthErrorHandler, useTRPC } from '../api/trpc.tsx';
import { DeleteVideo } from '../deletion/delete-video.tsx';
import { originalRetentionText } from '../retention/original-retention.ts';
import { FAILED, STATUS_TEXT } from './status-text.ts';

// The charts library is most of the bundle: load it once there are results to show.
const JobResults = lazy(() => import('../results/job-results.tsx').then((m) => ({ default: m.JobResults })));

type JobState = RouterOutputs['jobs']['watch'] extends AsyncIterable<{ data: infer TJob }> ? TJob : never;

/**
 * Follows one job live over `jobs.watch` (SSE): queued → processing with percent → completed (results) or failed (why).
 * A job that is deleted (here or elsewhere) calls `onGone` with a notice to show.
 */
export function JobStatus({ jobId, onGone }: { jobId: string; onGone: (notice: string) => void }) {
  const id = useId();
  const trpc = useTRPC();
  const onError = useAuthErrorHandler();
  // The subscription forgets its data when the stream ends (the job is terminal), so keep the last state here.
  const [job, setJob] = useState<JobState | undefined>();
  const queryClient = useQueryClient();
  // The library lists this job too: its status there follows what this page sees, and so does the storage
  // figure (an upload's held size becomes its stored size).
  useEffect(() => {
    if (!job?.status) return;
    void queryClient.invalidateQueries({ queryKey: trpc.jobs.list.queryKey() });
    void queryClient.invalidateQueries({ queryKey: trpc.usage.get.queryKey() });
  }, [job?.status, queryClient, trpc]);
  const watch = useSubscription(
    trpc.jobs.watch.subscriptionOptions(
      { jobId },
      // Events are tracked ({ id, data }): a reconnect resumes after the last one seen.
      {
        onData: (event) => setJob(event.data),
        onError: (error) => {
          if (errorCodeOf(error) === 'JOB_NOT_FOUND') onGone('That video has been deleted.');
          else onError(error);
        },
      },
    ),
  );

  const retention = job ? originalRetentionText(job) : null;

  return (
    <section aria-labelledby={`${id}-heading`} className="card">
      <h2 id={`${id}-heading`}>Analysis</h2>
      <p role="status" className="status" data-job-status={job?.status ?? 'connecting'}>
        {job ? STATUS_TEXT[job.status] : 'Connecting to live status…'}
      </p>
      {job?.status === 'processing' && (
        <div className="analysis-progress">
          <label htmlFor={`${id}-progress`}>Analysed</label>
          <progress id={`${id}-progress`} max={100} value={job.progressPercent} />
          <span>
            {job.progressPercent}%{job.framesTotal ? ` (${job.framesDone} of ${job.framesTotal} frames)` : ''}
          </span>
        </div>
      )}
      {job && FAILED.includes(job.status) && (
        <div role="alert" className="error failure">
          <p>{job.errorMessage ?? 'No reason was given.'}</p>
          {job.errorCode && <p className="hint">Code: {job.errorCode}</p>}
        </div>
      )}
      {watch.status === 'error' && (
        <div role="alert" className="error">
          <p>Lost the live status: {watch.error?.message}</p>
          <button type="button" className="secondary" onClick={() => watch.reset()}>
            Reconnect
          </button>
        </div>
      )}
      {retention && (
        <p className="hint" data-testid="original-retention">
          {retention}
        </p>
      )}
      {job && (
        <div className="actions">
          <DeleteVideo jobId={jobId} onDeleted={onGone} />
        </div>
      )}
      {job?.status === 'completed' && (
        <Suspense fallback={<p role="status">Loading the results…</p>}>
          <JobResults jobId={jobId} />
        </Suspense>
      )}
    </section>
  );
}
