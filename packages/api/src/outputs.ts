import { z } from 'zod';

import { AUDIT_ACTIONS, JOB_STATUSES } from '@coach/db';
import { AnalysisResultSchema, JOB_FAILURE_CODES, type JobFailureCode } from '@coach/jobs';

import type { AuditEventView } from './domain/audit.ts';
import type { DeletedJob, ErasureReport } from './domain/deletion.ts';
import { APP_ERROR_CODES, type AppErrorCode } from './domain/errors.ts';
import type { JobDetails, JobView } from './domain/jobs.ts';
import type { SignedPart, UploadProgress } from './domain/multipart.ts';
import type { RetentionView } from './domain/retention.ts';
import type { ServiceKeyView } from './domain/service-keys.ts';
import type { SessionView } from './domain/sessions.ts';
import type { StorageUsageView } from './domain/storage-usage.ts';
import type { CompletedUpload, InitiatedUpload } from './domain/upload/index.ts';

/**
 * What each procedure answers, as zod schemas: the OpenAPI document's response
 * schemas and tRPC's output check of the same procedures. Every schema lists
 * exactly the keys its domain type has (`SameKeys` below refuses a key missed
 * on either side), since an object schema drops keys it does not name.
 */

const isoDateTime = z.string().meta({ format: 'date-time' });
const JobStatusSchema = z.enum(JOB_STATUSES);
const JobFailureCodeSchema = z.enum(JOB_FAILURE_CODES as [JobFailureCode, ...JobFailureCode[]]);

const pageOf = <TItem extends z.ZodType>(item: TItem) =>
  z.object({
    items: z.array(item),
    /** Pass as `cursor` for the next page; null on the last. */
    nextCursor: z.string().nullable(),
  });

export const SessionOutputSchema = z
  .object({
    sessionId: z.string(),
    ownerType: z.enum(['coach', 'org']),
    ownerId: z.string(),
    title: z.string(),
    playerIds: z.array(z.string()),
    createdBy: z.string(),
    createdAt: isoDateTime,
  })
  .meta({ id: 'Session' });

export const SessionPageOutputSchema = pageOf(SessionOutputSchema).meta({ id: 'SessionPage' });

export const InitiatedUploadOutputSchema = z
  .object({
    jobId: z.string(),
    sessionId: z.string(),
    videoId: z.string(),
    status: JobStatusSchema,
    uploadMode: z.enum(['single', 'multipart']),
    presignedUrl: z.string().nullable().meta({ description: 'The single-PUT URL; null for a multipart upload.' }),
    method: z.literal('PUT'),
    headers: z
      .record(z.string(), z.string())
      .meta({ description: 'Send exactly these headers with the PUT (or every part PUT), or storage refuses it.' }),
    multipart: z
      .object({ partSizeBytes: z.number(), partCount: z.number() })
      .nullable()
      .meta({ description: 'The part plan: every part has partSizeBytes except the last.' }),
    expiresIn: z.number(),
    expiresAt: isoDateTime,
    uploadExpiresAt: isoDateTime.meta({
      description: "The upload's deadline, pushed out by every sign, record, list and complete.",
    }),
    s3Bucket: z.string(),
    s3Key: z.string(),
    maxSizeBytes: z.number(),
  })
  .meta({ id: 'InitiatedUpload' });

const RecordedPartSchema = z.object({ partNumber: z.number(), etag: z.string() });

export const SignedPartsOutputSchema = z
  .object({
    jobId: z.string(),
    expiresIn: z.number(),
    expiresAt: isoDateTime.meta({ description: 'When the part URLs stop working.' }),
    uploadExpiresAt: isoDateTime,
    parts: z.array(
      z.object({
        partNumber: z.number(),
        url: z.string(),
        sizeBytes: z.number().meta({ description: 'The exact number of bytes to PUT to this URL.' }),
      }),
    ),
  })
  .meta({ id: 'SignedParts' });

export const UploadProgressOutputSchema = z
  .object({
    jobId: z.string(),
    partSizeBytes: z.number(),
    partCount: z.number(),
    sizeBytes: z.number(),
    parts: z.array(RecordedPartSchema),
    missingPartNumbers: z.array(z.number()),
    uploadExpiresAt: isoDateTime,
  })
  .meta({ id: 'UploadProgress' });

export const CompletedUploadOutputSchema = z
  .object({ jobId: z.string(), status: JobStatusSchema, sqsMessageId: z.string().nullable(), message: z.string() })
  .meta({ id: 'CompletedUpload' });

export const AbortedUploadOutputSchema = z.object({ jobId: z.string(), status: JobStatusSchema }).meta({ id: 'AbortedUpload' });

const FrameLinkSchema = z.object({ index: z.number(), url: z.string() });

