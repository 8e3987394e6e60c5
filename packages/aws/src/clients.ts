import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';

export interface AwsClientConfig {
  region: string;
  /** Override for S3/SQS-compatible servers (an emulator, MinIO); path-style S3 is used then. */
  endpoint?: string;
  /** S3's own endpoint, over `endpoint` (the SDK's `AWS_ENDPOINT_URL_S3`). */
  s3Endpoint?: string;
  /** SQS's own endpoint, over `endpoint` (the SDK's `AWS_ENDPOINT_URL_SQS`). */
  sqsEndpoint?: string;
  /**
   * The S3 endpoint presigned URLs are signed for, when clients reach storage
   * under another name than this process does (a phone on the LAN, a browser
   * outside a container network). This process's own S3 calls keep the S3 endpoint.
   */
  s3PublicEndpoint?: string;
  /** Static credentials; when absent the SDK's default provider chain applies. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Upper bound for one HTTP attempt, so a hung AWS call cannot hold a request forever. */
  requestTimeoutMs?: number;
  maxAttempts?: number;
}

export interface AwsClients {
  s3: S3Client;
  /** Signs URLs for uploaders; see ObjectStorage.signer. */
  s3Signer: S3Client;
  sqs: SQSClient;
  destroy(): void;
}

/** Builds the SDK clients once per process; they are reused for every call. */
export function createAwsClients(config: AwsClientConfig): AwsClients {
  const s3Endpoint = config.s3Endpoint ?? config.endpoint;
  const signerEndpoint = config.s3PublicEndpoint ?? s3Endpoint;
  const common = {
    region: config.region,
    credentials: config.credentials,
    maxAttempts: config.maxAttempts ?? 3,
    requestHandler: {
      requestTimeout: config.requestTimeoutMs ?? 5_000,
      // Without this the SDK only logs a breached requestTimeout and keeps waiting,
      // so a hung endpoint would hold the caller (and its socket) forever.
      throwOnRequestTimeout: true,
      connectionTimeout: 2_000,
    },
  };
  const s3 = new S3Client({ ...common, endpoint: s3Endpoint, forcePathStyle: s3Endpoint !== undefined });
  const s3Signer = new S3Client({
    ...common,
    endpoint: signerEndpoint,
    forcePathStyle: signerEndpoint !== undefined,
    // Without these, presigned URLs carry x-amz-checksum-crc32 of an empty body
    // and x-amz-sdk-checksum-algorithm, and real S3 refuses the upload.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const sqs = new SQSClient({ ...common, endpoint: config.sqsEndpoint ?? config.endpoint });
  return {
    s3,
    s3Signer,
    sqs,
    destroy() {
      s3.destroy();
      s3Signer.destroy();
      sqs.destroy();
    },
  };
}
