import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { SERVICE_KEY_STREAM_RECHECK_MS } from '@coach/api';
import { createClient, errorCodeOf, type ApiClient, type RouterInputs } from '@coach/client';
import { sql } from '@coach/db';

import { manualClock } from '../../../test/helpers/clock.ts';
import { orgUserX1, orgUserY } from '../../../test/helpers/identities.ts';
import { startTestServer, type TestServer } from '../../../test/helpers/server.ts';
import { putUrl } from '../../../test/helpers/upload.ts';
import { waitFor } from '../../../test/helpers/wait.ts';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../../..');
const script = path.join(root, 'scripts/try-service-key.ts');

let server: TestServer;
let staff: ApiClient;
let dir: string;
beforeAll(async () => {
  server = await startTestServer();
  staff = server.clientFor(orgUserX1);
  dir = await mkdtemp(path.join(tmpdir(), 'service-keys-'));
});
afterAll(async () => {
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

type CreateKeyInput = RouterInputs['serviceKeys']['create'];

async function issueKey(scopes: CreateKeyInput['scopes'], by: ApiClient = staff, extra: Partial<CreateKeyInput> = {}) {
  const created = await by.serviceKeys.create.mutate({ name: 'grading job', scopes, ...extra });
  return { ...created, client: createClient({ url: server.trpcUrl, token: created.secret }) };
}

/** A raw tRPC call with this bearer credential (queries as GET, mutations as POST): the status and the error. */
async function rawCall(kind: 'query' | 'mutation', procedure: string, credential: string, input: unknown) {
  const url = new URL(`${server.trpcUrl}/${procedure}`);
  if (kind === 'query') url.searchParams.set('input', JSON.stringify(input));
  const response = await fetch(url, {
    method: kind === 'query' ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${credential}`, 'content-type': 'application/json' },
    body: kind === 'query' ? undefined : JSON.stringify(input),
  });
  const body = (await response.json()) as { error?: { message: string; data: { appCode: string; httpStatus: number } } };
  return { status: response.status, error: body.error };
}

describe('a service key over HTTP, through the typed client', () => {
  it('creates a session, uploads, completes and reads the job, all for its org', async () => {
    const key = await issueKey(['sessions:write', 'uploads:write', 'jobs:read']);
    const session = await key.client.sessions.create.mutate({ title: 'From the club system', playerIds: ['p1'] });
    expect(session).toMatchObject({ ownerType: 'org', ownerId: 'org-x', createdBy: `service:${key.keyId}` });

    const bytes = randomBytes(50_000);
    const upload = await key.client.upload.initiate.mutate({ sessionId: session.sessionId, sizeBytes: bytes.length });
    const put = await fetch(putUrl(upload), { method: 'PUT', headers: upload.headers, body: bytes });
    expect(put.status).toBe(200);
    const done = await key.client.upload.complete.mutate({ jobId: upload.jobId });
    expect(done).toMatchObject({ jobId: upload.jobId, status: 'queued', sqsMessageId: expect.any(String) });
    await expect(key.client.jobs.get.query({ jobId: upload.jobId })).resolves.toMatchObject({
      jobId: upload.jobId,
      status: 'queued',
    });
    // The org's staff see it as theirs.
    await expect(staff.jobs.get.query({ jobId: upload.jobId })).resolves.toMatchObject({ status: 'queued' });
    expect(await server.drainQueue()).toHaveLength(1);
    await expect
      .poll(async () => (await staff.serviceKeys.list.query()).items.find((k) => k.keyId === key.keyId)?.lastUsedAt)
      .toEqual(expect.any(String));
  });

  it("never reaches another org's data, and answers 404 as for a missing one", async () => {
    const orgY = server.clientFor(orgUserY);
    const ySession = await orgY.sessions.create.mutate({ title: 'Y', playerIds: [] });
    const yJob = await orgY.upload.initiate.mutate({ sessionId: ySession.sessionId, sizeBytes: 10 });
    const key = await issueKey(['sessions:read', 'uploads:write', 'jobs:read']);
    const refusals = await Promise.all([
      rawCall('query', 'sessions.get', key.secret, { sessionId: ySession.sessionId }),
      rawCall('mutation', 'upload.complete', key.secret, { jobId: yJob.jobId }),
      rawCall('mutation', 'upload.initiate', key.secret, { sessionId: ySession.sessionId, sizeBytes: 10 }),
    ]);
    expect(refusals.map((r) => [r.status, r.error?.data.appCode])).toEqual([
      [404, 'SESSION_NOT_FOUND'],
      [404, 'JOB_NOT_FOUND'],
      [404, 'SESSION_NOT_FOUND'],
    ]);
    await expect(key.client.jobs.get.query({ jobId: yJob.jobId })).rejects.toSatisfy((e) => errorCodeOf(e) === 'JOB_NOT_FOUND');
  });

  it('answers a call outside its scopes 403 INSUFFICIENT_SCOPE naming the scope, and key management 403 whatever its scopes', async () => {
    const reader = await issueKey(['jobs:read']);
    const outside = await rawCall('mutation', 'sessions.create', reader.secret, { title: 'T', playerIds: [] });
    expect(outside.status).toBe(403);
    expect(outside.error?.data.appCode).toBe('INSUFFICIENT_SCOPE');
    expect(outside.error?.message).toContain('sessions:write');

    const everything = await issueKey(['sessions:read', 'sessions:write', 'uploads:write', 'jobs:read']);
    const minting = await rawCall('mutation', 'serviceKeys.create', everything.secret, { name: 'child', scopes: ['jobs:read'] });
    expect([minting.status, minting.error?.data.appCode]).toEqual([403, 'INSUFFICIENT_SCOPE']);
  });

  it('refuses a revoked key at once and an expired key, 401 with their own codes', async () => {
    const key = await issueKey(['sessions:read']);
    await key.client.sessions.list.query();
    await staff.serviceKeys.revoke.mutate({ keyId: key.keyId });
    const revoked = await rawCall('query', 'sessions.list', key.secret, {});
    expect([revoked.status, revoked.error?.data.appCode]).toEqual([401, 'SERVICE_KEY_REVOKED']);
    expect(revoked.error?.message).toContain('revoked');

    const expiring = await issueKey(['sessions:read'], staff, { expiresAt: new Date(Date.now() + 3_600_000).toISOString() });
    await sql`update service_keys set expires_at = now() - interval '1 second' where id = ${expiring.keyId}`.execute(server.db);
    await expect(expiring.client.sessions.list.query()).rejects.toSatisfy((e) => errorCodeOf(e) === 'SERVICE_KEY_EXPIRED');

    const unknown = await rawCall('mutation', 'sessions.create', `cpk_0123456789abcdef_${'A'.repeat(43)}`, {
      title: 'T',
      playerIds: [],
    });
    expect([unknown.status, unknown.error?.data.appCode]).toEqual([401, 'SERVICE_KEY_INVALID']);
  });
});

describe("README's service-key example", () => {
  it('is scripts/try-service-key.ts, word for word', async () => {
    const readme = await readFile(path.join(root, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Service credentials'));
    const block = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
    expect(block).toBe(await readFile(script, 'utf8'));
    expect(section).toMatch(/pnpm exec tsx scripts\/try-service-key\.ts/);
  });

  it("runs the README's shell lines as written: a staff token, the key from serviceKeys.create with curl, then the script", async () => {
    const readme = await readFile(path.join(root, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Service credentials'));
    const shell = /```bash\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
    expect(shell).toContain('serviceKeys.create');
    const base = server.trpcUrl.replace(/\/trpc$/, '');
    const video = path.join(dir, 'readme-video.mp4');
    // Only where it runs changes: this server's address and a file of this test's own.
    const lines = shell.replaceAll('http://127.0.0.1:8000', base).replaceAll('/tmp/video.mp4', video);
    const env = { ...process.env, AUTH_JWT_SECRET: server.tokenSecret, API_URL: server.trpcUrl };
    const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', lines], { cwd: root, env, timeout: 90_000 });
    expect(stdout).toMatch(/^org org-x service:[0-9a-f]{16}$/m);
    expect(stdout).toMatch(/^[0-9a-f-]{36} queued$/m);
    const keys = await staff.serviceKeys.list.query();
    expect(keys.items.find((k) => k.name === 'club system')?.scopes).toEqual(['sessions:write', 'uploads:write', 'jobs:read']);
  }, 120_000);

  it('runs as the README says, with a key of the org, and says why a revoked key is refused', async () => {
    const video = path.join(dir, 'video.mp4');
    await writeFile(video, randomBytes(100_000));
    const key = await issueKey(['sessions:write', 'uploads:write', 'jobs:read']);
    const env = { ...process.env, API_URL: server.trpcUrl, COACH_SERVICE_KEY: key.secret };
    const { stdout } = await run('pnpm', ['exec', 'tsx', 'scripts/try-service-key.ts', video], {
      cwd: root,
      env,
      timeout: 60_000,
    });
    expect(stdout).toMatch(new RegExp(`^org org-x service:${key.keyId}$`, 'm'));
    expect(stdout).toMatch(/^[0-9a-f-]{36} queued$/m);

    await staff.serviceKeys.revoke.mutate({ keyId: key.keyId });
    const failure = await run('pnpm', ['exec', 'tsx', 'scripts/try-service-key.ts', video], {
      cwd: root,
      env,
      timeout: 60_000,
    }).then(
      () => undefined,
      (error: unknown) => error as { code: number; stderr: string },
    );
    expect(failure?.code).toBe(1);
    expect(failure?.stderr.trim()).toBe('SERVICE_KEY_REVOKED');
  }, 90_000);
});

describe('a jobs.watch stream opened with a service key', () => {
  let clocked: TestServer;
  const clock = manualClock();
  beforeAll(async () => {
    clocked = await startTestServer({ clock, jobPollMs: 3600_000 });
  });
  afterAll(() => clocked?.close());

  it(`ends ${SERVICE_KEY_STREAM_RECHECK_MS / 60_000} minutes after the key was read: a live key's client resumes, a revoked one's is refused`, async () => {
    const orgStaff = clocked.clientFor(orgUserX1);
    const { sessionId } = await orgStaff.sessions.create.mutate({ title: 'Watch', playerIds: [] });
    const { jobId } = await orgStaff.upload.initiate.mutate({ sessionId, sizeBytes: 8 });
    const keys = await Promise.all(
      ['live', 'revoked'].map((name) => orgStaff.serviceKeys.create.mutate({ name, scopes: ['jobs:read'] })),
    );
    const streams = keys.map((key) => {
      const received: { statuses: string[]; error?: unknown } = { statuses: [] };
      createClient({ url: clocked.trpcUrl, token: key.secret }).jobs.watch.subscribe(
        { jobId },
        { onData: ({ data }) => received.statuses.push(data.status), onError: (error) => (received.error = error) },
      );
      return received;
    });
    await waitFor(() => streams.every((s) => s.statuses.length === 1), { what: 'both streams to open' });
    await orgStaff.serviceKeys.revoke.mutate({ keyId: keys[1]?.keyId ?? '' });

    clock.advance(SERVICE_KEY_STREAM_RECHECK_MS + 1_000);
    await waitFor(() => streams[1]?.error !== undefined, {
      what: 'the revoked key to be refused on reconnect',
      timeoutMs: 15_000,
    });
    expect(errorCodeOf(streams[1]?.error)).toBe('SERVICE_KEY_REVOKED');
    // The live key reconnected and still hears the job.
    await orgStaff.upload.abort.mutate({ jobId });
    await waitFor(() => streams[0]?.statuses.includes('aborted') ?? false, {
      what: 'the live stream to hear the abort',
      timeoutMs: 15_000,
    });
    expect(streams[0]?.error).toBeUndefined();
  }, 60_000);
});
