import { GetObjectCommand, PutObjectCommand, S3Client, UploadPartCommand, type S3ClientConfig } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { createS3Storage } from '../src/index.ts';

// Presigned URLs are compared byte for byte with the SDK's getSignedUrl for the
// same inputs at the same instant: same host and path, same query, same signature.

const FROZEN = new Date('2026-11-24T10:11:12.345Z');
const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };

function signingClient(config: S3ClientConfig): S3Client {
  // Built as createAwsClients builds its signing client.
  return new S3Client({
    region: 'us-east-1',
    credentials,
    forcePathStyle: config.endpoint !== undefined,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    ...config,
  });
}

const endpoints: { name: string; bucket: string; config: S3ClientConfig; expectedPrefix: string }[] = [
  {
    name: 'custom endpoint, path-style',
    bucket: 'coach-videos',
    config: { endpoint: 'http://127.0.0.1:4566' },
    expectedPrefix: 'http://127.0.0.1:4566/coach-videos/',
  },
  {
    name: 'custom endpoint with a path, path-style',
    bucket: 'coach-videos',
    config: { endpoint: 'https://storage.example.com:9443/s3/' },
    expectedPrefix: 'https://storage.example.com:9443/s3/coach-videos/',
  },
  {
    name: 'AWS, virtual-hosted',
    bucket: 'coach-videos',
    config: {},
    expectedPrefix: 'https://coach-videos.s3.us-east-1.amazonaws.com/',
  },
  {
    name: 'AWS in another region, virtual-hosted',
    bucket: 'coach-videos-eu',
    config: { region: 'eu-west-2' },
    expectedPrefix: 'https://coach-videos-eu.s3.eu-west-2.amazonaws.com/',
  },
  {
    name: 'AWS, bucket name with dots (path-style over TLS)',
    bucket: 'coach.videos.example',
    config: { region: 'eu-west-2' },
    expectedPrefix: 'https://s3.eu-west-2.amazonaws.com/coach.videos.example/',
  },
  {
    name: 'AWS, temporary credentials with a session token',
    bucket: 'coach-videos',
    config: { credentials: { ...credentials, sessionToken: 'FwoGZXIvYXdzEJr//////////wEaDOpe+sessiontoken=' } },
    expectedPrefix: 'https://coach-videos.s3.us-east-1.amazonaws.com/',
  },
];

const keys = [
  'coach_plus/coach/coach-123/6f1c1a52-6a4e-4b0c-9a2d-6f1f7f0b8a11/0b6e7c8d-1f2a-4e3b-8c4d-5e6f7a8b9c0d/original.mp4',
  // Owner ids are URI-encoded into the key, so keys hold `%`; S3 encodes it again.
  'coach_plus/org/auth0%7Corg%2B1%40x.y%3Az%3D/s/v/original.mov',
  "dir/with space/ünï cødé/!'()*~_-.+=&?#;,$@:[]/file.3gp",
  'a//double/slash/',
];

let clients: S3Client[] = [];
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(FROZEN);
});
afterEach(() => {
  vi.useRealTimers();
  for (const client of clients) client.destroy();
  clients = [];
});

function setup(config: S3ClientConfig, bucket: string) {
  const signer = signingClient(config);
  clients.push(signer);
  return { signer, storage: createS3Storage({ s3: signer, signer, bucket }) };
}

describe.each(endpoints)('presigned URLs: $name', ({ bucket, config, expectedPrefix }) => {
  it.each(keys)('PUT with Content-Type, Content-Length and If-None-Match: * equals getSignedUrl (%s)', async (key) => {
    const { signer, storage } = setup(config, bucket);
    const ours = await storage.presignPut({ key, contentType: 'video/mp4', contentLength: 123_456_789, expiresInSeconds: 3600 });
    const sdk = await getSignedUrl(
      signer,
      new PutObjectCommand({ Bucket: bucket, Key: key, ContentType: 'video/mp4', ContentLength: 123_456_789, IfNoneMatch: '*' }),
      { expiresIn: 3600, signableHeaders: new Set(['content-type', 'if-none-match']) },
    );
    expect(ours.url).toBe(sdk);
    expect(ours.url.startsWith(expectedPrefix)).toBe(true);
    expect(new URL(ours.url).searchParams.get('X-Amz-SignedHeaders')).toBe('content-length;content-type;host;if-none-match');
    expect(ours.headers).toEqual({ 'content-type': 'video/mp4', 'if-none-match': '*' });
  });

  it('PUT without a declared length equals getSignedUrl', async () => {
    const { signer, storage } = setup(config, bucket);
    const key = keys[2] as string;
    const ours = await storage.presignPut({ key, contentType: 'video/quicktime', expiresInSeconds: 604_800 });
    const sdk = await getSignedUrl(
      signer,
      new PutObjectCommand({ Bucket: bucket, Key: key, ContentType: 'video/quicktime', IfNoneMatch: '*' }),
      { expiresIn: 604_800, signableHeaders: new Set(['content-type', 'if-none-match']) },
    );
    expect(ours.url).toBe(sdk);
    expect(new URL(ours.url).searchParams.get('X-Amz-SignedHeaders')).toBe('content-type;host;if-none-match');
  });

  it.each(keys)('UploadPart equals getSignedUrl (%s)', async (key) => {
    const { signer, storage } = setup(config, bucket);
    const uploadId = 'VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA+/=~';
    const ours = await storage.presignUploadPart({
      key,
      uploadId,
      partNumber: 42,
      contentLength: 16 * 1024 ** 2,
      expiresInSeconds: 900,
    });
    const sdk = await getSignedUrl(
      signer,
      new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: 42, ContentLength: 16 * 1024 ** 2 }),
      { expiresIn: 900 },
    );
    expect(ours).toBe(sdk);
    expect(ours.startsWith(expectedPrefix)).toBe(true);
  });

  it.each(keys)('GET equals getSignedUrl (%s)', async (key) => {
    const { signer, storage } = setup(config, bucket);
    const ours = await storage.presignGet({ key, expiresInSeconds: 300 });
    const sdk = await getSignedUrl(signer, new GetObjectCommand({ Bucket: bucket, Key: key }), { expiresIn: 300 });
    expect(ours).toBe(sdk);
    expect(ours.startsWith(expectedPrefix)).toBe(true);
  });
});

