/**
 * Which IAM action each AWS SDK command the adapters (`packages/aws/src`)
 * send needs, and which commands each service's code sends. Task roles are
 * built from these lists and nothing else, so a role can do exactly what its
 * code calls: `test/iam.test.ts` scans the adapters for the commands they use
 * and fails when one is missing here or when an entry here is no longer used.
 */

/**
 * S3 commands. Presigned URLs are signed by the API's role, so the role needs
 * what the URL does.
 */
export const S3_COMMAND_ACTIONS = {
  PutObjectCommand: ['s3:PutObject'],
  // ListBucket too: without it S3 answers 403, not 404, for a key that does not
  // exist, and the adapters read 404 as "no object" (upload.complete before the
  // upload, the sweeper's check of a watched key, a video deleted meanwhile).
  GetObjectCommand: ['s3:GetObject', 's3:ListBucket'],
  // HEAD on an object is authorised as GetObject.
  HeadObjectCommand: ['s3:GetObject', 's3:ListBucket'],
  DeleteObjectCommand: ['s3:DeleteObject'],
  // A batch delete is authorised per key as DeleteObject.
  DeleteObjectsCommand: ['s3:DeleteObject'],
  // Listing a prefix is authorised as ListBucket, on the bucket itself.
  ListObjectsV2Command: ['s3:ListBucket'],
  // The multipart steps other than abort are authorised as PutObject.
  CreateMultipartUploadCommand: ['s3:PutObject'],
  UploadPartCommand: ['s3:PutObject'],
  CompleteMultipartUploadCommand: ['s3:PutObject'],
  AbortMultipartUploadCommand: ['s3:AbortMultipartUpload'],
  // HEAD on the bucket (health checks) is authorised as ListBucket, on the bucket itself.
  HeadBucketCommand: ['s3:ListBucket'],
} as const satisfies Record<string, readonly string[]>;

export const SQS_COMMAND_ACTIONS = {
  SendMessageCommand: ['sqs:SendMessage'],
  ReceiveMessageCommand: ['sqs:ReceiveMessage'],
  DeleteMessageCommand: ['sqs:DeleteMessage'],
  ChangeMessageVisibilityCommand: ['sqs:ChangeMessageVisibility'],
  GetQueueAttributesCommand: ['sqs:GetQueueAttributes'],
} as const satisfies Record<string, readonly string[]>;

export type S3Command = keyof typeof S3_COMMAND_ACTIONS;
export type SqsCommand = keyof typeof SQS_COMMAND_ACTIONS;

/** Actions authorised on the bucket ARN rather than on object ARNs. */
export const BUCKET_LEVEL_ACTIONS: ReadonlySet<string> = new Set(['s3:ListBucket']);

/** Every object key the product writes starts with this (packages/api/src/domain/video-key.ts). */
export const OBJECT_KEY_PREFIX = 'coach_plus/';

export interface ServiceAwsCalls {
  bucket: readonly S3Command[];
  analysisQueue: readonly SqsCommand[];
  deadLetterQueue: readonly SqsCommand[];
  uploadEventsQueue: readonly SqsCommand[];
}

/**
 * What each service's code sends, through which adapter method (the API runs
 * without the in-process worker in production: WORKER_IN_PROCESS=false).
 */
export const SERVICE_AWS_CALLS = {
  api: {
    bucket: [
      'PutObjectCommand', // storage.presignPut (upload.initiate)
      'CreateMultipartUploadCommand', // storage.createMultipartUpload
      'UploadPartCommand', // storage.presignUploadPart
      'CompleteMultipartUploadCommand', // storage.completeMultipartUpload
      'AbortMultipartUploadCommand', // storage.abortMultipartUpload (upload.abort, failed initiate)
      'HeadObjectCommand', // storage.head (upload.complete)
      'GetObjectCommand', // storage.presignGet (results, frames)
      'DeleteObjectCommand', // storage.delete (upload.abort, rejected uploads)
      'HeadBucketCommand', // storage.ping (/readyz, the start-up check), storage.head's bucket check after a 404
    ],
    analysisQueue: [
      'SendMessageCommand', // the outbox relay
      'GetQueueAttributesCommand', // queue.ping (/readyz, the start-up check)
    ],
    deadLetterQueue: [],
    uploadEventsQueue: [],
  },
  worker: {
    bucket: [
      'GetObjectCommand', // storage.getStream (the video)
      'PutObjectCommand', // storage.putObject (metrics.json, frames)
      'HeadObjectCommand', // storage.head (the sweeper's watched keys)
      'DeleteObjectCommand', // storage.delete (the sweeper)
      'ListObjectsV2Command', // storage.listKeys (the sweeper's deletions)
      'DeleteObjectsCommand', // storage.deleteKeys (the sweeper's deletions)
      'AbortMultipartUploadCommand', // storage.abortMultipartUpload (the sweeper)
      'CompleteMultipartUploadCommand', // storage.completeMultipartUpload (completing a landed upload)
      'HeadBucketCommand', // storage.ping (the start-up check), storage.head's bucket check after a 404
    ],
    analysisQueue: [
      'ReceiveMessageCommand', // the consumer
      'DeleteMessageCommand', // done, duplicate or dead-lettered messages
      'ChangeMessageVisibilityCommand', // the lease heartbeat and retry back-off
      'GetQueueAttributesCommand', // queue.ping (the start-up check)
    ],
    deadLetterQueue: [
      'SendMessageCommand', // the consumer dead-letters poison messages itself
      'GetQueueAttributesCommand', // queue.ping (the start-up check)
    ],
    uploadEventsQueue: [
      'ReceiveMessageCommand', // the upload-events consumer
      'DeleteMessageCommand', // handled notifications
      'ChangeMessageVisibilityCommand', // retry back-off
      'GetQueueAttributesCommand', // queue.ping (the start-up check)
    ],
  },
} as const satisfies Record<'api' | 'worker', ServiceAwsCalls>;

const ACTIONS_OF: Record<S3Command | SqsCommand, readonly string[]> = { ...S3_COMMAND_ACTIONS, ...SQS_COMMAND_ACTIONS };

/** The distinct IAM actions a list of commands needs, sorted. */
export function actionsFor(commands: readonly (S3Command | SqsCommand)[]): string[] {
  return [...new Set(commands.flatMap((c) => ACTIONS_OF[c]))].sort();
}
