import type { TRPCRouterRecord } from '@trpc/server';

import { deleteJob } from '../domain/deletion.ts';
import { getJobDetails, listFrames, listJobs, signVideoUrl } from '../domain/jobs.ts';
import { openJobWatch } from '../domain/watch-job.ts';
import { protectedProcedure } from '../trpc.ts';
import { JobRefInputSchema, ListFramesInputSchema, ListJobsInputSchema, WatchJobInputSchema } from '../validation.ts';

export const jobsRouter = {
  /** Job state; once completed, with short-lived links to the stored metrics and frames. */
  get: protectedProcedure
    .input(JobRefInputSchema)
    .query(({ ctx, input }) => getJobDetails(ctx, { owner: ctx.owner, userId: ctx.user.userId, jobId: input.jobId })),
  /** Signed links to a completed job's stored frames, a page at a time. */
  frames: protectedProcedure
    .input(ListFramesInputSchema)
    .query(({ ctx, input }) => listFrames(ctx, { owner: ctx.owner, userId: ctx.user.userId, ...input })),
  /** A short-lived link to the original video (to play it beside the pose), once its upload landed. */
  videoUrl: protectedProcedure
    .input(JobRefInputSchema)
    .query(({ ctx, input }) => signVideoUrl(ctx, { owner: ctx.owner, userId: ctx.user.userId, jobId: input.jobId })),
  /**
   * Deletes one video: the original, its frames and metrics.json (emptied from storage shortly
   * after by the worker; an analysis in progress stops), then JOB_NOT_FOUND everywhere.
   */
  delete: protectedProcedure
    .input(JobRefInputSchema)
    .mutation(({ ctx, input }) => deleteJob(ctx.db, { owner: ctx.owner, userId: ctx.user.userId, jobId: input.jobId })),
  list: protectedProcedure
    .input(ListJobsInputSchema)
    .query(({ ctx, input }) =>
      listJobs(ctx, { owner: ctx.owner, sessionId: input.sessionId, limit: input.limit, cursor: input.cursor }),
    ),
  /**
   * Live status over SSE until the job is terminal. Reconnecting clients pass
   * the last event id (tRPC's httpSubscriptionLink does) and resume from there.
   * Refusals (too many streams, a foreign job) come before the stream opens, so
   * they carry their own code; the stream ends when the token expires.
   */
  watch: protectedProcedure
    .input(WatchJobInputSchema)
    .subscription(({ ctx, input, signal }) =>
      openJobWatch(ctx, { user: ctx.user, owner: ctx.owner, jobId: input.jobId, lastEventId: input.lastEventId, signal }),
    ),
} satisfies TRPCRouterRecord;
