/**
 * The ceilings: the work of `upload.initiate`, hand-written on the same
 * libraries (Fastify, jose, pg, zod, the AWS SDK) with no tRPC and no
 * layering. Each route verifies the JWT, validates the input, checks that the
 * session is the caller's, inserts the job, presigns the PUT and answers the
 * same fields as the product. They differ only in how carefully:
 *
 * - `POST /initiate/straightforward`, the server the issue describes and the
 *   one the ≥ 1.5 target is measured against: jose given the secret's bytes
 *   (as its documentation shows), the session read and then the job inserted
 *   (two statements), `getSignedUrl` (the SDK's documented way to presign);
 * - `POST /initiate/tuned-get-signed-url`: a key imported once, one prepared
 *   `INSERT … SELECT` that checks ownership as it inserts, `getSignedUrl`;
 * - `POST /initiate/tuned`: the same, presigning as the product does, with the
 *   SDK's `S3RequestPresigner` and key-object HMACs on a request built by hand.
 *   Ours against this one is what tRPC and the layering cost.
 *
 * Started as a child process by the bench; configured through its environment.
 */
import { createSecretKey, randomUUID } from 'node:crypto';

import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl, S3RequestPresigner } from '@aws-sdk/s3-request-presigner';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { jwtVerify, type JWTPayload } from 'jose';
import pg from 'pg';
import { z } from 'zod';

import { KeyObjectSha256 } from '@coach/aws';

const env = process.env;
const required = (name: string): string => {
  const value = env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};
const bucket = required('BENCH_BUCKET');
const endpoint = new URL(required('BENCH_AWS_ENDPOINT'));
const expiresIn = 3600;
const maxUploadBytes = 8 * 1024 ** 3;
const secretBytes = new TextEncoder().encode(required('BENCH_JWT_SECRET'));
const importedKey = createSecretKey(secretBytes);
const pool = new pg.Pool({ connectionString: required('BENCH_DATABASE_URL'), max: 10 });
pool.on('error', () => {});
const s3 = new S3Client({
  region: 'us-east-1',
  endpoint: endpoint.href,
  forcePathStyle: true,
  credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
});
const presigner = new S3RequestPresigner({ credentials: s3.config.credentials, region: 'us-east-1', sha256: KeyObjectSha256 });

const EXTENSIONS = { 'video/mp4': 'mp4', 'video/quicktime': 'mov', 'video/webm': 'webm', 'video/3gpp': '3gp' } as const;
const InputSchema = z.strictObject({
  sessionId: z.uuid().transform((id) => id.toLowerCase()),
  sampleFps: z.int().min(1).max(30).default(10),
  includeFrames: z.boolean().default(false),
  contentType: z.enum(['video/mp4', 'video/quicktime', 'video/webm', 'video/3gpp']).default('video/mp4'),
  sizeBytes: z.int().min(1).max(Number.MAX_SAFE_INTEGER),
});

const JOB_COLUMNS = `id, session_id, owner_type, owner_id, created_by, video_id, status, sample_fps, include_frames,
  s3_bucket, s3_key, content_type, declared_size_bytes, upload_expires_at, upload_mode`;

interface NewJob {
  jobId: string;
  userId: string;
  videoId: string;
  sampleFps: number;
  includeFrames: boolean;
  s3Key: string;
  contentType: string;
  sizeBytes: number;
  expiresAt: Date;
  sessionId: string;
  owner: { type: string; id: string };
}

/** Inserts the job if the session is the owner's; answers its status, or undefined for no such session. */
type StoreJob = (job: NewJob) => Promise<string | undefined>;

const readSessionThenInsert: StoreJob = async (job) => {
  const session = await pool.query<{ owner_type: string; owner_id: string }>(
    'select owner_type, owner_id from video_sessions where id = $1',
    [job.sessionId],
  );
  const row = session.rows[0];
  if (!row || row.owner_type !== job.owner.type || row.owner_id !== job.owner.id) return undefined;
  const inserted = await pool.query<{ status: string }>(
    `insert into video_analysis_jobs (${JOB_COLUMNS})
     values ($1, $2, $3, $4, $5, $6, 'awaiting_upload', $7, $8, $9, $10, $11, $12, $13, 'single')
     returning status`,
    [
      job.jobId,
      job.sessionId,
      job.owner.type,
      job.owner.id,
      job.userId,
      job.videoId,
      job.sampleFps,
      job.includeFrames,
      bucket,
      job.s3Key,
      job.contentType,
      job.sizeBytes,
      job.expiresAt,
    ],
  );
  return inserted.rows[0]?.status;
};

const INSERT_JOB_FOR_OWNED_SESSION = `
  insert into video_analysis_jobs (${JOB_COLUMNS})
  select $1, s.id, s.owner_type, s.owner_id, $2, $3, 'awaiting_upload', $4, $5, $6, $7, $8, $9, $10, 'single'
  from video_sessions s where s.id = $11 and s.owner_type = $12 and s.owner_id = $13
  returning status`;

const insertForOwnedSessionPrepared: StoreJob = async (job) => {
  const { rows } = await pool.query<{ status: string }>({
    name: 'ceiling_insert_job',
    text: INSERT_JOB_FOR_OWNED_SESSION,
    values: [
      job.jobId,
      job.userId,
      job.videoId,
      job.sampleFps,
      job.includeFrames,
      bucket,
      job.s3Key,
      job.contentType,
      job.sizeBytes,
      job.expiresAt,
      job.sessionId,
      job.owner.type,
      job.owner.id,
    ],
  });
  return rows[0]?.status;
};