export const JobOutputSchema = z
  .object({
    jobId: z.string(),
    sessionId: z.string(),
    videoId: z.string(),
    status: JobStatusSchema,
    sampleFps: z.number(),
    includeFrames: z.boolean(),
    contentType: z.string(),
    s3Bucket: z.string(),
    s3Key: z.string(),
    declaredSizeBytes: z.number().nullable(),
    sizeBytes: z.number().nullable(),
    sqsMessageId: z.string().nullable(),
    errorCode: JobFailureCodeSchema.nullable(),
    errorMessage: z.string().nullable(),
    createdAt: isoDateTime,
    updatedAt: isoDateTime,
    uploadExpiresAt: isoDateTime,
    queuedAt: isoDateTime.nullable(),
    startedAt: isoDateTime.nullable(),
    finishedAt: isoDateTime.nullable(),
    progressPercent: z.number(),
    framesDone: z.number(),
    framesTotal: z.number().nullable(),
    attempts: z.number(),
    result: AnalysisResultSchema.nullable(),
    originalRemovesAt: isoDateTime.nullable().meta({
      description:
        'When your retention policy removes the original video (its analysis stays), counted from the upload; ' +
        'null: kept, already removed, or none stored. A video still being analysed loses it only once finished.',
    }),
    originalRemovedAt: isoDateTime
      .nullable()
      .meta({ description: 'When retention removed the original video; jobs.videoUrl then answers ORIGINAL_REMOVED.' }),
  })
  .meta({ id: 'Job' });

export const JobDetailsOutputSchema = JobOutputSchema.extend({
  artifacts: z
    .object({ metricsUrl: z.string(), frames: z.array(FrameLinkSchema), frameCount: z.number(), expiresIn: z.number() })
    .nullable(),
}).meta({ id: 'JobDetails' });

export const JobPageOutputSchema = pageOf(JobOutputSchema).meta({ id: 'JobPage' });

export const FramePageOutputSchema = z
  .object({
    frames: z.array(FrameLinkSchema),
    frameCount: z.number(),
    nextOffset: z.number().nullable(),
    expiresIn: z.number(),
  })
  .meta({ id: 'FramePage' });

export const VideoUrlOutputSchema = z
  .object({ url: z.string(), contentType: z.string(), expiresIn: z.number() })
  .meta({ id: 'VideoUrl' });

export const DeletedJobOutputSchema = z.object({ jobId: z.string(), sessionId: z.string() }).meta({ id: 'DeletedJob' });

export const JobDeletionOutputSchema = z
  .object({
    deleted: DeletedJobOutputSchema.meta({
      description: 'From now on every call naming it answers JOB_NOT_FOUND; its stored files are removed shortly after.',
    }),
  })
  .meta({ id: 'JobDeletion' });

export const SessionDeletionOutputSchema = z
  .object({ sessionId: z.string(), jobsDeleted: z.array(DeletedJobOutputSchema) })
  .meta({ id: 'SessionDeletion' });

export const ErasureReportOutputSchema = z
  .object({
    playerId: z.string(),
    sessionsUpdated: z
      .array(z.string())
      .meta({ description: 'Sessions that listed the player among others: the id is gone, their videos stay.' }),
    sessionsDeleted: z
      .array(z.string())
      .meta({ description: 'Sessions whose only listed player it was: deleted with their videos.' }),
    jobsDeleted: z.array(DeletedJobOutputSchema),
  })
  .meta({ id: 'ErasureReport' });

export const StorageUsageOutputSchema = z
  .object({
    usedBytes: z.number().meta({ description: 'Stored originals of your videos.' }),
    reservedBytes: z.number().meta({ description: 'Held by uploads still awaiting their file, until they finish or close.' }),
    quotaBytes: z.number().nullable().meta({ description: 'Your quota; null: no limit.' }),
    availableBytes: z.number().nullable().meta({ description: 'What a new upload may still declare; null: no limit.' }),
    openUploads: z.number(),
    maxOpenUploads: z.number().nullable().meta({ description: 'null: no limit.' }),
  })
  .meta({ id: 'StorageUsage' });

const retentionDaysOutput = z.number().nullable();
const RetentionPolicyOutputSchema = z.object({
  deleteOriginalsAfterDays: retentionDaysOutput.meta({
    description: 'Days after its upload a video loses its original (frames, metrics and summary stay); null: kept.',
  }),
  deleteEverythingAfterDays: retentionDaysOutput.meta({
    description: 'Days after its upload a video is deleted whole, as jobs.delete does; null: kept.',
  }),
});

export const RetentionOutputSchema = RetentionPolicyOutputSchema.extend({
  source: z
    .enum(['owner', 'defaults'])
    .meta({ description: 'owner: you chose these values (retention.set); defaults: the server’s apply.' }),
  defaults: RetentionPolicyOutputSchema.meta({ description: 'The server’s defaults, which apply again after retention.reset.' }),
  updatedBy: z.string().nullable(),
  updatedAt: isoDateTime.nullable(),
}).meta({ id: 'Retention' });

