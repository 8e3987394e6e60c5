import type { TRPCRouterRecord } from '@trpc/server';

import { getJob, listJobs } from '../domain/jobs.ts';
import { protectedProcedure } from '../trpc.ts';
import { JobRefInputSchema, ListJobsInputSchema } from '../validation.ts';

export const jobsRouter = {
  get: protectedProcedure
    .input(JobRefInputSchema)
    .query(({ ctx, input }) => getJob(ctx.db, { owner: ctx.owner, jobId: input.jobId })),
  list: protectedProcedure.input(ListJobsInputSchema).query(({ ctx, input }) =>
    listJobs(ctx.db, { owner: ctx.owner, sessionId: input.sessionId, limit: input.limit, cursor: input.cursor }),
  ),
} satisfies TRPCRouterRecord;
