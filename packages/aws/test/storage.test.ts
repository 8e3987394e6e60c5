import { createHash, randomBytes } from 'node:crypto';

import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import {
  AwsMisconfiguredError,
  AwsUnavailableError,
  createAwsClients,
  createS3Storage,
  type AwsClients,
  type ObjectStorage,
} from '../src/index.ts';

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
let clients: AwsClients;
let unreachable: AwsClients;
let storage: ObjectStorage;
let bucket: string;

beforeAll(async () => {
  clients = createAwsClients({ region: 'us-east-1', endpoint: inject('awsEndpoint'), credentials });
  unreachable = createAwsClients({
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:1',
    credentials,
    maxAttempts: 1,
    requestTimeoutMs: 1_000,
  });
  bucket = `storage-test-${randomBytes(6).toString('hex')}`;
  await clients.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  storage = createS3Storage({ s3: clients.s3, signer: clients.s3Signer, bucket });
});
afterAll(() => {
  clients?.destroy();
  unreachable?.destroy();
});

const uniqueKey = (name = 'original.mp4') => `coach_plus/coach/c-1/${randomBytes(6).toString('hex')}/${name}`;

async function upload(key: string, bytes: Buffer, contentType = 'video/mp4') {
  const signed = await storage.presignPut({ key, contentType, contentLength: bytes.length, expiresInSeconds: 300 });
  const response = await fetch(signed.url, { method: signed.method, headers: signed.headers, body: bytes });
  await response.arrayBuffer();
  expect(response.status).toBe(200);
  return signed;
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

describe('presignPut', () => {
  const cases = [
    { key: 'a.mp4', contentType: 'video/mp4', contentLength: 1, expiresInSeconds: 60 },
    { key: uniqueKey('original.mov'), contentType: 'video/quicktime', contentLength: 123_456_789, expiresInSeconds: 900 },
    {
      key: 'coach_plus/org/org%2Fx/s/v/original.webm',
      contentType: 'video/webm',
      contentLength: 5 * 1024 ** 3,
      expiresInSeconds: 3600,
    },
    { key: 'dir/with space/ünï.3gp', contentType: 'video/3gpp', contentLength: undefined, expiresInSeconds: 604_800 },
  ];

  it.each(cases)('signs $key ($contentLength bytes) without checksum parameters', async (params) => {
    const signed = await storage.presignPut(params);
    expect(signed.method).toBe('PUT');
    // Create-only: the URL cannot replace an object once it exists.
    expect(signed.headers).toEqual({ 'content-type': params.contentType, 'if-none-match': '*' });

    const url = new URL(signed.url);
    const names = [...url.searchParams.keys()].map((k) => k.toLowerCase());
    expect(names.filter((n) => n.startsWith('x-amz-checksum'))).toEqual([]);
    expect(names).not.toContain('x-amz-sdk-checksum-algorithm');
    expect(signed.url.toLowerCase()).not.toContain('checksum');

    expect(url.pathname.startsWith(`/${bucket}/`)).toBe(true);
    expect(url.searchParams.get('X-Amz-Expires')).toBe(String(params.expiresInSeconds));
    expect(url.searchParams.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
    expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    const signedHeaders = url.searchParams.get('X-Amz-SignedHeaders')?.split(';') ?? [];
    expect(signedHeaders).toContain('host');
    expect(signedHeaders).toContain('content-type');
    expect(signedHeaders).toContain('if-none-match');
    if (params.contentLength === undefined) {
      expect(signedHeaders).not.toContain('content-length');
    } else {
      expect(signedHeaders).toContain('content-length');
    }
  });

  it('stores the bytes PUT to the URL with its headers; head reports size, type and etag', async () => {
    const key = uniqueKey();
    const bytes = randomBytes(100_003);
    await upload(key, bytes);
    const stored = await storage.head(key);
    expect(stored).toEqual({
      sizeBytes: bytes.length,
      contentType: 'video/mp4',
      etag: `"${createHash('md5').update(bytes).digest('hex')}"`,
    });
  });
});

describe('head', () => {
  it('returns undefined for a missing key', async () => {
    await expect(storage.head(uniqueKey())).resolves.toBeUndefined();
  });

  it('throws AwsUnavailableError with no AWS text when the endpoint is unreachable', async () => {
    const offline = createS3Storage({ s3: unreachable.s3, signer: unreachable.s3Signer, bucket });
    const error = await offline.head('any.mp4').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AwsUnavailableError);
    const message = (error as Error).message;
    expect(message).toBe('head object failed');
    expect(message).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|amz|aws|s3|bucket/i);
    expect((error as Error).cause).toBeDefined();

    await expect(offline.ping()).rejects.toBeInstanceOf(AwsUnavailableError);
    await expect(offline.delete('any.mp4')).rejects.toBeInstanceOf(AwsUnavailableError);
    await expect(offline.getStream('any.mp4')).rejects.toBeInstanceOf(AwsUnavailableError);
  });
});

