import { useQuery } from '@tanstack/react-query';
import { useId, useMemo, useState } from 'react';

import { useTRPC } from '../api/trpc.tsx';
import type { FrameRecord } from './metrics-file.ts';
import { SkeletonOverlay } from './skeleton-overlay.tsx';
import { MIN_KEYPOINT_SCORE } from './skeleton.ts';

/** jobs.get signs the first 60 frame links; jobs.frames pages through the rest 60 at a time. */
const PAGE = 60;

interface FrameLink {
  index: number;
  url: string;
}

/** Steps through the sampled frames, with the detected pose drawn over each (when the metrics file has it). */
export function FrameViewer({
  jobId,
  frameCount,
  firstPage,
  records,
}: {
  jobId: string;
  frameCount: number;
  firstPage: readonly FrameLink[];
  records: readonly FrameRecord[] | undefined;
}) {
  const id = useId();
  const trpc = useTRPC();
  const [index, setIndex] = useState(0);
  const [showPose, setShowPose] = useState(true);
  const [size, setSize] = useState<{ width: number; height: number } | null>(null);
  const offset = Math.floor(index / PAGE) * PAGE;
  const page = useQuery({ ...trpc.jobs.frames.queryOptions({ jobId, offset, limit: PAGE }), enabled: offset > 0 });
  const links = offset === 0 ? firstPage : page.data?.frames;
  const link = links?.find((f) => f.index === index);
  const byIndex = useMemo(() => new Map(records?.map((r) => [r.index, r])), [records]);
  const record = byIndex.get(index);
  const posed = record?.keypoints.some((k) => k.score >= MIN_KEYPOINT_SCORE) ?? false;
  const time = record ? ` at ${record.timestampSeconds.toFixed(1)} s` : '';

  return (
    <section aria-labelledby={`${id}-heading`} className="frames">
      <h3 id={`${id}-heading`}>Frames</h3>
      <div className="frame">
        {link ? (
          <img
            src={link.url}
            alt={`Frame ${index + 1} of ${frameCount}${time}${record ? (posed ? ', with the detected pose drawn over the player' : ', no confident pose found') : ''}`}
            onLoad={(e) => setSize({ width: e.currentTarget.naturalWidth, height: e.currentTarget.naturalHeight })}
          />
        ) : (
          <p role="status">Loading frame…</p>
        )}
        {link && showPose && record && size && (
          <SkeletonOverlay keypoints={record.keypoints} width={size.width} height={size.height} />
        )}
      </div>
      <div className="frame-controls">
        <button type="button" className="secondary" onClick={() => setIndex(index - 1)} disabled={index === 0}>
          Previous
        </button>
        <div className="field slider">
          <label htmlFor={`${id}-slider`}>
            Frame {index + 1} of {frameCount}
            {time}
          </label>
          <input
            id={`${id}-slider`}
            type="range"
            min={0}
            max={Math.max(0, frameCount - 1)}
            value={index}
            onChange={(e) => setIndex(Number(e.target.value))}
          />
        </div>
        <button type="button" className="secondary next" onClick={() => setIndex(index + 1)} disabled={index >= frameCount - 1}>
          Next
        </button>
      </div>
      <div className="check">
        <input id={`${id}-pose`} type="checkbox" checked={showPose} onChange={(e) => setShowPose(e.target.checked)} />
        <label htmlFor={`${id}-pose`}>Show the detected pose</label>
      </div>
    </section>
  );
}
