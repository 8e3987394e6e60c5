import type { TRPCRouterRecord } from '@trpc/server';

import { getJobDetails, listFrames, listJobs, signVideoUrl } from '../domain/jobs.ts';
import { openJobWatch } from '../domain/watch-job.ts';
import { protectedProcedure } from '../trpc.ts';
import { JobRefInputSchema, ListFramesInputSchema, ListJobsInputSchema, WatchJobInputSchema } from '../validation.ts';

export const jobsRouter = {
  /** Job state; once completed, with short-lived links to the stored metrics and frames. */
  get: protectedProcedure
    .meta({ scope: 'jobs:read' })
    .input(JobRefInputSchema)
    .query(({ ctx, input }) => getJobDetails(ctx, { owner: ctx.owner, userId: ctx.user.userId, jobId: input.jobId })),
  /** Signed links to a completed job's stored frames, a page at a time. */
  frames: protectedProcedure
    .meta({ scope: 'jobs:read' })
    .input(ListFramesInputSchema)
    .query(({ ctx, input }) => listFrames(ctx, { owner: ctx.owner, userId: ctx.user.userId, ...input })),
  /** A short-lived link to the original video (to play it beside the pose), once its upload landed. */
  videoUrl: protectedProcedure
    .meta({ scope: 'jobs:read' })
    .input(JobRefInputSchema)
    .query(({ ctx, input }) => signVideoUrl(ctx, { owner: ctx.owner, userId: ctx.user.userId, jobId: input.jobId })),
  list: protectedProcedure
    .meta({ scope: 'jobs:read' })
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
    .meta({ scope: 'jobs:read' })
    .input(WatchJobInputSchema)
    .subscription(({ ctx, input, signal }) =>
      openJobWatch(ctx, { user: ctx.user, owner: ctx.owner, jobId: input.jobId, lastEventId: input.lastEventId, signal }),
    ),
} satisfies TRPCRouterRecord;
