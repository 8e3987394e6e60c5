import { useQuery } from '@tanstack/react-query';
import { useCallback, useEffect, useId, useImperativeHandle, useMemo, useRef, useState, type Ref } from 'react';

import { errorCodeOf } from '@coach/client';

import { useTRPC } from '../api/trpc.tsx';
import type { FrameRecord } from '../results/metrics-file.ts';
import { drawSkeleton } from '../results/skeleton.ts';
import { analysedFrameSize, PoseTimeline } from './pose-timeline.ts';

/** What a page can do to a player from outside it (a chart seeks it; compare plays both). */
export interface PosePlayerHandle {
  /** Pauses at `seconds`, so the coach sees that moment with its pose. */
  seekTo: (seconds: number) => void;
  play: () => Promise<void>;
  pause: () => void;
}

/** Slow motion for judging technique; 1× to watch the whole movement. */
const SPEEDS = [1, 0.5, 0.25] as const;

/**
 * The original video with the detected pose drawn over it in sync: each
 * presented frame shows the analysed sample nearest its time (keyed by the
 * samples' `timestampSeconds` in metrics.json). Slow motion, stepping from one
 * analysed frame to the next, and a time slider, all from the keyboard too.
 * The video's link is signed on demand (`jobs.videoUrl`) and signed again
 * once when it fails (it lives only minutes), resuming where it was.
 */
