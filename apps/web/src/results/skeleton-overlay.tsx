import { useEffect, useRef, useState } from 'react';

import type { Keypoint } from './metrics-file.ts';
import { drawSkeleton } from './skeleton.ts';

/**
 * A canvas laid over a frame, in the frame's own pixel size (the keypoints'
 * coordinate space), scaled with it by CSS. Decorative for screen readers:
 * the frame's alt text says whether a pose was found.
 */
export function SkeletonOverlay({ keypoints, width, height }: { keypoints: readonly Keypoint[]; width: number; height: number }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const [drawn, setDrawn] = useState(0);

  useEffect(() => {
    const ctx = canvas.current?.getContext('2d');
    if (!ctx) return;
    ctx.clearRect(0, 0, width, height);
    // Lines about as thick on a small frame as on a large one.
    setDrawn(drawSkeleton(ctx, keypoints, Math.max(1, width / 640)));
  }, [keypoints, width, height]);

  return <canvas ref={canvas} width={width} height={height} className="skeleton" aria-hidden="true" data-keypoints={drawn} />;
}
