import type { TRPCRouterRecord } from '@trpc/server';

import type { JobStatus } from '@coach/db';

import { jobNotFound } from '../domain/jobs.ts';
import { createSession, sessionNotFound } from '../domain/sessions.ts';
import { completeUpload, initiateUpload } from '../domain/upload/index.ts';
import { createCallerFactory, protectedProcedure, router, uploadProcedure } from '../trpc.ts';
import { IdSchema } from '../validation.ts';
import { FirstVersionFieldRequired } from './error-answer.ts';
import { FirstVersionCompleteInputSchema, FirstVersionInitiateInputSchema, FirstVersionSessionInputSchema } from './schemas.ts';

/** The first version's `message` once the job is queued, word for word. */
const QUEUED_MESSAGE = 'Video uploaded and queued for analysis';

/**
 * The first version's job states were `queued` (waiting for the file) → `processing` (uploaded and
 * handed to analysis) → `completed` or `failed`. A job `upload.complete` has queued is, in its words,
 * `processing`.
 */
function firstVersionStatus(status: JobStatus): string {
  return status === 'queued' ? 'processing' : status;
}

/**
 * The first version's three calls (sessions, initiate, complete) in its snake_case, run by the same
 * procedures' middlewares (sign-in, role, plan, allowances, outage mapping) and the same domain
 * functions as `/trpc`. Not part of `AppRouter`: the server calls it through
 * `createFirstVersionCaller` from its routes at the first version's paths.
 */
export const firstVersionRouter = router({
  firstVersion: {
    sessions: {
      create: protectedProcedure
        .meta({ scope: 'sessions:write' })
        .input(FirstVersionSessionInputSchema)
        .mutation(async ({ ctx, input }) => {
          const session = await createSession(ctx.db, {
            owner: ctx.owner,
            userId: ctx.user.userId,
            actor: ctx.actor,
            title: input.title,
            playerIds: input.player_ids,
          });
          return {
            session_id: session.sessionId,
            owner_type: session.ownerType,
            owner_id: session.ownerId,
            title: session.title,
            player_ids: session.playerIds,
            created_by: session.createdBy,
            created_at: session.createdAt,
          };
        }),
    },
    upload: {
      initiate: uploadProcedure
        .meta({ scope: 'uploads:write' })
        .input(FirstVersionInitiateInputSchema)
        .mutation(async ({ ctx, input }) => {
          if (input.size_bytes === undefined && ctx.config.firstVersionUnsizedUploads === false) {
            throw new FirstVersionFieldRequired(
              'size_bytes',
              "Field required: the file's exact size in bytes, which this server binds its upload URL to",
            );
          }
          const sessionId = IdSchema.safeParse(input.session_id);
          if (!sessionId.success) throw sessionNotFound();
          const upload = await initiateUpload(ctx, {
            owner: ctx.owner,
            userId: ctx.user.userId,
            actor: ctx.actor,
            sessionId: sessionId.data,
            sampleFps: input.sample_fps,
            includeFrames: input.include_frames,
            contentType: input.content_type,
            sizeBytes: input.size_bytes ?? null,
            putStyle: 'first-version',
          });
          // A first-version upload is always one PUT (see `putStyle`).
          if (upload.presignedUrl === null) throw new Error('a first-version upload was planned in parts');
          return {
            job_id: upload.jobId,
            session_id: upload.sessionId,
            presigned_url: upload.presignedUrl,
            expires_in: upload.expiresIn,
            s3_bucket: upload.s3Bucket,
            s3_key: upload.s3Key,
          };
        }),
      complete: uploadProcedure
        .meta({ scope: 'uploads:write' })
        .input(FirstVersionCompleteInputSchema)
        .mutation(async ({ ctx, input }) => {
          const jobId = IdSchema.safeParse(input.job_id);
          if (!jobId.success) throw jobNotFound();
          const done = await completeUpload(ctx, { owner: ctx.owner, actor: ctx.actor, jobId: jobId.data });
          return {
            job_id: done.jobId,
            status: firstVersionStatus(done.status),
            sqs_message_id: done.sqsMessageId,
            message: done.sqsMessageId === null ? done.message : QUEUED_MESSAGE,
          };
        }),
    },
  } satisfies TRPCRouterRecord,
});

export const createFirstVersionCaller = createCallerFactory(firstVersionRouter);
export type FirstVersionCaller = ReturnType<typeof createFirstVersionCaller>;
