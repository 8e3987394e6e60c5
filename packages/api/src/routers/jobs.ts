import type { TRPCRouterRecord } from '@trpc/server';

import { deleteJob } from '../domain/deletion.ts';
import { getJobDetails, listFrames, listJobs, signVideoUrl } from '../domain/jobs.ts';
import { openJobWatch } from '../domain/watch-job.ts';
import {
  FramePageOutputSchema,
  JobDeletionOutputSchema,
  JobDetailsOutputSchema,
  JobPageOutputSchema,
  VideoUrlOutputSchema,
} from '../outputs.ts';
import { restRoute } from '../rest-meta.ts';
import { protectedProcedure } from '../trpc.ts';
import { JobRefInputSchema, ListFramesInputSchema, ListJobsInputSchema, WatchJobInputSchema } from '../validation.ts';

const tags = ['jobs'];
const jobNotFound = { 404: 'JOB_NOT_FOUND: no such job of yours (also for another owner’s job)' };

export const jobsRouter = {
  /** Job state; once completed, with short-lived links to the stored metrics and frames. */
  get: protectedProcedure
    .meta({ scope: 'jobs:read' })
    .meta(
      restRoute('GET', '/jobs/{jobId}', {
        summary: 'A job’s state; once completed, its summary and signed links to its metrics and first frames',
        tags,
        errors: jobNotFound,
      }),
    )
    .input(JobRefInputSchema)
    .output(JobDetailsOutputSchema)
    .query(({ ctx, input }) =>
      getJobDetails(ctx, { owner: ctx.owner, userId: ctx.user.userId, actor: ctx.actor, jobId: input.jobId }),
    ),
  /** Signed links to a completed job's stored frames, a page at a time. */
  frames: protectedProcedure
    .meta({ scope: 'jobs:read' })
    .meta(
      restRoute('GET', '/jobs/{jobId}/frames', {
        summary: 'Signed links to a completed job’s frames, a page at a time',
        tags,
        errors: jobNotFound,
      }),
    )
    .input(ListFramesInputSchema)
    .output(FramePageOutputSchema)
    .query(({ ctx, input }) => listFrames(ctx, { owner: ctx.owner, userId: ctx.user.userId, actor: ctx.actor, ...input })),
  /** A short-lived link to the original video (to play it beside the pose), once its upload landed. */
  videoUrl: protectedProcedure
    .meta({ scope: 'jobs:read' })
    .meta(
      restRoute('GET', '/jobs/{jobId}/video-url', {
        summary: 'A signed link to the original video, once its upload landed',
        tags,
        errors: { ...jobNotFound, 412: 'VIDEO_NOT_AVAILABLE: the upload has not landed, or was refused, cancelled or expired' },
      }),
    )
    .input(JobRefInputSchema)
    .output(VideoUrlOutputSchema)
    .query(({ ctx, input }) =>
      signVideoUrl(ctx, { owner: ctx.owner, userId: ctx.user.userId, actor: ctx.actor, jobId: input.jobId }),
    ),
  /**
   * Deletes one video: the original, its frames and metrics.json (emptied from storage shortly
   * after by the worker; an analysis in progress stops), then JOB_NOT_FOUND everywhere.
   */
  delete: protectedProcedure
    .meta({ scope: 'uploads:write' })
    .meta(
      restRoute('POST', '/jobs/{jobId}/delete', {
        summary: 'Delete a video: its original, frames, metrics and result (a repeat answers JOB_NOT_FOUND)',
        tags,
        errors: jobNotFound,
      }),
    )
    .input(JobRefInputSchema)
    .output(JobDeletionOutputSchema)
    .mutation(({ ctx, input }) =>
      deleteJob(ctx.db, { owner: ctx.owner, userId: ctx.user.userId, actor: ctx.actor, jobId: input.jobId }),
    ),
  list: protectedProcedure
    .meta({ scope: 'jobs:read' })
    .meta(
      restRoute('GET', '/sessions/{sessionId}/jobs', {
        summary: 'A session’s jobs, newest first, a page at a time',
        tags,
        errors: {
          400: 'INVALID_INPUT (with fieldErrors), INVALID_CURSOR',
          404: 'SESSION_NOT_FOUND: no such session of yours',
        },
      }),
    )
    .input(ListJobsInputSchema)
    .output(JobPageOutputSchema)
    .query(({ ctx, input }) =>
      listJobs(ctx, { owner: ctx.owner, sessionId: input.sessionId, limit: input.limit, cursor: input.cursor }),
    ),
  /**
   * Live status over SSE until the job is terminal. Reconnecting clients pass
   * the last event id (tRPC's httpSubscriptionLink does) and resume from there.
   * Refusals (too many streams, a foreign job) come before the stream opens, so
   * they carry their own code; the stream ends when the token expires.
   * No REST route: see `REST_EXCLUSIONS` (`rest-meta.ts`).
   */
  watch: protectedProcedure
    .meta({ scope: 'jobs:read' })
    .input(WatchJobInputSchema)
    .subscription(({ ctx, input, signal }) =>
      openJobWatch(ctx, { user: ctx.user, owner: ctx.owner, jobId: input.jobId, lastEventId: input.lastEventId, signal }),
    ),
} satisfies TRPCRouterRecord;
