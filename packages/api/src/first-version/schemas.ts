import { z } from 'zod';

import { CreateSessionInputSchema, InitiateUploadInputSchema } from '../validation.ts';

// The first version's request bodies, field for field (reference-implementation.md), with the
// rules of today's inputs for each field. Pydantic, which served them, ignored fields it did not
// know, so these objects drop unknown fields rather than refuse them.

/** Ids are free text to the first version: one that is not ours answers "not found", as a missing one did. */
const FirstVersionIdSchema = z.string().max(200);

export const FirstVersionSessionInputSchema = z.object({
  title: CreateSessionInputSchema.shape.title,
  player_ids: CreateSessionInputSchema.shape.playerIds,
});

export const FirstVersionInitiateInputSchema = z.object({
  session_id: FirstVersionIdSchema,
  sample_fps: InitiateUploadInputSchema.shape.sampleFps,
  include_frames: InitiateUploadInputSchema.shape.includeFrames,
  /**
   * Not in the first version, optional: the file's exact size. Given, the URL binds
   * `Content-Length` to it, as every upload through /trpc does; absent, the PUT is bounded only
   * by S3's single-PUT maximum and the object is checked when the upload is completed.
   */
  size_bytes: z.int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
  /** Not in the first version, optional: the Content-Type the PUT will send (`video/mp4` by default, as its curl sends). */
  content_type: InitiateUploadInputSchema.shape.contentType,
});

export const FirstVersionCompleteInputSchema = z.object({ job_id: FirstVersionIdSchema });