export function PosePlayer({
  jobId,
  title,
  records,
  sampleFps,
  ref,
}: {
  jobId: string;
  title: string;
  records: readonly FrameRecord[] | undefined;
  sampleFps: number;
  ref?: Ref<PosePlayerHandle>;
}) {
  const id = useId();
  const trpc = useTRPC();
  const link = useQuery({ ...trpc.jobs.videoUrl.queryOptions({ jobId }), staleTime: 60_000, refetchOnMount: false });
  const video = useRef<HTMLVideoElement>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const timeline = useMemo(() => new PoseTimeline(records ?? [], sampleFps), [records, sampleFps]);
  const [size, setSize] = useState<{ width: number; height: number } | null>(null);
  const [playing, setPlaying] = useState(false);
  const [speed, setSpeed] = useState<number>(1);
  const [time, setTime] = useState(0);
  const [duration, setDuration] = useState(0);
  const [showPose, setShowPose] = useState(true);
  const [failure, setFailure] = useState<string | null>(null);
  /** The link that failed and was signed again, and where playback was: a second failure of a fresh link is reported. */
  const retried = useRef<{ url: string; at: number } | null>(null);
  /** Bumped once a fresh link arrived: the video element is made again, so it loads again even if the link reads the same. */
  const [attempt, setAttempt] = useState(0);

  const draw = useCallback(
    (seconds: number) => {
      const ctx = canvas.current?.getContext('2d');
      if (!ctx || !canvas.current) return;
      ctx.clearRect(0, 0, canvas.current.width, canvas.current.height);
      const position = showPose ? timeline.nearest(seconds) : -1;
      const record = timeline.at(position);
      const drawn = record ? drawSkeleton(ctx, record.keypoints, Math.max(1, canvas.current.width / 640)) : 0;
      canvas.current.dataset.keypoints = String(drawn);
      canvas.current.dataset.poseTime = record ? String(record.timestampSeconds) : '';
      canvas.current.dataset.mediaTime = String(seconds);
    },
    [showPose, timeline],
  );

  // Every presented frame (playing, seeking, stepping) redraws the pose for its own time.
  useEffect(() => {
    const element = video.current;
    if (!element || !size) return;
    let handle = 0;
    const onFrame = (_now: number, frame: VideoFrameCallbackMetadata) => {
      draw(frame.mediaTime);
      handle = element.requestVideoFrameCallback(onFrame);
    };
    handle = element.requestVideoFrameCallback(onFrame);
    // A seek, and a pause between two presented frames, show the pose for where the video now stands.
    const onStill = () => draw(element.currentTime);
    element.addEventListener('seeked', onStill);
    element.addEventListener('pause', onStill);
    draw(element.currentTime);
    return () => {
      element.cancelVideoFrameCallback(handle);
      element.removeEventListener('seeked', onStill);
      element.removeEventListener('pause', onStill);
    };
  }, [draw, size]);

  useImperativeHandle(
    ref,
    () => ({
      seekTo: (seconds) => {
        const element = video.current;
        if (!element) return;
        element.pause();
        element.currentTime = seconds;
      },
      play: async () => {
        await video.current?.play();
      },
      pause: () => video.current?.pause(),
    }),
    [],
  );

  const onLoadedMetadata = () => {
    const element = video.current;
    if (!element) return;
    setSize(analysedFrameSize(element.videoWidth, element.videoHeight));
    setDuration(element.duration);
    element.playbackRate = speed;
    if (retried.current) element.currentTime = retried.current.at;
  };

  const onVideoError = () => {
    const element = video.current;
    const url = link.data?.url;
    if (!element || !url) return;
    if (retried.current?.url === url) {
      setFailure('The video could not be loaded. Check the connection and reload the page.');
      return;
    }
    // Most likely the link expired (S3 answers 403): sign a fresh one and carry on from here.
    retried.current = { url, at: element.currentTime };
    void link.refetch().finally(() => setAttempt((n) => n + 1));
  };

  const changeSpeed = (next: number) => {
    setSpeed(next);
    if (video.current) video.current.playbackRate = next;
  };

  const step = (direction: 1 | -1) => {
    const element = video.current;
    if (!element) return;
    element.pause();
    const target = timeline.step(element.currentTime, direction);
    const next = target ? target.timestampSeconds : element.currentTime + direction / sampleFps;
    element.currentTime = Math.min(Math.max(0, next), element.duration || next);
  };

  const position = timeline.nearest(time);
  const frameText = position >= 0 ? ` · pose of sample ${position + 1} of ${timeline.length}` : '';

  if (link.error && errorCodeOf(link.error) === 'ORIGINAL_REMOVED') {
    return (
      <p role="status" className="hint" data-testid="video-removed">
        {title}: the original was removed under your retention policy, so it cannot be played; its analysis is kept.
      </p>
    );
  }
  if (link.error) {
    return (
      <p role="alert" className="error">
        {title} cannot be played: {link.error.message}
      </p>
    );
  }
  return (
    <section className="player" aria-label={`${title}: video with the pose`}>
      <div className="player-stage">
        {link.data ? (
          <video
            key={`${link.data.url}#${attempt}`}
            ref={video}
            src={link.data.url}
            muted
            playsInline
            preload="auto"
            aria-label={`${title}, with the detected pose drawn over the player`}
            onLoadedMetadata={onLoadedMetadata}
            onError={onVideoError}
            onPlay={() => setPlaying(true)}
            onPause={() => setPlaying(false)}
            onEnded={() => setPlaying(false)}
            onTimeUpdate={(e) => setTime(e.currentTarget.currentTime)}
            onSeeked={(e) => setTime(e.currentTarget.currentTime)}
          />
        ) : (
          <p role="status">Loading the video…</p>
        )}
        {size && <canvas ref={canvas} width={size.width} height={size.height} className="pose-overlay" aria-hidden="true" />}
      </div>
      {failure && (
        <p role="alert" className="error">
          {failure}
        </p>
      )}
      <div className="player-controls">
        <button type="button" onClick={() => (playing ? video.current?.pause() : void video.current?.play())} disabled={!size}>
          {playing ? 'Pause' : 'Play'}
        </button>
        <button type="button" className="secondary" onClick={() => step(-1)} disabled={!size}>
          Previous frame
        </button>
        <button type="button" className="secondary" onClick={() => step(1)} disabled={!size}>
          Next frame
        </button>
        <div className="field inline">
          <label htmlFor={`${id}-speed`}>Speed</label>
          <select id={`${id}-speed`} value={speed} onChange={(e) => changeSpeed(Number(e.target.value))}>
            {SPEEDS.map((s) => (
              <option key={s} value={s}>
                {s}×
              </option>
            ))}
          </select>
        </div>
        <div className="check">
          <input id={`${id}-pose`} type="checkbox" checked={showPose} onChange={(e) => setShowPose(e.target.checked)} />
          <label htmlFor={`${id}-pose`}>Show the pose</label>
        </div>
      </div>
      <div className="field slider">
        <label htmlFor={`${id}-time`} data-testid="player-time">
          {time.toFixed(2)} s of {duration.toFixed(2)} s{frameText}
        </label>
        <input
          id={`${id}-time`}
          type="range"
          min={0}
          max={duration || 0}
          step={1 / sampleFps}
          value={time}
          disabled={!size}
          onChange={(e) => {
            if (video.current) video.current.currentTime = Number(e.target.value);
          }}
        />
      </div>
    </section>
  );
}