describe('delete', () => {
  it('resolves for a missing key', async () => {
    await expect(storage.delete(uniqueKey())).resolves.toBeUndefined();
  });

  it('removes a stored object', async () => {
    const key = uniqueKey();
    await upload(key, randomBytes(10));
    expect(await storage.head(key)).toBeDefined();
    await storage.delete(key);
    await expect(storage.head(key)).resolves.toBeUndefined();
  });
});

describe('downloads', () => {
  it('presignGet gives a URL that downloads the same bytes and expires as asked', async () => {
    const key = uniqueKey();
    const bytes = randomBytes(33_333);
    await upload(key, bytes);
    const url = await storage.presignGet({ key, expiresInSeconds: 120 });
    expect(new URL(url).searchParams.get('X-Amz-Expires')).toBe('120');
    expect(url.toLowerCase()).not.toContain('checksum');
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(Buffer.from(await response.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it('getStream returns the stored bytes, and undefined for a missing key', async () => {
    const key = uniqueKey();
    const bytes = randomBytes(70_000);
    await upload(key, bytes);
    const stream = await storage.getStream(key);
    expect(stream).toBeDefined();
    expect((await readAll(stream!)).equals(bytes)).toBe(true);
    await expect(storage.getStream(uniqueKey())).resolves.toBeUndefined();
  });
});

describe('ping', () => {
  it('resolves for the bucket and fails for a missing bucket', async () => {
    await expect(storage.ping()).resolves.toBeUndefined();
    const missing = createS3Storage({
      s3: clients.s3,
      signer: clients.s3Signer,
      bucket: `missing-${randomBytes(4).toString('hex')}`,
    });
    await expect(missing.ping()).rejects.toBeInstanceOf(AwsUnavailableError);
  });
});

describe('a bucket that does not exist', () => {
  it('is a misconfiguration naming the setting for every call, never a missing object', async () => {
    const bucket = `missing-${randomBytes(4).toString('hex')}`;
    const missing = createS3Storage({
      s3: clients.s3,
      signer: clients.s3Signer,
      bucket,
      describedAs: { setting: 'S3_COACH_VIDEOS_BUCKET', endpoint: 'http://storage.test' },
    });
    const key = uniqueKey();
    const calls = {
      head: () => missing.head(key),
      getStream: () => missing.getStream(key),
      delete: () => missing.delete(key),
      putObject: () => missing.putObject(key, 'x', 'text/plain'),
      createMultipartUpload: () => missing.createMultipartUpload({ key, contentType: 'video/mp4' }),
      ping: () => missing.ping(),
    };
    for (const [name, call] of Object.entries(calls)) {
      const error = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, name).toBeInstanceOf(AwsMisconfiguredError);
      expect((error as AwsMisconfiguredError).problem, name).toBe('missing');
      expect((error as Error).message, name).toBe(
        `S3_COACH_VIDEOS_BUCKET: bucket ${bucket} does not exist at http://storage.test`,
      );
    }
  });
});
