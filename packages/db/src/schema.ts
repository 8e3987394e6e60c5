import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

/** Who owns a session: a coach (owner id = user id) or an organisation (owner id = org id). */
export type OwnerType = 'coach' | 'org';

export const JOB_STATUSES = [
  'awaiting_upload',
  'queued',
  'processing',
  'completed',
  'failed',
  'rejected',
  'expired',
  'aborted',
  'deleted',
] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

type Timestamp = ColumnType<Date, Date | string, Date | string>;
/** Has a database default, so inserts may omit it. */
type DefaultTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;
/** Set by the database on insert and never changed. */
type CreatedAt = ColumnType<Date, never, never>;

export interface VideoSessionTable {
  id: string;
  ownerType: OwnerType;
  ownerId: string;
  createdBy: string;
  title: string;
  playerIds: string[];
  createdAt: CreatedAt;
  /** Set when the session was deleted: the row stays (emptied) so its deletion and jobs keep their reference. */
  deletedAt: Timestamp | null;
}

export interface VideoAnalysisJobTable {
  id: string;
  sessionId: string;
  ownerType: OwnerType;
  ownerId: string;
  createdBy: string;
  videoId: string;
  status: JobStatus;
  sampleFps: number;
  includeFrames: boolean;
  /** Where the coach tapped the player on the first frame (0..1 of width and height); both null when not given. */
  subjectHintX: number | null;
  subjectHintY: number | null;
  s3Bucket: string;
  s3Key: string;
  contentType: string;
  declaredSizeBytes: number | null;
  sizeBytes: number | null;
  etag: string | null;
  uploadExpiresAt: Timestamp;
  sqsMessageId: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  createdAt: CreatedAt;
  updatedAt: DefaultTimestamp;
  queuedAt: Timestamp | null;
  startedAt: Timestamp | null;
  finishedAt: Timestamp | null;
  /** Claims so far; each claim by a worker adds one. */
  attempts: Generated<number>;
  /** Fresh per claim: only the holder of the current token may write the job. */
  leaseToken: string | null;
  leaseOwner: string | null;
  leaseExpiresAt: Timestamp | null;
  /** The SQS message the current lease was taken for. */
  leaseMessageId: string | null;
  progressPercent: Generated<number>;
  framesTotal: number | null;
  framesDone: Generated<number>;
  /** The analysis summary written on completion (see the worker's AnalysisResult). */
  result: unknown;
  uploadMode: Generated<UploadMode>;
  multipartUploadId: string | null;
  partSizeBytes: number | null;
  partCount: number | null;
  /** The caller's idempotency key for upload.initiate, unique per `createdBy`. */
  clientRequestId: string | null;
  /**
   * Set when the upload closes without a video (aborted, rejected, expired): the
   * last moment a URL signed for this job could start writing to its storage.
   * Until then, plus the sweeper's grace, the sweeper removes whatever reaches
   * the key; null when not watched (any more).
   */
  keyWritableUntil: Timestamp | null;
  /** When the sweeper last checked the watched key; it checks the least recent first. */
  keyCheckedAt: Timestamp | null;
  /** When the job was deleted (status `deleted`); its row stays as a tombstone with its content cleared. */
  deletedAt: Timestamp | null;
  /** When this job's stored bytes stopped counting towards its owner's usage (`releaseStoredUpload`); null while they count. */
  usageReleasedAt: Timestamp | null;
  /** What initiate reserved of the owner's quota (the declared size, or `MAX_UPLOAD_BYTES` for an upload that declared none); null on jobs from before quotas. */
  reservedBytes: number | null;
  /** When retention decided to remove this job's original (its frames, metrics and summary stay); null while kept. */
  originalRemovedAt: Timestamp | null;
}

/**
 * What an owner stores and has reserved, kept by `reserveUploadAndInsertJob`
 * (initiate) and a trigger on every move out of `awaiting_upload`.
 */
export interface OwnerUsageTable {
  ownerType: OwnerType;
  ownerId: string;
  /** Stored originals of this owner's jobs that reached `queued` and were not released. */
  usedBytes: Generated<number>;
  /** Declared sizes of this owner's uploads still awaiting their file. */
  reservedBytes: Generated<number>;
  /** This owner's uploads still awaiting their file. */
  openUploads: Generated<number>;
  /** This owner's quota when it differs from the configured default (0: no limit); null: the default. */
  quotaBytes: number | null;
}

export type UploadMode = 'single' | 'multipart';

/** Parts of a multipart upload the uploader reported as stored (S3 checks them at completion). */
export interface UploadPartTable {
  jobId: string;
  partNumber: number;
  etag: string;
  recordedAt: Generated<Date>;
}

export interface OutboxMessageTable {
  id: Generated<string>;
  /** Unique per logical message, so a retried write can never enqueue twice. */
  dedupeKey: string;
  jobId: string;
  payload: unknown;
  createdAt: CreatedAt;
  availableAt: DefaultTimestamp;
  attempts: Generated<number>;
  lastError: string | null;
  sentAt: Timestamp | null;
  messageId: string | null;
  /** While in the future, one sender is sending this row; nobody else may. */
  claimedUntil: Timestamp | null;
  /** The writer's W3C trace context, sent as an SQS message attribute so the worker continues that trace. */
  traceparent: Generated<string | null>;
}

