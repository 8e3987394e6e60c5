import type { TRPCRouterRecord } from '@trpc/server';

import { completeUpload, initiateUpload } from '../domain/upload.ts';
import { uploadProcedure } from '../trpc.ts';
import { InitiateUploadInputSchema, JobRefInputSchema } from '../validation.ts';

export const uploadRouter = {
  /** Creates an analysis job and a presigned PUT URL; the file goes straight to storage. */
  initiate: uploadProcedure.input(InitiateUploadInputSchema).mutation(({ ctx, input }) =>
    initiateUpload(ctx, {
      owner: ctx.owner,
      userId: ctx.user.userId,
      sessionId: input.sessionId,
      sampleFps: input.sampleFps,
      includeFrames: input.includeFrames,
      contentType: input.contentType,
      sizeBytes: input.sizeBytes,
    }),
  ),
  /** Verifies the stored object and queues the job; idempotent. */
  complete: uploadProcedure
    .input(JobRefInputSchema)
    .mutation(({ ctx, input }) => completeUpload(ctx, { owner: ctx.owner, jobId: input.jobId })),
} satisfies TRPCRouterRecord;
