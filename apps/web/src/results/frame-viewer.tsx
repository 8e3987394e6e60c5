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

/**
 * Steps through the sampled frames, with the detected pose drawn over each
 * (when the metrics file has it). A frame's pose is drawn only once that very
 * frame has loaded, never over the previous image. A link that fails (they
 * expire after minutes; S3 then answers 403) is signed again once: the first
 * page through `resignFirstPage` (jobs.get), the others through jobs.frames.
 */
export function FrameViewer({
  jobId,
  frameCount,
  firstPage,
  records,
  resignFirstPage,
}: {
  jobId: string;
  frameCount: number;
  firstPage: readonly FrameLink[];
  records: readonly FrameRecord[] | undefined;
  resignFirstPage: () => Promise<unknown>;
}) {
  const id = useId();
  const trpc = useTRPC();
  const [index, setIndex] = useState(0);
  const [showPose, setShowPose] = useState(true);
  /** The image on screen: its link and size, set when it has loaded. */
  const [loaded, setLoaded] = useState<{ url: string; width: number; height: number } | null>(null);
  /** Links that failed once and were signed again; a fresh link that fails too is reported. */
  const [failedUrls, setFailedUrls] = useState<ReadonlySet<string>>(new Set());
  const [broken, setBroken] = useState<string | null>(null);
  /** Bumped once fresh links arrived: the image is made again, so it is fetched again even if the link reads the same. */
  const [attempt, setAttempt] = useState(0);
  const offset = Math.floor(index / PAGE) * PAGE;
  const page = useQuery({ ...trpc.jobs.frames.queryOptions({ jobId, offset, limit: PAGE }), enabled: offset > 0 });
  const links = offset === 0 ? firstPage : page.data?.frames;
  const link = links?.find((f) => f.index === index);
  const byIndex = useMemo(() => new Map(records?.map((r) => [r.index, r])), [records]);
  const record = byIndex.get(index);
  const posed = record?.keypoints.some((k) => k.score >= MIN_KEYPOINT_SCORE) ?? false;
  const time = record ? ` at ${record.timestampSeconds.toFixed(1)} s` : '';
  const isShown = link !== undefined && loaded?.url === link.url;

  const onFrameError = (url: string) => {
    if (failedUrls.has(url)) return setBroken(url);
    setFailedUrls(new Set([...failedUrls, url]));
    const resigned = offset === 0 ? resignFirstPage() : page.refetch();
    void resigned.finally(() => setAttempt((n) => n + 1));
  };

  return (
    <section aria-labelledby={`${id}-heading`} className="frames">
      <h3 id={`${id}-heading`}>Frames</h3>
      <div className="frame">
        {link ? (
          <img
            key={`${link.url}#${attempt}`}
            src={link.url}
            alt={`Frame ${index + 1} of ${frameCount}${time}${record ? (posed ? ', with the detected pose drawn over the player' : ', no confident pose found') : ''}`}
            data-loaded={isShown}
            onLoad={(e) =>
              setLoaded({ url: link.url, width: e.currentTarget.naturalWidth, height: e.currentTarget.naturalHeight })
            }
            onError={() => onFrameError(link.url)}
          />
        ) : (
          <p role="status">Loading frame…</p>
        )}
        {isShown && showPose && record && (
          <SkeletonOverlay keypoints={record.keypoints} width={loaded.width} height={loaded.height} />
        )}
        {link && !isShown && broken !== link.url && (
          <p role="status" className="frame-loading">
            Loading frame…
          </p>
        )}
      </div>
      {link && broken === link.url && (
        <p role="alert" className="error">
          This frame could not be loaded. Check the connection and reload the page.
        </p>
      )}
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
