import { useQuery } from '@tanstack/react-query';

import { useTRPC } from '../api/trpc.tsx';
import { useMetricsFile } from './metrics-file.ts';

/** A job's details with its signed links, and its metrics file once those are there. */
export function useJobAnalysis(jobId: string) {
  const trpc = useTRPC();
  const details = useQuery(trpc.jobs.get.queryOptions({ jobId }));
  const metrics = useMetricsFile(
    jobId,
    details.data?.artifacts?.metricsUrl,
    async () => (await details.refetch()).data?.artifacts?.metricsUrl,
  );
  return { details, metrics };
}
