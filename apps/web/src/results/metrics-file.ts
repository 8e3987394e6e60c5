import { useQuery } from '@tanstack/react-query';

/** One body keypoint, in the stored frame's pixels (y grows downward). */
export interface Keypoint {
  name: string;
  x: number;
  y: number;
  /** The model's confidence, 0..1. */
  score: number;
}

/** A measurement of one frame: `value` is null when it could not be measured (`reason` says why). */
export interface Measurement {
  value: unknown;
  confidence: number;
  reason: string | null;
}

export interface FrameRecord {
  index: number;
  timestampSeconds: number;
  poseScore: number;
  keypoints: Keypoint[];
  /** Version 2: whether the pose is the analysed player, someone else, or nobody confidently in view. */
  subject?: 'subject' | 'other' | 'lost';
  /** Version 2: null in frames that are not the player's (they are not measured). */
  metrics: Record<string, Measurement | number | boolean> | null;
}

/** `analysis/metrics.json`, written by the worker next to the frames: the per-frame data behind the summary. */
export interface MetricsFile {
  schemaVersion: 1 | 2;
  sampleFps: number;
  frames: FrameRecord[];
}

/** A frame's numeric metric (`leftKneeAngle`, `stanceWidth`, …), or null when it was not measured. */
export function metricValue(frame: FrameRecord, name: string): number | null {
  const measurement = frame.metrics?.[name];
  return typeof measurement === 'object' && typeof measurement.value === 'number' ? measurement.value : null;
}

/**
 * Downloads and checks a job's metrics file through its short-lived signed
 * link. A link storage refuses (403: it expired, as S3 says after its few
 * minutes) is signed again once through `resign`.
 */
export function useMetricsFile(jobId: string, url: string | undefined, resign: () => Promise<string | undefined>) {
  return useQuery({
    queryKey: ['metrics-file', jobId],
    enabled: url !== undefined,
    // A completed job's analysis never changes.
    staleTime: Infinity,
    queryFn: async () => {
      let response = await fetch(url ?? '');
      const fresh = response.status === 403 ? await resign() : undefined;
      if (fresh) response = await fetch(fresh);
      if (!response.ok) throw new Error(`The metrics file could not be downloaded (HTTP ${response.status}).`);
      return parseMetricsFile(await response.json());
    },
  });
}

function parseMetricsFile(json: unknown): MetricsFile {
  if (typeof json !== 'object' || json === null) throw new Error('The metrics file is not a JSON object.');
  const file = json as Partial<MetricsFile>;
  if ((file.schemaVersion !== 1 && file.schemaVersion !== 2) || !Array.isArray(file.frames)) {
    throw new Error('The metrics file has a format this page does not know (schemaVersion 1 or 2 expected).');
  }
  return file as MetricsFile;
}
