// Messages between the pool (main thread) and its pose workers.
import type { RgbFrame } from './frame.ts';
import type { CropRegion, Pose } from './keypoints.ts';
import type { MoveNetModelName } from './models.ts';

export interface WorkerInit {
  model: MoveNetModelName;
}

export type ToWorker =
  | {
      type: 'estimate';
      jobId: number;
      frames: RgbFrame[];
      /** Where to look in the first frame (tracking carried over); null for the whole frame. */
      startRegion: CropRegion | null;
    }
  | { type: 'close' };

export type FromWorker =
  { type: 'ready' } | { type: 'result'; jobId: number; poses: Pose[] } | { type: 'error'; jobId: number; message: string };