export const ServiceKeyOutputSchema = z
  .object({
    keyId: z.string(),
    prefix: z.string().meta({ description: 'The start of the credential (cpk_<keyId>_), to tell which key a service holds.' }),
    name: z.string(),
    scopes: z.array(z.string()),
    createdBy: z.string(),
    createdAt: isoDateTime,
    expiresAt: isoDateTime.nullable(),
    lastUsedAt: isoDateTime.nullable().meta({ description: 'Within a minute: uses are recorded at most once a minute.' }),
    revokedAt: isoDateTime.nullable(),
  })
  .meta({ id: 'ServiceKey' });

export const IssuedServiceKeyOutputSchema = ServiceKeyOutputSchema.extend({
  secret: z.string().meta({ description: 'The whole credential, cpk_…: shown in this answer only.' }),
}).meta({ id: 'IssuedServiceKey' });

export const ServiceKeyListOutputSchema = z.object({ items: z.array(ServiceKeyOutputSchema) }).meta({ id: 'ServiceKeyList' });

export const AuditEventOutputSchema = z
  .object({
    eventId: z.string().meta({ description: 'Increasing: a later entry has a larger id.' }),
    occurredAt: isoDateTime,
    ownerType: z.enum(['coach', 'org']),
    ownerId: z.string(),
    actor: z
      .object({ kind: z.enum(['user', 'service_key', 'system']), id: z.string() })
      .meta({ description: "A user's id, a service key's id, or the part of the system (upload-events, sweeper)." }),
    action: z.enum(AUDIT_ACTIONS),
    target: z
      .object({ type: z.enum(['session', 'job', 'player', 'retention']), id: z.string().nullable() })
      .meta({ description: 'What the action was about; a player erasure names no player.' }),
    sessionId: z.string().nullable().meta({ description: "The job's session, for a job's entries." }),
    details: z
      .record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(z.string())]))
      .meta({ description: 'Facts that are not content: sizes, counts, content type, affected ids.' }),
  })
  .meta({ id: 'AuditEvent' });

export const AuditEventPageOutputSchema = pageOf(AuditEventOutputSchema).meta({ id: 'AuditEventPage' });

/** The body of every error answer, REST and `/trpc` alike (`errorEnvelope`). */
export const ErrorBodySchema = z
  .object({
    error: z.object({
      message: z.string().meta({ description: 'What went wrong and what to do, for a person.' }),
      code: z.number().meta({ description: 'The JSON-RPC code tRPC uses for this status.' }),
      data: z.object({
        code: z.string().meta({ description: "tRPC's code, e.g. NOT_FOUND." }),
        httpStatus: z.number(),
        path: z.string().nullable().meta({ description: 'The procedure, e.g. sessions.get.' }),
        appCode: z
          .enum(Object.keys(APP_ERROR_CODES) as [AppErrorCode, ...AppErrorCode[]])
          .meta({ description: 'The stable code to branch on (README "Errors").' }),
        requestId: z.string().nullable(),
        fieldErrors: z
          .record(z.string(), z.array(z.string()))
          .nullable()
          .meta({ description: 'For INVALID_INPUT: the message of each bad field.' }),
      }),
    }),
  })
  .meta({ id: 'Error' });

/** True when the schema names exactly the view's keys (tRPC checks the types of the values). */
type KeysMatch<TSchema extends z.ZodType, TView> = [
  Exclude<keyof TView, keyof z.input<TSchema>> | Exclude<keyof z.input<TSchema>, keyof TView>,
] extends [never]
  ? true
  : false;
type Assert<T extends true> = T;
/** Fails to compile when a view gains or loses a key its schema does not. */
export type OutputKeysMatch = [
  Assert<KeysMatch<typeof SessionOutputSchema, SessionView>>,
  Assert<KeysMatch<typeof InitiatedUploadOutputSchema, InitiatedUpload>>,
  Assert<KeysMatch<typeof SignedPartsOutputSchema.shape.parts.element, SignedPart>>,
  Assert<KeysMatch<typeof UploadProgressOutputSchema, UploadProgress>>,
  Assert<KeysMatch<typeof CompletedUploadOutputSchema, CompletedUpload>>,
  Assert<KeysMatch<typeof JobOutputSchema, JobView>>,
  Assert<KeysMatch<typeof JobDetailsOutputSchema, JobDetails>>,
  Assert<KeysMatch<typeof ServiceKeyOutputSchema, ServiceKeyView>>,
  Assert<KeysMatch<typeof StorageUsageOutputSchema, StorageUsageView>>,
  Assert<KeysMatch<typeof DeletedJobOutputSchema, DeletedJob>>,
  Assert<KeysMatch<typeof ErasureReportOutputSchema, ErasureReport>>,
  Assert<KeysMatch<typeof RetentionOutputSchema, RetentionView>>,
  Assert<KeysMatch<typeof AuditEventOutputSchema, AuditEventView>>,
];
