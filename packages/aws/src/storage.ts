import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';

import { AwsUnavailableError, isNotFound, isPreconditionFailed, ObjectChangedError } from './errors.ts';

export interface PresignPutParams {
  key: string;
  contentType: string;
  /** When known, bound into the signature so S3 refuses a body of any other length. */
  contentLength?: number;
  expiresInSeconds: number;
}

export interface PresignedUpload {
  url: string;
  method: 'PUT';
  /** Headers the uploader must send exactly as given, or the signature does not match. */
  headers: Record<string, string>;
}

export interface StoredObject {
  sizeBytes: number;
  contentType: string | undefined;
  etag: string | undefined;
}

/** The object store as the product needs it; the bucket is fixed at construction. */
export interface ObjectStorage {
  readonly bucket: string;
  presignPut(params: PresignPutParams): Promise<PresignedUpload>;
  presignGet(params: { key: string; expiresInSeconds: number }): Promise<string>;
  /** Undefined when no object exists at `key`; throws AwsUnavailableError otherwise. */
  head(key: string): Promise<StoredObject | undefined>;
  /**
   * The object's bytes; undefined when it does not exist. With `ifMatch`, throws
   * ObjectChangedError if the stored object is no longer that version.
   */
  getStream(key: string, options?: { ifMatch?: string }): Promise<ReadableStream<Uint8Array> | undefined>;
  /** Stores a small object written by our own processes (analysis results), replacing any previous one. */
  putObject(key: string, body: Uint8Array | string, contentType: string): Promise<void>;
  delete(key: string): Promise<void>;
  /** Resolves when the bucket answers; for health checks. */
  ping(): Promise<void>;
}

export interface S3StorageDeps {
  /** Client for calls made by this process (HEAD, GET, DELETE). */
  s3: S3Client;
  /**
   * Client used only to sign URLs for others. It must be built with
   * `requestChecksumCalculation: 'WHEN_REQUIRED'`, or every URL carries the
   * CRC32 of an empty body and real S3 rejects the upload.
   */
  signer: S3Client;
  bucket: string;
}

export function createS3Storage({ s3, signer, bucket }: S3StorageDeps): ObjectStorage {
  return {
    bucket,
    async presignPut({ key, contentType, contentLength, expiresInSeconds }) {
      const command = new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        ContentType: contentType,
        ContentLength: contentLength,
        // Create-only: once the upload is verified, the same URL cannot replace it.
        IfNoneMatch: '*',
      });
      try {
        const url = await getSignedUrl(signer, command, {
          expiresIn: expiresInSeconds,
          signableHeaders: new Set(['content-type', 'if-none-match']),
        });
        return { url, method: 'PUT', headers: { 'content-type': contentType, 'if-none-match': '*' } };
      } catch (error) {
        throw new AwsUnavailableError('presign upload', { cause: error });
      }
    },
    async presignGet({ key, expiresInSeconds }) {
      try {
        return await getSignedUrl(signer, new GetObjectCommand({ Bucket: bucket, Key: key }), {
          expiresIn: expiresInSeconds,
        });
      } catch (error) {
        throw new AwsUnavailableError('presign download', { cause: error });
      }
    },
    async head(key) {
      try {
        const out = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        return {
          sizeBytes: out.ContentLength ?? 0,
          contentType: out.ContentType,
          etag: out.ETag,
        };
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw new AwsUnavailableError('head object', { cause: error });
      }
    },
    async getStream(key, options) {
      try {
        const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, IfMatch: options?.ifMatch }));
        return out.Body?.transformToWebStream();
      } catch (error) {
        if (isNotFound(error)) return undefined;
        if (isPreconditionFailed(error)) throw new ObjectChangedError(`object ${key} changed`, { cause: error });
        throw new AwsUnavailableError('get object', { cause: error });
      }
    },
    async putObject(key, body, contentType) {
      try {
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }));
      } catch (error) {
        throw new AwsUnavailableError('put object', { cause: error });
      }
    },
    async delete(key) {
      try {
        await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
      } catch (error) {
        if (isNotFound(error)) return;
        throw new AwsUnavailableError('delete object', { cause: error });
      }
    },
    async ping() {
      try {
        await s3.send(new HeadBucketCommand({ Bucket: bucket }));
      } catch (error) {
        throw new AwsUnavailableError('head bucket', { cause: error });
      }
    },
  };
}