describe('presigned URLs over time', () => {
  it('sign with the current date on every call (the day in the scope follows the clock)', async () => {
    const { signer, storage } = setup({}, 'coach-videos');
    const before = await storage.presignGet({ key: 'a.mp4', expiresInSeconds: 60 });
    vi.setSystemTime(new Date('2026-11-25T00:00:01Z'));
    const after = await storage.presignGet({ key: 'a.mp4', expiresInSeconds: 60 });
    expect(new URL(before).searchParams.get('X-Amz-Date')).toBe('20261124T101112Z');
    expect(new URL(after).searchParams.get('X-Amz-Credential')).toBe('AKIDEXAMPLE/20261125/us-east-1/s3/aws4_request');
    expect(after).toBe(
      await getSignedUrl(signer, new GetObjectCommand({ Bucket: 'coach-videos', Key: 'a.mp4' }), { expiresIn: 60 }),
    );
  });

  it('use refreshed credentials once the provider’s expire, and cached ones until then', async () => {
    let calls = 0;
    const provider = async () => {
      calls += 1;
      return {
        accessKeyId: `AKIDROTATION${calls}`,
        secretAccessKey: `secret-${calls}`,
        sessionToken: `token-${calls}`,
        expiration: new Date(Date.now() + 15 * 60_000),
      };
    };
    const { signer, storage } = setup({ credentials: provider }, 'coach-videos');
    const sdkUrl = () =>
      getSignedUrl(
        signer,
        new PutObjectCommand({ Bucket: 'coach-videos', Key: 'k.mp4', ContentType: 'video/mp4', IfNoneMatch: '*' }),
        {
          expiresIn: 600,
          signableHeaders: new Set(['content-type', 'if-none-match']),
        },
      );
    const put = () => storage.presignPut({ key: 'k.mp4', contentType: 'video/mp4', expiresInSeconds: 600 });

    const first = await put();
    for (let i = 0; i < 5; i++) await put();
    expect(new URL(first.url).searchParams.get('X-Amz-Credential')).toMatch(/^AKIDROTATION1\//);
    expect(new URL(first.url).searchParams.get('X-Amz-Security-Token')).toBe('token-1');
    expect(first.url).toBe(await sdkUrl());
    expect(calls).toBe(1);

    // The SDK refreshes credentials within 5 minutes of their expiry.
    vi.setSystemTime(Date.now() + 11 * 60_000);
    const second = await put();
    expect(new URL(second.url).searchParams.get('X-Amz-Credential')).toMatch(/^AKIDROTATION2\//);
    expect(new URL(second.url).searchParams.get('X-Amz-Security-Token')).toBe('token-2');
    expect(second.url).toBe(await sdkUrl());
    expect(calls).toBe(2);
  });
});

describe('S3 Express directory buckets', () => {
  const bucket = 'coach-videos--use1-az4--x-s3';
  // Session credentials come from CreateSession; here a fixed provider stands in for that call.
  const s3ExpressIdentityProvider = {
    getS3ExpressIdentity: async () => ({
      accessKeyId: 'SESSIONKEY',
      secretAccessKey: 'SESSIONSECRET',
      sessionToken: 'SESSIONTOKEN',
      expiration: new Date(Date.now() + 5 * 60_000),
    }),
  };

  it.each([
    { auth: 'session auth (signed by getSignedUrl itself)', disableS3ExpressSessionAuth: false, token: 'SESSIONTOKEN' },
    { auth: 'plain SigV4 (session auth disabled)', disableS3ExpressSessionAuth: true, token: null },
  ])('$auth: every URL equals getSignedUrl', async ({ disableS3ExpressSessionAuth, token }) => {
    const { signer, storage } = setup({ disableS3ExpressSessionAuth, s3ExpressIdentityProvider }, bucket);
    const key = keys[2] as string;

    const put = await storage.presignPut({ key, contentType: 'video/webm', contentLength: 99, expiresInSeconds: 300 });
    expect(put.url).toBe(
      await getSignedUrl(
        signer,
        new PutObjectCommand({ Bucket: bucket, Key: key, ContentType: 'video/webm', ContentLength: 99, IfNoneMatch: '*' }),
        { expiresIn: 300, signableHeaders: new Set(['content-type', 'if-none-match']) },
      ),
    );
    const part = await storage.presignUploadPart({
      key,
      uploadId: 'up-1',
      partNumber: 2,
      contentLength: 7,
      expiresInSeconds: 300,
    });
    expect(part).toBe(
      await getSignedUrl(
        signer,
        new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: 'up-1', PartNumber: 2, ContentLength: 7 }),
        {
          expiresIn: 300,
        },
      ),
    );
    const get = await storage.presignGet({ key, expiresInSeconds: 300 });
    expect(get).toBe(await getSignedUrl(signer, new GetObjectCommand({ Bucket: bucket, Key: key }), { expiresIn: 300 }));

    for (const url of [put.url, part, get]) {
      expect(url.startsWith(`https://${bucket}.s3express-use1-az4.us-east-1.amazonaws.com/`)).toBe(true);
      expect(new URL(url).searchParams.get('X-Amz-S3session-Token')).toBe(token);
    }
  });
});
