import { useEffect, useId, useRef, useState, type RefObject } from 'react';

import { errorCodeOf } from '@coach/client';

import { useJobAnalysis } from '../results/use-job-analysis.ts';
import { PosePlayer, type PosePlayerHandle } from './pose-player.tsx';

/**
 * Two clips of one session side by side, each with its pose, to compare a
 * technique between takes: each plays, slows and steps on its own, and both
 * can start together from the beginning. If either has been deleted (an old
 * link, another tab) `onGone` is called with a notice to show.
 */
export function CompareClips({ jobIds, onGone }: { jobIds: readonly [string, string]; onGone: (notice: string) => void }) {
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
        <CompareSide jobId={jobIds[0]} title="First video" handle={left} onGone={onGone} />
        <CompareSide jobId={jobIds[1]} title="Second video" handle={right} onGone={onGone} />
      </div>
    </section>
  );
}

function CompareSide({
  jobId,
  title,
  handle,
  onGone,
}: {
  jobId: string;
  title: string;
  handle: RefObject<PosePlayerHandle | null>;
  onGone: (notice: string) => void;
}) {
  const { details, metrics } = useJobAnalysis(jobId);
  const result = details.data?.result;
  const gone = details.error !== null && errorCodeOf(details.error) === 'JOB_NOT_FOUND';
  useEffect(() => {
    if (gone) onGone('One of the compared videos has been deleted.');
  }, [gone, onGone]);
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
