// Messages between the pool (main thread) and its pose workers.
import type { RgbFrame } from './frame.ts';
import type { Pose } from './keypoints.ts';
import type { MoveNetModelName } from './models.ts';

export interface WorkerInit {
  model: MoveNetModelName;
}

export type ToWorker =
  | {
      type: 'estimate';
      jobId: number;
      frames: RgbFrame[];
      /** Estimated first and discarded, to seed tracking (the frame before this segment). */
      primer: RgbFrame | null;
    }
  | { type: 'close' };

export type FromWorker =
  { type: 'ready' } | { type: 'result'; jobId: number; poses: Pose[] } | { type: 'error'; jobId: number; message: string };
