import type { TRPCRouterRecord } from '@trpc/server';

import { listParts, recordParts, signParts } from '../domain/multipart.ts';
import { abortUpload, completeUpload, initiateUpload } from '../domain/upload/index.ts';
import {
  AbortedUploadOutputSchema,
  CompletedUploadOutputSchema,
  InitiatedUploadOutputSchema,
  SignedPartsOutputSchema,
  UploadProgressOutputSchema,
} from '../outputs.ts';
import { restRoute } from '../rest-meta.ts';
import { uploadProcedure } from '../trpc.ts';
import {
  CompleteUploadInputSchema,
  InitiateUploadInputSchema,
  JobRefInputSchema,
  RecordPartsInputSchema,
  SignPartsInputSchema,
} from '../validation.ts';

const tags = ['uploads'];
const jobNotFound = { 404: 'JOB_NOT_FOUND: no such upload of yours (also for another owner’s)' };
/** The part routes, for an upload that has no parts or a part number outside its plan. */
const badPart = { 400: 'INVALID_INPUT (with fieldErrors), NOT_MULTIPART, INVALID_PART_NUMBER' };
/** An upload that can no longer take parts or be completed. */
const closed = {
  412: 'UPLOAD_EXPIRED, UPLOAD_ABORTED, UPLOAD_CLOSED: the upload is no longer open (UPLOAD_EXPIRED: its deadline passed)',
};

export const uploadRouter = {
  /**
   * Creates an analysis job and either a presigned PUT URL or, above the size
   * threshold, a multipart upload; the file goes straight to storage. With a
   * `clientRequestId`, a repeat answers the job the first call created.
   */
  initiate: uploadProcedure
    .meta({ scope: 'uploads:write' })
    .input(InitiateUploadInputSchema)
    .meta(
      restRoute('POST', '/uploads', {
        summary: 'Start an upload: a presigned PUT URL, or above the multipart threshold a part plan',
        tags,
        errors: {
          404: 'SESSION_NOT_FOUND',
          409: 'IDEMPOTENCY_KEY_REUSED: this clientRequestId started an upload with other inputs',
          412: 'UPLOAD_EXPIRED, UPLOAD_CLOSED: a repeated clientRequestId whose upload is no longer open',
          413: 'FILE_TOO_LARGE',
          429: 'TOO_MANY_REQUESTS, TOO_MANY_OPEN_UPLOADS (with Retry-After)',
        },
      }),
    )
    .output(InitiatedUploadOutputSchema)
    .mutation(({ ctx, input }) =>
      initiateUpload(ctx, {
        owner: ctx.owner,
        userId: ctx.user.userId,
        actor: ctx.actor,
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
    .meta(
      restRoute('POST', '/uploads/{jobId}/part-urls', {
        summary: 'Multipart: sign PUT URLs for up to 100 parts (again for an expired one)',
        tags,
        errors: { ...badPart, ...jobNotFound, ...closed },
      }),
    )
    .input(SignPartsInputSchema)
    .output(SignedPartsOutputSchema)
    .mutation(({ ctx, input }) => signParts(ctx, { owner: ctx.owner, userId: ctx.user.userId, ...input })),
  /** Multipart: records parts stored so far (with the ETags their PUTs returned). */
  recordParts: uploadProcedure
    .meta({ scope: 'uploads:write' })
    .meta(
      restRoute('POST', '/uploads/{jobId}/parts', {
        summary: 'Multipart: record stored parts with the ETags their PUTs returned',
        tags,
        errors: { ...badPart, ...jobNotFound, ...closed },
      }),
    )
    .input(RecordPartsInputSchema)
    .output(UploadProgressOutputSchema)
    .mutation(({ ctx, input }) => recordParts(ctx, { owner: ctx.owner, ...input })),
  /** Multipart: the plan and the parts already stored, to resume from anywhere. */
  listParts: uploadProcedure
    .meta({ scope: 'uploads:write' })
    .meta(
      restRoute('GET', '/uploads/{jobId}/parts', {
        summary: 'Multipart: the plan and the parts recorded so far, to resume after a restart or on another device',
        tags,
        errors: { ...badPart, ...jobNotFound, ...closed },
      }),
    )
    .input(JobRefInputSchema)
    .output(UploadProgressOutputSchema)
    .query(({ ctx, input }) => listParts(ctx, { owner: ctx.owner, jobId: input.jobId })),
  /** Verifies the stored object (assembling the parts first for multipart) and queues the job; idempotent. */
  complete: uploadProcedure
    .meta({ scope: 'uploads:write' })
    .meta(
      restRoute('POST', '/uploads/{jobId}/complete', {
        summary: 'Verify the stored file (assembling its parts) and queue the analysis; safe to repeat',
        tags,
        errors: {
          ...badPart,
          ...jobNotFound,
          412: 'UPLOAD_NOT_FOUND, UPLOAD_INCOMPLETE, UPLOAD_PARTS_INVALID, UPLOAD_EXPIRED, UPLOAD_ABORTED, UPLOAD_CLOSED',
          422: 'UPLOAD_REJECTED: the stored file is not as declared; the job is rejected',
        },
      }),
    )
    .input(CompleteUploadInputSchema)
    .output(CompletedUploadOutputSchema)
    .mutation(({ ctx, input }) =>
      completeUpload(ctx, { owner: ctx.owner, actor: ctx.actor, jobId: input.jobId, parts: input.parts }),
    ),
  /** Cancels an unfinished upload and discards what reached storage. */
  abort: uploadProcedure
    .meta({ scope: 'uploads:write' })
    .meta(
      restRoute('POST', '/uploads/{jobId}/abort', {
        summary: 'Cancel an unfinished upload and discard what reached storage',
        tags,
        errors: { ...jobNotFound, 412: 'UPLOAD_CLOSED: the upload already completed' },
      }),
    )
    .input(JobRefInputSchema)
    .output(AbortedUploadOutputSchema)
    .mutation(({ ctx, input }) => abortUpload(ctx, { owner: ctx.owner, actor: ctx.actor, jobId: input.jobId })),
} satisfies TRPCRouterRecord;
