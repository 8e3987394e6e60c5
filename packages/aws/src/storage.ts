import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';

import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';

import {
  awsCall,
  AwsMisconfiguredError,
  errorName,
  InvalidPartsError,
  isNotFound,
  isPreconditionFailed,
  ObjectChangedError,
  type AwsResource,
} from './errors.ts';
import { createObjectUrlPresigner, type ObjectUrlRequest } from './presign.ts';

export interface PresignPutParams {
  key: string;
  contentType: string;
  /** When known, bound into the signature so S3 refuses a body of any other length. */
  contentLength?: number;
  expiresInSeconds: number;
  /**
   * Signs `If-None-Match: *`, so the URL cannot replace an object already stored (default true).
   * False only for the first version's clients, which send no such header.
   */
  createOnly?: boolean;
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
/** Bytes, text, or a local file streamed from disk. */
export type ObjectBody = Uint8Array | string | { path: string };

export interface ObjectStorage {
  readonly bucket: string;
  presignPut: (params: PresignPutParams) => Promise<PresignedUpload>;
  presignGet: (params: { key: string; expiresInSeconds: number }) => Promise<string>;
  /** Undefined when no object exists at `key`; throws AwsUnavailableError otherwise. */
  head: (key: string) => Promise<StoredObject | undefined>;
  /**
   * The object's bytes; undefined when it does not exist. With `ifMatch`, throws
   * ObjectChangedError if the stored object is no longer that version.
   */
  getStream: (key: string, options?: { ifMatch?: string }) => Promise<ReadableStream<Uint8Array> | undefined>;
  /**
   * Stores an object written by our own processes (analysis results), replacing any previous one.
   * `{ path }` streams a local file, so a large document is never held in memory whole.
   */
  putObject: (key: string, body: ObjectBody, contentType: string) => Promise<void>;
  delete: (key: string) => Promise<void>;
  /**
   * The first keys (in key order, at most `limit`, S3's page being 1000) stored under `prefix`.
   * A deletion lists from the start again after deleting a page, so it needs no continuation token.
   */
  listKeys: (prefix: string, options?: { limit?: number }) => Promise<string[]>;
  /** Deletes up to 1000 keys in one request; a missing key is not an error. Throws when any key was not deleted. */
  deleteKeys: (keys: readonly string[]) => Promise<void>;
  /** Resolves when the bucket answers; for health checks. */
  ping: () => Promise<void>;
  /** Starts a multipart upload of `key`; returns its upload id. */
  createMultipartUpload: (params: { key: string; contentType: string }) => Promise<string>;
  /** A URL for one part, binding its exact length. */
  presignUploadPart: (params: {
    key: string;
    uploadId: string;
    partNumber: number;
    contentLength: number;
    expiresInSeconds: number;
  }) => Promise<string>;
  /**
   * Assembles the parts. Throws InvalidPartsError when a part is missing, has
   * another ETag or is too small; returns 'no-such-upload' when the upload is
   * gone (completed or aborted already).
   */
  completeMultipartUpload: (params: {
    key: string;
    uploadId: string;
    parts: { partNumber: number; etag: string }[];
  }) => Promise<'completed' | 'no-such-upload'>;
  /** Discards a multipart upload and its parts; a missing upload is not an error. */
  abortMultipartUpload: (params: { key: string; uploadId: string }) => Promise<void>;
}

export interface S3StorageDeps {
  /** Client for calls made by this process (HEAD, GET, DELETE). */
  s3: S3Client;
  /**
   * Client used only to sign URLs for others: its credentials, region and
   * endpoint settings decide the URLs (see presign.ts). Build it with
   * `requestChecksumCalculation: 'WHEN_REQUIRED'`: buckets whose URLs are left
   * to `getSignedUrl` would otherwise carry the CRC32 of an empty body, and
   * real S3 rejects the upload.
   */
  signer: S3Client;
  bucket: string;
  /** Where the bucket's name came from and where it is looked for, named in the errors an operator reads. */
  describedAs?: Pick<AwsResource, 'setting' | 'endpoint'>;
}

export function createS3Storage({ s3, signer, bucket, describedAs }: S3StorageDeps): ObjectStorage {
  const urls = createObjectUrlPresigner(signer, bucket, (request) => signWithMiddlewareStack(signer, bucket, request));
  const resource: AwsResource = { kind: 'bucket', name: bucket, ...describedAs };
  const call = <T>(operation: string, fn: () => Promise<T>, expected?: (error: unknown) => { answer: T } | undefined) =>
    awsCall(resource, operation, fn, expected);
  /**
   * S3 answers a HEAD in a missing bucket as it answers a missing key (404, no
   * body), so a HEAD's "not found" holds only once the bucket is known to exist.
   * Concurrent callers share one check.
   */
  let bucketCheck: Promise<void> | undefined;
  const confirmBucket = () =>
    (bucketCheck ??= call(
      'head bucket',
      async () => {
        await s3.send(new HeadBucketCommand({ Bucket: bucket }));
      },
      (error) => {
        if (isNotFound(error)) throw new AwsMisconfiguredError(resource, 'missing', { cause: error });
        return undefined;
      },
    ).finally(() => (bucketCheck = undefined)));
  /** A missing object (or upload) is an answer, not an outage. */
  const missing =
    <T>(answer: T) =>
    (error: unknown) =>
      isNotFound(error) ? { answer } : undefined;
  return {
    bucket,
    async presignPut({ key, contentType, contentLength, expiresInSeconds, createOnly = true }) {
      // Create-only: once the upload is verified, the same URL cannot replace it.
      const headers: Record<string, string> = createOnly
        ? { 'content-type': contentType, 'if-none-match': '*' }
        : { 'content-type': contentType };
      const url = await call('presign upload', () =>
        urls.presign({
          operation: 'PutObject',
          method: 'PUT',
          key,
          headers: contentLength === undefined ? headers : { ...headers, 'content-length': String(contentLength) },
          expiresInSeconds,
        }),
      );
      return { url, method: 'PUT', headers };
    },
    presignGet({ key, expiresInSeconds }) {
      return call('presign download', () => urls.presign({ operation: 'GetObject', method: 'GET', key, expiresInSeconds }));
    },
    async head(key) {
      const object = await call(
        'head object',
        async (): Promise<StoredObject | undefined> => {
          const out = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
          return { sizeBytes: out.ContentLength ?? 0, contentType: out.ContentType, etag: out.ETag };
        },
        missing(undefined),
      );
      if (!object) await confirmBucket();
      return object;
    },
    getStream(key, options) {
      return call(
        'get object',
        async () => {
          const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, IfMatch: options?.ifMatch }));
          return out.Body?.transformToWebStream();
        },
        (error) => {
          if (isPreconditionFailed(error)) throw new ObjectChangedError(`object ${key} changed`, { cause: error });
          return missing(undefined)(error);
        },
      );
    },
    async putObject(key, body, contentType) {
      await call('put object', async () => {
        if (typeof body === 'string' || body instanceof Uint8Array) {
          return s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }));
        }
        // A stream needs its length up front: S3 PUTs are not chunked without it.
        const { size } = await stat(body.path);
        return s3.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: createReadStream(body.path),
            ContentLength: size,
            ContentType: contentType,
          }),
        );
      });
    },
    async delete(key) {
      await call(
        'delete object',
        async () => {
          await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
        },
        missing(undefined),
      );
    },
    async listKeys(prefix, options) {
      const out = await call('list objects', () =>
        s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, MaxKeys: options?.limit ?? 1000 })),
      );
      return (out.Contents ?? []).flatMap((object) => (object.Key ? [object.Key] : []));
    },
    async deleteKeys(keys) {
      if (keys.length === 0) return;
      if (keys.length > 1000) throw new RangeError('at most 1000 keys per delete');
      const out = await call('delete objects', () =>
        s3.send(
          new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys.map((key) => ({ Key: key })), Quiet: true } }),
        ),
      );
      const failed = out.Errors ?? [];
      if (failed.length > 0) {
        const first = failed[0];
        throw new Error(
          `could not delete ${failed.length} of ${keys.length} objects (${first?.Code ?? 'unknown'}: ${first?.Key ?? ''})`,
        );
      }
    },
    ping: confirmBucket,
    createMultipartUpload({ key, contentType }) {
      return call('create multipart upload', async () => {
        const out = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ContentType: contentType }));
        if (!out.UploadId) throw new Error('no UploadId');
        return out.UploadId;
      });
    },
    presignUploadPart({ key, uploadId, partNumber, contentLength, expiresInSeconds }) {
      return call('presign upload part', () =>
        urls.presign({
          operation: 'UploadPart',
          method: 'PUT',
          key,
          query: { partNumber: String(partNumber), uploadId },
          headers: { 'content-length': String(contentLength) },
          expiresInSeconds,
        }),
      );
    },
    completeMultipartUpload({ key, uploadId, parts }) {
      return call(
        'complete multipart upload',
        async () => {
          // The SDK also raises S3's "200 OK with an error document" answer as an error.
          await s3.send(
            new CompleteMultipartUploadCommand({
              Bucket: bucket,
              Key: key,
              UploadId: uploadId,
              MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.partNumber, ETag: p.etag })) },
            }),
          );
          return 'completed' as const;
        },
        (error) => {
          const name = errorName(error);
          if (name === 'NoSuchUpload') return { answer: 'no-such-upload' as const };
          if (name === 'InvalidPart' || name === 'InvalidPartOrder' || name === 'EntityTooSmall') {
            throw new InvalidPartsError(name, { cause: error });
          }
          return undefined;
        },
      );
    },
    async abortMultipartUpload({ key, uploadId }) {
      await call(
        'abort multipart upload',
        async () => {
          await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }));
        },
        (error) => (errorName(error) === 'NoSuchUpload' || isNotFound(error) ? { answer: undefined } : undefined),
      );
    },
  };
}

/** `getSignedUrl` with the equivalent SDK command, for endpoints the fast path leaves to it. */
function signWithMiddlewareStack(signer: S3Client, bucket: string, request: ObjectUrlRequest): Promise<string> {
  const headers = request.headers ?? {};
  const contentLength = headers['content-length'] === undefined ? undefined : Number(headers['content-length']);
  const options = { expiresIn: request.expiresInSeconds, signableHeaders: new Set(Object.keys(headers)) };
  switch (request.operation) {
    case 'PutObject':
      return getSignedUrl(
        signer,
        new PutObjectCommand({
          Bucket: bucket,
          Key: request.key,
          ContentType: headers['content-type'],
          ContentLength: contentLength,
          IfNoneMatch: headers['if-none-match'],
        }),
        options,
      );
    case 'UploadPart':
      return getSignedUrl(
        signer,
        new UploadPartCommand({
          Bucket: bucket,
          Key: request.key,
          UploadId: request.query?.uploadId,
          PartNumber: Number(request.query?.partNumber),
          ContentLength: contentLength,
        }),
        options,
      );
    case 'GetObject':
      return getSignedUrl(signer, new GetObjectCommand({ Bucket: bucket, Key: request.key }), options);
  }
}
