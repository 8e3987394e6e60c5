import { useQuery } from '@tanstack/react-query';

import { useTRPC } from '../api/trpc.tsx';
import { FrameViewer } from './frame-viewer.tsx';
import { MetricCharts } from './metric-charts.tsx';
import { useMetricsFile } from './metrics-file.ts';
import { SummaryNumbers } from './summary-numbers.tsx';

/** A completed job's analysis: summary numbers, charts over time, frames with the pose. */
export function JobResults({ jobId }: { jobId: string }) {
  const trpc = useTRPC();
  const details = useQuery(trpc.jobs.get.queryOptions({ jobId }));
  const artifacts = details.data?.artifacts ?? undefined;
  const metrics = useMetricsFile(jobId, artifacts?.metricsUrl);
  const result = details.data?.result;

  if (details.error) {
    return (
      <p role="alert" className="error">
        Could not load the results: {details.error.message}
      </p>
    );
  }
  if (!result || !artifacts) return <p role="status">Loading the results…</p>;
  return (
    <div className="results">
      <SummaryNumbers result={result} />
      {metrics.error && (
        <p role="alert" className="error">
          {metrics.error.message}
        </p>
      )}
      {metrics.isPending && <p role="status">Loading the charts…</p>}
      {metrics.data && <MetricCharts frames={metrics.data.frames} />}
      {artifacts.frameCount > 0 && (
        <FrameViewer
          jobId={jobId}
          frameCount={artifacts.frameCount}
          firstPage={artifacts.frames}
          records={metrics.data?.frames}
        />
      )}
    </div>
  );
}