/** A credential an organisation issued to one of its backend services; the secret itself is never stored. */
export interface ServiceKeyTable {
  /** Public: the part of the credential after `cpk_` and before the secret. */
  id: string;
  orgId: string;
  name: string;
  scopes: string[];
  /** The creator's plan when the key was made; null: the role's default plan. */
  features: string[] | null;
  /** SHA-256 of the secret half of the credential. */
  secretHash: Buffer;
  createdBy: string;
  createdAt: CreatedAt;
  expiresAt: Timestamp | null;
  revokedAt: Timestamp | null;
  lastUsedAt: Timestamp | null;
}

/** `everything`: the prefix and all under it; `original`: only the original video, whose key is the row's `prefix`. */
export type DeletionScope = 'everything' | 'original';

/**
 * What storage must still lose after a deletion: written in the transaction
 * that deletes the rows, carried out (and repeated until `repeatUntil` has
 * passed) by the worker's sweeper. Exactly one of `jobId`, `sessionId` is set.
 */
export interface StorageDeletionTable {
  id: Generated<string>;
  jobId: string | null;
  sessionId: string | null;
  scope: DeletionScope;
  /** Every object under it is deleted (scope `original`: the original's key, the one object deleted). */
  prefix: string;
  /** Aborted again on every pass: a part in flight during an abort may finish. */
  multipartUploadId: string | null;
  /** A pass must begin after this moment (a worker that held the lease may still write until then) before the row is done. */
  repeatUntil: DefaultTimestamp;
  requestedBy: string;
  requestedAt: CreatedAt;
  availableAt: DefaultTimestamp;
  claimedUntil: Timestamp | null;
  attempts: Generated<number>;
  lastError: string | null;
  objectsDeleted: Generated<number>;
  doneAt: Timestamp | null;
}

/**
 * An owner's own retention policy (packages/jobs/src/deletion/RETENTION.md):
 * replaces the configured defaults as a whole; a null value keeps for ever.
 */
export interface RetentionPolicyTable {
  ownerType: OwnerType;
  ownerId: string;
  deleteOriginalsAfterDays: number | null;
  deleteEverythingAfterDays: number | null;
  updatedBy: string;
  updatedAt: DefaultTimestamp;
}

export const AUDIT_ACTIONS = [
  'session.created',
  'upload.initiated',
  'upload.completed',
  'upload.rejected',
  'upload.aborted',
  'link.signed',
  'job.deleted',
  'session.deleted',
  'player.erased',
  // Retention removed the original and kept the analysis (actor system/retention).
  'original.deleted',
  // The owner's retention policy was set or reset (it decides what the sweeper deletes).
  'retention.changed',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];
export type AuditActorKind = 'user' | 'service_key' | 'system';
export type AuditTargetType = 'session' | 'job' | 'player' | 'retention';
/** Facts about an action that are not content: sizes, counts, types, ids. Never a title, player id or file name. */
export type AuditDetails = Record<string, string | number | boolean | null | string[]>;

/**
 * One entry of the audit trail: append-only (a trigger refuses UPDATE and
 * DELETE), no foreign keys, so it outlives what it describes
 * (packages/api/src/audit/README.md).
 */
export interface AuditEventTable {
  id: Generated<number>;
  occurredAt: CreatedAt;
  ownerType: OwnerType;
  ownerId: string;
  actorKind: AuditActorKind;
  actorId: string;
  action: AuditAction;
  targetType: AuditTargetType;
  targetId: string | null;
  sessionId: string | null;
  details: ColumnType<AuditDetails, string | undefined, never>;
}

export interface Database {
  auditEvents: AuditEventTable;
  serviceKeys: ServiceKeyTable;
  videoSessions: VideoSessionTable;
  videoAnalysisJobs: VideoAnalysisJobTable;
  outboxMessages: OutboxMessageTable;
  uploadParts: UploadPartTable;
  storageDeletions: StorageDeletionTable;
  ownerUsage: OwnerUsageTable;
  retentionPolicies: RetentionPolicyTable;
}

export type VideoSession = Selectable<VideoSessionTable>;
export type NewVideoSession = Insertable<VideoSessionTable>;
export type VideoAnalysisJob = Selectable<VideoAnalysisJobTable>;
export type NewVideoAnalysisJob = Insertable<VideoAnalysisJobTable>;
export type VideoAnalysisJobUpdate = Updateable<VideoAnalysisJobTable>;
export type OutboxMessage = Selectable<OutboxMessageTable>;
export type ServiceKey = Selectable<ServiceKeyTable>;
export type StorageDeletion = Selectable<StorageDeletionTable>;
export type RetentionPolicyRow = Selectable<RetentionPolicyTable>;
export type AuditEvent = Selectable<AuditEventTable>;
