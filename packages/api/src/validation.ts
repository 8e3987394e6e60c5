import { z, type ZodError } from 'zod';

import { AUDIT_ACTIONS } from '@coach/db';
import {
  DEFAULT_CONTENT_TYPE,
  RETENTION_DAY_BOUNDS,
  retentionPolicyProblems,
  VIDEO_CONTENT_TYPES,
  type VideoContentType,
} from '@coach/jobs';

import { SERVICE_SCOPES } from './auth/identity.ts';

/** "Invalid input: sampleFps: Too big…; title: …" — names every bad field. */
export function describeZodError(error: ZodError): string {
  const parts = error.issues.map((issue) => {
    const field = issue.path.join('.');
    return field ? `${field}: ${issue.message}` : issue.message;
  });
  return `Invalid input: ${parts.join('; ')}`;
}

// Postgres text cannot hold NUL, and no control character belongs in a title or an id.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

/** Trimmed text of `min`..`max` characters with no control characters. */
export const textSchema = (max: number) =>
  z
    .string()
    .trim()
    .min(1, 'must not be empty')
    .max(max)
    .refine((value) => !CONTROL_CHARACTERS.test(value), 'must not contain control characters');

/** Lower-cased, so one id has one spelling in keys, responses and lookups. */
export const IdSchema = z.uuid({ error: 'must be a UUID' }).transform((id) => id.toLowerCase());

export const PageInputSchema = z.strictObject({
  limit: z.int().min(1).max(100).default(20),
  cursor: z.string().min(1).max(512).optional(),
});

export const CreateSessionInputSchema = z.strictObject({
  title: textSchema(200),
  playerIds: z
    .array(textSchema(128))
    .max(100)
    .refine((ids) => new Set(ids).size === ids.length, 'must not contain duplicates')
    .default([]),
});

export const SessionRefInputSchema = z.strictObject({ sessionId: IdSchema });

/** sessions.erasePlayer: the player id exactly as the sessions list it. */
export const ErasePlayerInputSchema = z.strictObject({ playerId: textSchema(128) });

export const InitiateUploadInputSchema = z.strictObject({
  sessionId: IdSchema,
  sampleFps: z.int().min(1).max(30).default(10),
  includeFrames: z.boolean().default(false),
  /**
   * Optional: where the coach tapped the player on the first frame, as fractions of its width
   * and height (0..1, from the top left). Without it the most prominent person is analysed.
   */
  subjectHint: z.strictObject({ x: z.number().min(0).max(1), y: z.number().min(0).max(1) }).optional(),
  contentType: z
    .enum(Object.keys(VIDEO_CONTENT_TYPES) as [VideoContentType, ...VideoContentType[]])
    .default(DEFAULT_CONTENT_TYPE),
  /** Required: every upload is bounded by it (the single PUT signs it as `Content-Length`; a multipart plan follows it). */
  sizeBytes: z
    .int({
      error: (issue) =>
        issue.input === undefined ? "is required: the file's size in bytes (every upload is bounded by it)" : undefined,
    })
    .min(1)
    .max(Number.MAX_SAFE_INTEGER),
  /**
   * Idempotency key chosen by the caller, one per upload (a UUID is ideal).
   * Repeating the call with the same key and inputs (say, after a lost answer)
   * answers the same job instead of starting another; the same key with other
   * inputs is refused with `IDEMPOTENCY_KEY_REUSED`. Keys are per user.
   */
  clientRequestId: z
    .string()
    .regex(/^[A-Za-z0-9_-]{8,128}$/, 'must be 8 to 128 characters of A-Z, a-z, 0-9, _ and - (a UUID works)')
    .optional(),
});

export const JobRefInputSchema = z.strictObject({ jobId: IdSchema });

const PartNumberSchema = z.int().min(1).max(10_000);
/** An S3 ETag as returned by a part PUT: quoted hex (the quotes are optional here). */
const EtagSchema = z
  .string()
  .regex(/^"?[0-9a-fA-F]{32}(-\d+)?"?$/, 'must be the ETag the part PUT returned')
  .transform((etag) => (etag.startsWith('"') ? etag : `"${etag}"`));
const PartSchema = z.strictObject({ partNumber: PartNumberSchema, etag: EtagSchema });
const uniqueParts = (parts: { partNumber: number }[]) => new Set(parts.map((p) => p.partNumber)).size === parts.length;

export const CompleteUploadInputSchema = z.strictObject({
  jobId: IdSchema,
  /** Multipart only: parts to record before completing (all parts may also have been recorded already). */
  parts: z.array(PartSchema).max(10_000).refine(uniqueParts, 'must not repeat a part number').optional(),
});

export const SignPartsInputSchema = z.strictObject({
  jobId: IdSchema,
  partNumbers: z
    .array(PartNumberSchema)
    .min(1)
    .max(100)
    .refine((n) => new Set(n).size === n.length, 'must not repeat a part number'),
});

export const RecordPartsInputSchema = z.strictObject({
  jobId: IdSchema,
  parts: z.array(PartSchema).min(1).max(100).refine(uniqueParts, 'must not repeat a part number'),
});

export const ListJobsInputSchema = PageInputSchema.extend({ sessionId: IdSchema });

export const ListAuditEventsInputSchema = PageInputSchema.extend({
  /** Only entries of this action. */
  action: z.enum(AUDIT_ACTIONS).optional(),
  /** Only entries about this session or job (a session's own entries; a job's by its id). */
  targetId: IdSchema.optional(),
});

export const WatchJobInputSchema = z.strictObject({
  jobId: IdSchema,
  /** Set by tRPC's SSE link on reconnect. */
  lastEventId: z.string().max(200).nullish(),
});

export const ListFramesInputSchema = z.strictObject({
  jobId: IdSchema,
  offset: z.int().min(0).max(1_000_000).default(0),
  limit: z.int().min(1).max(200).default(60),
});

export const CreateServiceKeyInputSchema = z.strictObject({
  /** What the key is for (e.g. the service that holds it), shown by serviceKeys.list. */
  name: textSchema(100),
  scopes: z
    .array(z.enum(SERVICE_SCOPES))
    .min(1)
    .refine((scopes) => new Set(scopes).size === scopes.length, 'must not contain duplicates'),
  /** Optional: when the key stops working (an ISO 8601 time with its offset, in the future). */
  expiresAt: z.iso.datetime({ offset: true }).optional(),
});

export const ServiceKeyRefInputSchema = z.strictObject({
  keyId: z.string().regex(/^[0-9a-f]{16}$/, 'must be a key id: 16 hex characters, as serviceKeys.list shows'),
});

const retentionDays = z
  .int({ error: 'must be a whole number of days' })
  .min(RETENTION_DAY_BOUNDS.min)
  .max(RETENTION_DAY_BOUNDS.max)
  .nullable();

/**
 * retention.set: the owner's own policy, both values given (null keeps for ever);
 * the rule between them is `retentionPolicyProblems`'.
 */
export const SetRetentionInputSchema = z
  .strictObject({ deleteOriginalsAfterDays: retentionDays, deleteEverythingAfterDays: retentionDays })
  .superRefine((policy, ctx) => {
    for (const problem of retentionPolicyProblems(policy)) {
      ctx.addIssue({ code: 'custom', path: [problem.field], message: problem.message });
    }
  });
