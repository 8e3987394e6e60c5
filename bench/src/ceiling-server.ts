/**
 * The ceiling: the same work as `upload.initiate`, hand-written on the same
 * libraries (Fastify, jose, pg, zod, the AWS SDK) with no tRPC and no
 * layering. Verify the JWT with a pre-imported key, validate the input,
 * presign the PUT as the product does, insert the job with one
 * `INSERT … SELECT` that checks session ownership, answer the same fields.
 *
 * Two routes differ only in how they presign:
 * - `POST /initiate`: `getSignedUrl`, the SDK's documented way to presign;
 * - `POST /initiate/request-presigner`: the SDK's `S3RequestPresigner` (the
 *   SigV4 signer `getSignedUrl` ends in, and the one the product uses) on a
 *   request built by hand, without the client's middleware stack.
 *
 * Started as a child process by the bench; configured through its environment.
 */
import { createSecretKey, randomUUID } from 'node:crypto';

import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl, S3RequestPresigner } from '@aws-sdk/s3-request-presigner';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { jwtVerify } from 'jose';
import pg from 'pg';
import { z } from 'zod';

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
const key = createSecretKey(Buffer.from(required('BENCH_JWT_SECRET'), 'utf8'));
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
const presigner = new S3RequestPresigner({ credentials: s3.config.credentials, region: 'us-east-1', sha256: s3.config.sha256 });

const EXTENSIONS = { 'video/mp4': 'mp4', 'video/quicktime': 'mov', 'video/webm': 'webm', 'video/3gpp': '3gp' } as const;
const InputSchema = z.strictObject({
  sessionId: z.uuid().transform((id) => id.toLowerCase()),
  sampleFps: z.int().min(1).max(30).default(10),
  includeFrames: z.boolean().default(false),
  contentType: z.enum(['video/mp4', 'video/quicktime', 'video/webm', 'video/3gpp']).default('video/mp4'),
  sizeBytes: z.int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
});

const INSERT_JOB = `
  insert into video_analysis_jobs
    (id, session_id, owner_type, owner_id, created_by, video_id, status, sample_fps, include_frames,
     s3_bucket, s3_key, content_type, declared_size_bytes, upload_expires_at, upload_mode)
  select $1, s.id, s.owner_type, s.owner_id, $2, $3, 'awaiting_upload', $4, $5, $6, $7, $8, $9, $10, 'single'
  from video_sessions s where s.id = $11 and s.owner_type = $12 and s.owner_id = $13
  returning status`;

type Presign = (p: { key: string; contentType: string; sizeBytes: number | undefined }) => Promise<string>;

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
        ...(sizeBytes === undefined ? {} : { 'content-length': String(sizeBytes) }),
      },
    },
    { expiresIn, signableHeaders: new Set(['content-type', 'if-none-match']) },
  );
  const query = Object.entries(signed.query ?? {})
    .map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(String(value))}`)
    .join('&');
  return `${endpoint.origin}${path}?${query}`;
};

function initiate(presign: Presign) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const token = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
    if (!token) return reply.code(401).send({ error: 'UNAUTHENTICATED' });
    let claims;
    try {
      claims = (await jwtVerify(token, key, { algorithms: ['HS256'] })).payload;
    } catch {
      return reply.code(401).send({ error: 'TOKEN_INVALID' });
    }
    const role = claims.role;
    if (typeof claims.sub !== 'string' || (role !== 'coach_pro_plus' && role !== 'org_pro')) {
      return reply.code(403).send({ error: 'ROLE_NOT_ALLOWED' });
    }
    const owner =
      role === 'coach_pro_plus' ? { type: 'coach', id: claims.sub } : { type: 'org', id: String(claims.org_id ?? '') };
    const parsed = InputSchema.safeParse(req.body);
    if (!parsed.success) return reply.code(400).send({ error: 'INVALID_INPUT' });
    const input = parsed.data;
    if (input.sizeBytes !== undefined && input.sizeBytes > maxUploadBytes) {
      return reply.code(413).send({ error: 'FILE_TOO_LARGE' });
    }

    const jobId = randomUUID();
    const videoId = randomUUID();
    const s3Key = `coach_plus/${owner.type}/${encodeURIComponent(owner.id)}/${input.sessionId}/${videoId}/original.${EXTENSIONS[input.contentType]}`;
    const expiresAt = new Date(Date.now() + expiresIn * 1000);
    const presignedUrl = await presign({ key: s3Key, contentType: input.contentType, sizeBytes: input.sizeBytes });
    const { rows } = await pool.query<{ status: string }>(INSERT_JOB, [
      jobId,
      claims.sub,
      videoId,
      input.sampleFps,
      input.includeFrames,
      bucket,
      s3Key,
      input.contentType,
      input.sizeBytes ?? null,
      expiresAt,
      input.sessionId,
      owner.type,
      owner.id,
    ]);
    const row = rows[0];
    if (!row) return reply.code(404).send({ error: 'SESSION_NOT_FOUND' });
    return {
      jobId,
      sessionId: input.sessionId,
      videoId,
      status: row.status,
      uploadMode: 'single',
      presignedUrl,
      method: 'PUT',
      headers: { 'content-type': input.contentType, 'if-none-match': '*' },
      multipart: null,
      expiresIn,
      expiresAt: expiresAt.toISOString(),
      s3Bucket: bucket,
      s3Key,
      maxSizeBytes: maxUploadBytes,
    };
  };
}

const app = Fastify({ logger: false });
app.post('/initiate', initiate(withGetSignedUrl));
app.post('/initiate/request-presigner', initiate(withRequestPresigner));

const address = await app.listen({ host: '127.0.0.1', port: Number(required('BENCH_PORT')) });
process.stdout.write(`ceiling listening on ${address}\n`);
process.once('SIGTERM', () => void app.close().then(() => pool.end()).then(() => process.exit(0)));
