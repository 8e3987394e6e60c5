'use client';

import { useSubscription } from '@trpc/tanstack-react-query';
import { useState } from 'react';

import type { RouterOutputs } from '@coach/client';

import { useTRPC } from '../trpc/client.tsx';

type JobState = RouterOutputs['jobs']['watch'] extends AsyncIterable<{ data: infer TJob }> ? TJob : never;

/** Follows one job over `jobs.watch` (SSE) until the API ends the stream at a terminal status. */
export function JobWatch({ jobId }: { jobId: string }) {
  const trpc = useTRPC();
  // The subscription drops its data when the stream ends, so the last state is kept here.
  const [job, setJob] = useState<JobState | undefined>();
  const watch = useSubscription(trpc.jobs.watch.subscriptionOptions({ jobId }, { onData: (event) => setJob(event.data) }));
  return (
    <div>
      <p role="status" data-job-status={job?.status ?? 'connecting'}>
        Job {jobId}: {job?.status ?? 'connecting'}
        {job?.status === 'processing' ? ` (${job.progressPercent}%)` : ''}
      </p>
      {job?.errorMessage && <p role="alert">{job.errorMessage}</p>}
      {watch.status === 'error' && <p role="alert">Lost the live status: {watch.error?.message}</p>}
    </div>
  );
}