type Verify = (token: string) => Promise<JWTPayload>;
const verifyWithSecretBytes: Verify = async (token) => (await jwtVerify(token, secretBytes, { algorithms: ['HS256'] })).payload;
const verifyWithImportedKey: Verify = async (token) => (await jwtVerify(token, importedKey, { algorithms: ['HS256'] })).payload;

type Presign = (p: { key: string; contentType: string; sizeBytes: number }) => Promise<string>;

const withGetSignedUrl: Presign = ({ key: s3Key, contentType, sizeBytes }) =>
  getSignedUrl(
    s3,
    new PutObjectCommand({ Bucket: bucket, Key: s3Key, ContentType: contentType, ContentLength: sizeBytes, IfNoneMatch: '*' }),
    { expiresIn, signableHeaders: new Set(['content-type', 'if-none-match']) },
  );

const withRequestPresigner: Presign = async ({ key: s3Key, contentType, sizeBytes }) => {
  // Path-style, as for any custom endpoint; the key's characters are all unreserved but `/` and `%`.
  const path = `/${bucket}/${s3Key.split('/').map(encodeURIComponent).join('/')}`;
  const signed = await presigner.presign(
    {
      method: 'PUT',
      protocol: endpoint.protocol,
      hostname: endpoint.hostname,
      port: Number(endpoint.port),
      path,
      query: { 'x-id': 'PutObject' },
      headers: {
        host: endpoint.host,
        'content-type': contentType,
        'if-none-match': '*',
        'content-length': String(sizeBytes),
      },
    },
    { expiresIn, signableHeaders: new Set(['content-type', 'if-none-match']) },
  );
  const query = Object.entries(signed.query ?? {})
    .map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(String(value))}`)
    .join('&');
  return `${endpoint.origin}${path}?${query}`;
};

interface Variant {
  verify: Verify;
  store: StoreJob;
  presign: Presign;
}

function initiate({ verify, store, presign }: Variant) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const token = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
    if (!token) return reply.code(401).send({ error: 'UNAUTHENTICATED' });
    let claims;
    try {
      claims = await verify(token);
    } catch {
      return reply.code(401).send({ error: 'TOKEN_INVALID' });
    }
    const role = claims.role;
    if (typeof claims.sub !== 'string' || (role !== 'coach_pro_plus' && role !== 'org_pro')) {
      return reply.code(403).send({ error: 'ROLE_NOT_ALLOWED' });
    }
    const owner =
      role === 'coach_pro_plus'
        ? { type: 'coach', id: claims.sub }
        : { type: 'org', id: typeof claims.org_id === 'string' ? claims.org_id : '' };
    const parsed = InputSchema.safeParse(req.body);
    if (!parsed.success) return reply.code(400).send({ error: 'INVALID_INPUT' });
    const input = parsed.data;
    if (input.sizeBytes > maxUploadBytes) {
      return reply.code(413).send({ error: 'FILE_TOO_LARGE' });
    }

    const jobId = randomUUID();
    const videoId = randomUUID();
    const s3Key = `coach_plus/${owner.type}/${encodeURIComponent(owner.id)}/${input.sessionId}/${videoId}/original.${EXTENSIONS[input.contentType]}`;
    const expiresAt = new Date(Date.now() + expiresIn * 1000);
    const presignedUrl = await presign({ key: s3Key, contentType: input.contentType, sizeBytes: input.sizeBytes });
    const status = await store({
      jobId,
      userId: claims.sub,
      videoId,
      sampleFps: input.sampleFps,
      includeFrames: input.includeFrames,
      s3Key,
      contentType: input.contentType,
      sizeBytes: input.sizeBytes,
      expiresAt,
      sessionId: input.sessionId,
      owner,
    });
    if (!status) return reply.code(404).send({ error: 'SESSION_NOT_FOUND' });
    return {
      jobId,
      sessionId: input.sessionId,
      videoId,
      status,
      uploadMode: 'single',
      presignedUrl,
      method: 'PUT',
      headers: { 'content-type': input.contentType, 'if-none-match': '*' },
      multipart: null,
      expiresIn,
      expiresAt: expiresAt.toISOString(),
      // The upload's deadline, as ours answers it: here the URL's expiry (ours: the same, at the default idle window).
      uploadExpiresAt: expiresAt.toISOString(),
      s3Bucket: bucket,
      s3Key,
      maxSizeBytes: maxUploadBytes,
    };
  };
}

const app = Fastify({ logger: false });
app.post(
  '/initiate/straightforward',
  initiate({ verify: verifyWithSecretBytes, store: readSessionThenInsert, presign: withGetSignedUrl }),
);
app.post(
  '/initiate/tuned-get-signed-url',
  initiate({ verify: verifyWithImportedKey, store: insertForOwnedSessionPrepared, presign: withGetSignedUrl }),
);
app.post(
  '/initiate/tuned',
  initiate({ verify: verifyWithImportedKey, store: insertForOwnedSessionPrepared, presign: withRequestPresigner }),
);

const address = await app.listen({ host: '127.0.0.1', port: Number(required('BENCH_PORT')) });
process.stdout.write(`ceiling listening on ${address}\n`);
process.once(
  'SIGTERM',
  () =>
    void app
      .close()
      .then(() => pool.end())
      .then(() => process.exit(0)),
);
