import { useId, useRef, useState, type RefObject } from 'react';

import { useJobAnalysis } from '../results/use-job-analysis.ts';
import { PosePlayer, type PosePlayerHandle } from './pose-player.tsx';

/**
 * Two clips of one session side by side, each with its pose, to compare a
 * technique between takes: each plays, slows and steps on its own, and both
 * can start together from the beginning.
 */
export function CompareClips({ jobIds }: { jobIds: readonly [string, string] }) {
  const id = useId();
  const left = useRef<PosePlayerHandle>(null);
  const right = useRef<PosePlayerHandle>(null);
  const [error, setError] = useState<string | null>(null);

  const playBoth = async () => {
    setError(null);
    left.current?.seekTo(0);
    right.current?.seekTo(0);
    try {
      await Promise.all([left.current?.play(), right.current?.play()]);
    } catch (cause) {
      setError(`The videos could not be played together: ${cause instanceof Error ? cause.message : String(cause)}`);
    }
  };

  return (
    <section aria-labelledby={`${id}-heading`} className="card compare">
      <h2 id={`${id}-heading`}>Compare two videos</h2>
      <div className="actions">
        <button type="button" onClick={() => void playBoth()}>
          Play both from the start
        </button>
        <button
          type="button"
          className="secondary"
          onClick={() => {
            left.current?.pause();
            right.current?.pause();
          }}
        >
          Pause both
        </button>
      </div>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <div className="compare-grid">
        <CompareSide jobId={jobIds[0]} title="First video" handle={left} />
        <CompareSide jobId={jobIds[1]} title="Second video" handle={right} />
      </div>
    </section>
  );
}

function CompareSide({ jobId, title, handle }: { jobId: string; title: string; handle: RefObject<PosePlayerHandle | null> }) {
  const { details, metrics } = useJobAnalysis(jobId);
  const result = details.data?.result;
  if (details.error) {
    return (
      <p role="alert" className="error">
        Could not load {title.toLowerCase()}: {details.error.message}
      </p>
    );
  }
  if (!result) return <p role="status">Loading {title.toLowerCase()}…</p>;
  return (
    <div className="compare-side">
      <h3>{title}</h3>
      <PosePlayer ref={handle} jobId={jobId} title={title} records={metrics.data?.frames} sampleFps={result.sampleFps} />
    </div>
  );
}
