export { createAwsClients, type AwsClientConfig, type AwsClients } from './clients.ts';
export {
  createS3Storage,
  type ObjectBody,
  type ObjectStorage,
  type PresignPutParams,
  type PresignedUpload,
  type S3StorageDeps,
  type StoredObject,
} from './storage.ts';
export { createSqsQueue, type MessageQueue, type ReceiveParams, type ReceivedMessage, type SendOptions } from './queue.ts';
export { AwsMisconfiguredError, AwsUnavailableError, InvalidPartsError, ObjectChangedError, type AwsResource } from './errors.ts';
export { KeyObjectSha256 } from './sha256.ts';
export { checkAwsResources, misconfigurationReport } from './resource-check.ts';
