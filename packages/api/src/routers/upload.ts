import type { TRPCRouterRecord } from '@trpc/server';

import { listParts, recordParts, signParts } from '../domain/multipart.ts';
import { abortUpload, completeUpload, initiateUpload } from '../domain/upload/index.ts';
import { uploadProcedure } from '../trpc.ts';
import {
  CompleteUploadInputSchema,
  InitiateUploadInputSchema,
  JobRefInputSchema,
  RecordPartsInputSchema,
  SignPartsInputSchema,
} from '../validation.ts';

export const uploadRouter = {
  /**
   * Creates an analysis job and either a presigned PUT URL or, above the size
   * threshold, a multipart upload; the file goes straight to storage. With a
   * `clientRequestId`, a repeat answers the job the first call created.
   */
  initiate: uploadProcedure
    .meta({ scope: 'uploads:write' })
    .input(InitiateUploadInputSchema)
    .mutation(({ ctx, input }) =>
      initiateUpload(ctx, {
        owner: ctx.owner,
        userId: ctx.user.userId,
        sessionId: input.sessionId,
        sampleFps: input.sampleFps,
        includeFrames: input.includeFrames,
        subjectHint: input.subjectHint,
        contentType: input.contentType,
        sizeBytes: input.sizeBytes,
        clientRequestId: input.clientRequestId,
      }),
    ),
  /** Multipart: short-lived URLs for up to 100 parts; call again for an expired one. */
  signParts: uploadProcedure
    .meta({ scope: 'uploads:write' })
    .input(SignPartsInputSchema)
    .mutation(({ ctx, input }) => signParts(ctx, { owner: ctx.owner, userId: ctx.user.userId, ...input })),
  /** Multipart: records parts stored so far (with the ETags their PUTs returned). */
  recordParts: uploadProcedure
    .meta({ scope: 'uploads:write' })
    .input(RecordPartsInputSchema)
    .mutation(({ ctx, input }) => recordParts(ctx, { owner: ctx.owner, ...input })),
  /** Multipart: the plan and the parts already stored, to resume from anywhere. */
  listParts: uploadProcedure
    .meta({ scope: 'uploads:write' })
    .input(JobRefInputSchema)
    .query(({ ctx, input }) => listParts(ctx, { owner: ctx.owner, jobId: input.jobId })),
  /** Verifies the stored object (assembling the parts first for multipart) and queues the job; idempotent. */
  complete: uploadProcedure
    .meta({ scope: 'uploads:write' })
    .input(CompleteUploadInputSchema)
    .mutation(({ ctx, input }) => completeUpload(ctx, { owner: ctx.owner, jobId: input.jobId, parts: input.parts })),
  /** Cancels an unfinished upload and discards what reached storage. */
  abort: uploadProcedure
    .meta({ scope: 'uploads:write' })
    .input(JobRefInputSchema)
    .mutation(({ ctx, input }) => abortUpload(ctx, { owner: ctx.owner, jobId: input.jobId })),
} satisfies TRPCRouterRecord;
