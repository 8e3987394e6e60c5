import { useRef } from 'react';

import { PosePlayer, type PosePlayerHandle } from '../playback/pose-player.tsx';
import { FrameViewer } from './frame-viewer.tsx';
import { MetricCharts } from './metric-charts.tsx';
import { SummaryNumbers } from './summary-numbers.tsx';
import { useJobAnalysis } from './use-job-analysis.ts';

/** A completed job's analysis: the video with the pose, summary numbers, charts over time (a point seeks the video), frames. */
export function JobResults({ jobId }: { jobId: string }) {
  const { details, metrics } = useJobAnalysis(jobId);
  const player = useRef<PosePlayerHandle>(null);
  const artifacts = details.data?.artifacts ?? undefined;
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
      <PosePlayer ref={player} jobId={jobId} title="This video" records={metrics.data?.frames} sampleFps={result.sampleFps} />
      <SummaryNumbers result={result} />
      {metrics.error && (
        <p role="alert" className="error">
          {metrics.error.message}
        </p>
      )}
      {metrics.isPending && <p role="status">Loading the charts…</p>}
      {metrics.data && <MetricCharts frames={metrics.data.frames} onSeek={(seconds) => player.current?.seekTo(seconds)} />}
      {artifacts.frameCount > 0 && (
        <FrameViewer
          jobId={jobId}
          frameCount={artifacts.frameCount}
          firstPage={artifacts.frames}
          records={metrics.data?.frames}
          resignFirstPage={() => details.refetch()}
        />
      )}
    </div>
  );
}
