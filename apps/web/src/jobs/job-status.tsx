import { useSubscription } from '@trpc/tanstack-react-query';
import { lazy, Suspense, useId, useState } from 'react';

import type { RouterOutputs } from '@coach/client';

import { useAuthErrorHandler, useTRPC } from '../api/trpc.tsx';

// The charts library is most of the bundle: load it once there are results to show.
const JobResults = lazy(() => import('../results/job-results.tsx').then((m) => ({ default: m.JobResults })));

type JobState = RouterOutputs['jobs']['watch'] extends AsyncIterable<{ data: infer TJob }> ? TJob : never;
type JobStatusName = JobState['status'];

const STATUS_TEXT: Record<JobStatusName, string> = {
  awaiting_upload: 'Waiting for the upload to finish.',
  queued: 'Queued for analysis.',
  processing: 'Analysing the video…',
  completed: 'Analysis complete.',
  failed: 'Analysis failed.',
  rejected: 'The upload was refused.',
  expired: 'The upload expired before it finished.',
  aborted: 'The upload was cancelled.',
};

const FAILED: readonly JobStatusName[] = ['failed', 'rejected', 'expired', 'aborted'];

/** Follows one job live over `jobs.watch` (SSE): queued → processing with percent → completed (results) or failed (why). */
export function JobStatus({ jobId }: { jobId: string }) {
  const id = useId();
  const trpc = useTRPC();
  const onError = useAuthErrorHandler();
  // The subscription forgets its data when the stream ends (the job is terminal), so keep the last state here.
  const [job, setJob] = useState<JobState | undefined>();
  const watch = useSubscription(
    trpc.jobs.watch.subscriptionOptions(
      { jobId },
      // Events are tracked ({ id, data }): a reconnect resumes after the last one seen.
      { onData: (event) => setJob(event.data), onError },
    ),
  );

  return (
    <section aria-labelledby={`${id}-heading`} className="card">
      <h2 id={`${id}-heading`}>3. Analysis</h2>
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
      {job?.status === 'completed' && (
        <Suspense fallback={<p role="status">Loading the results…</p>}>
          <JobResults jobId={jobId} />
        </Suspense>
      )}
    </section>
  );
}
