import { randomBytes } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { silentLogger, startOutboxRelay, type Identity, type OutboxRelay } from '@coach/api';

import { dataOf, HttpTally, inParallel, shuffled } from '../../../test/helpers/http-tally.ts';
import { PRODUCTION_OUTBOX, recordScenario, reliabilityScale, scaled } from '../../../test/helpers/reliability.ts';
import { startTestServer, type TestServer } from '../../../test/helpers/server.ts';
import { waitFor } from '../../../test/helpers/wait.ts';

/**
 * Load over real HTTP against one real server process, its Postgres database and
 * the S3/SQS emulator: a burst of initiates, then a stampede of repeated completes.
 * Rate limits stay off (as in `serverTestConfig`): this measures correctness under
 * concurrency, not the limiter.
 */

// The documented extension per content type (README), independent of the code under test.
const EXTENSIONS = { 'video/mp4': 'mp4', 'video/quicktime': 'mov', 'video/webm': 'webm', 'video/3gpp': '3gp' } as const;
type ContentType = keyof typeof EXTENSIONS;
const CONTENT_TYPES = Object.keys(EXTENSIONS) as ContentType[];
const KEY_PATTERN = /^coach_plus\/(coach|org)\/([^/]+)\/([^/]+)\/([^/]+)\/original\.([a-z0-9]+)$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const RATE_LIMITS_OFF = 'rate limits off';

let server: TestServer;
let relay: OutboxRelay;

beforeAll(async () => {
  server = await startTestServer({
    config: { initiatesPerMinute: 0, maxOpenUploads: 0 },
    // The pool an API process gets in production (createDb's default), not the roomier test one.
    dbPoolSize: 10,
    // Production's outbox timings and relay: the relay leaves new rows to the inline send for a while.
    outbox: PRODUCTION_OUTBOX,
  });
  relay = startOutboxRelay({ dispatcher: server.outbox, logger: silentLogger });
});
afterAll(async () => {
  await relay?.stop();
  await server?.close();
});

/** Coaches, and organisations with several staff each: every owner kind the key layout has. */
function owners(prefix: string, coaches: number, orgs: number, staffPerOrg: number) {
  const list: { owner: { type: 'coach' | 'org'; id: string }; staff: Identity[] }[] = [];
  for (let c = 0; c < coaches; c++) {
    const userId = `${prefix}-coach-${c}`;
    list.push({ owner: { type: 'coach', id: userId }, staff: [{ userId, role: 'coach_pro_plus', orgId: null, features: null }] });
  }
  for (let o = 0; o < orgs; o++) {
    const orgId = `${prefix}-org-${o}`;
    const staff = Array.from({ length: staffPerOrg }, (_, s): Identity => ({
      userId: `${orgId}-staff-${s}`,
      role: 'org_pro',
      orgId,
      features: null,
    }));
    list.push({ owner: { type: 'org', id: orgId }, staff });
  }
  return list;
}

interface OwnedSession {
  sessionId: string;
  owner: { type: 'coach' | 'org'; id: string };
  staff: Identity[];
}

async function createSessions(
  tally: HttpTally,
  prefix: string,
  spec: { coaches: number; orgs: number; staffPerOrg: number; sessionsEach: number },
) {
  const sessions: OwnedSession[] = [];
  for (const { owner, staff } of owners(prefix, spec.coaches, spec.orgs, spec.staffPerOrg)) {
    for (let s = 0; s < spec.sessionsEach; s++) {
      const creator = staff[s % staff.length] as Identity;
      const answer = await tally.mutate(await server.tokenFor(creator), 'sessions.create', {
        title: `Load ${s}`,
        playerIds: ['p1'],
      });
      sessions.push({ sessionId: dataOf<{ sessionId: string }>(answer).sessionId, owner, staff });
    }
  }
  return sessions;
}

/** One token per identity, signed once: a burst measures the API, not the test's signing. */
function tokenCache() {
  const tokens = new Map<string, Promise<string>>();
  return (identity: Identity) => {
    let token = tokens.get(identity.userId);
    if (!token) tokens.set(identity.userId, (token = server.tokenFor(identity)));
    return token;
  };
}

interface Initiated {
  jobId: string;
  videoId: string;
  sessionId: string;
  s3Key: string;
  presignedUrl: string | null;
  headers: Record<string, string>;
}

describe('load: upload.initiate burst', () => {
  it(
    'gives every call its own job, video and key, in the documented layout, with no 5xx',
    async () => {
      const total = scaled(1_000, 10_000);
      const concurrency = scaled(50, 200);
      const spec =
        reliabilityScale() === 'full'
          ? { coaches: 8, orgs: 4, staffPerOrg: 3, sessionsEach: 5 }
          : { coaches: 4, orgs: 2, staffPerOrg: 2, sessionsEach: 3 };
      const tally = new HttpTally(server.trpcUrl);
      const sessions = await createSessions(tally, `burst-${randomBytes(3).toString('hex')}`, spec);
      const token = tokenCache();

      const calls = Array.from({ length: total }, (_, i) => {
        const session = sessions[i % sessions.length] as OwnedSession;
        return {
          session,
          identity: session.staff[Math.floor(i / sessions.length) % session.staff.length] as Identity,
          contentType: CONTENT_TYPES[i % CONTENT_TYPES.length] as ContentType,
        };
      });
      const started = performance.now();
      const answers = await inParallel(calls, concurrency, async (call, i) =>
        tally.mutate(await token(call.identity), 'upload.initiate', {
          sessionId: call.session.sessionId,
          contentType: call.contentType,
          sizeBytes: 1_024 + (i % 7),
          sampleFps: 5,
        }),
      );
      const seconds = (performance.now() - started) / 1000;
      const ok = answers.flatMap((answer, i) =>
        answer.status === 200 ? [{ call: calls[i], data: dataOf<Initiated>(answer) }] : [],
      );

      const distinct = (values: string[]) => new Set(values).size;
      const jobIds = distinct(ok.map((o) => o.data.jobId));
      const videoIds = distinct(ok.map((o) => o.data.videoId));
      const keys = distinct(ok.map((o) => o.data.s3Key));
      const sessionIds = sessions.map((s) => s.sessionId);
      const rows = await server.db
        .selectFrom('videoAnalysisJobs')
        .select(['id', 'sessionId', 'videoId', 's3Key', 'ownerType', 'ownerId'])
        .where('sessionId', 'in', sessionIds)
        .execute();
      const sessionRows = await server.db
        .selectFrom('videoSessions')
        .select(['id', 'ownerType', 'ownerId'])
        .where('id', 'in', sessionIds)
        .execute();

      await recordScenario({
        scenario: 'initiate burst',
        scale: `${total} initiates × ${concurrency} concurrent, ${sessions.length} sessions`,
        requests: tally.requests,
        jobs: rows.length,
        messages: 0,
        results: 0,
        lost: total - ok.length,
        duplicated: ok.length - Math.min(jobIds, videoIds, keys),
        http5xx: tally.http5xx,
        notes: `${RATE_LIMITS_OFF}; ${Math.round(total / seconds)} initiates/s (p50 ${tally.latencyMs(0.5)} ms, p99 ${tally.latencyMs(0.99)} ms); answers ${tally.describe()}`,
      });

      expect(tally.describe()).toBe(`200×${tally.requests}`);
      expect(ok).toHaveLength(total);
      expect([jobIds, videoIds, keys]).toEqual([total, total, total]);
      expect(rows).toHaveLength(total);

      const rowById = new Map(rows.map((r) => [r.id, r]));
      const sessionById = new Map(sessionRows.map((s) => [s.id, s]));
      for (const { call, data } of ok) {
        if (!call) throw new Error('answer without a call');
        const row = rowById.get(data.jobId);
        const session = sessionById.get(data.sessionId);
        expect(row, `job ${data.jobId} in the database`).toBeDefined();
        expect(session, `session ${data.sessionId} in the database`).toBeDefined();
        if (!row || !session) continue;
        // The session is the one asked for, owned by who the call acted for.
        expect(data.sessionId).toBe(call.session.sessionId);
        expect({ type: session.ownerType, id: session.ownerId }).toEqual(call.session.owner);
        expect({
          sessionId: row.sessionId,
          videoId: row.videoId,
          s3Key: row.s3Key,
          ownerType: row.ownerType,
          ownerId: row.ownerId,
        }).toEqual({
          sessionId: data.sessionId,
          videoId: data.videoId,
          s3Key: data.s3Key,
          ownerType: session.ownerType,
          ownerId: session.ownerId,
        });
        const parts = KEY_PATTERN.exec(data.s3Key);
        expect(parts, data.s3Key).not.toBeNull();
        const [, ownerType, ownerId, sessionId, videoId, extension] = parts ?? [];
        expect({ ownerType, ownerId, sessionId, videoId, extension }).toEqual({
          ownerType: session.ownerType,
          ownerId: encodeURIComponent(session.ownerId),
          sessionId: session.id,
          videoId: row.videoId,
          extension: EXTENSIONS[call.contentType],
        });
        expect(data.jobId).toMatch(UUID);
        expect(data.videoId).toMatch(UUID);
      }
    },
    scaled(90_000, 900_000),
  );
});

describe('load: upload.complete stampede', () => {
  it(
    'answers ten concurrent completes per job alike and queues each job exactly once',
    async () => {
      const n = scaled(50, 500);
      const repeats = 10;
      const tally = new HttpTally(server.trpcUrl);
      const sessions = await createSessions(tally, `stampede-${randomBytes(3).toString('hex')}`, {
        coaches: 2,
        orgs: 1,
        staffPerOrg: 2,
        sessionsEach: 2,
      });
      const token = tokenCache();

      // N really uploaded jobs: initiate, then PUT a few bytes to the presigned URL.
      const uploaded = await inParallel(
        Array.from({ length: n }, (_, i) => i),
        20,
        async (i) => {
          const session = sessions[i % sessions.length] as OwnedSession;
          const body = randomBytes(16 + (i % 16));
          const upload = dataOf<Initiated>(
            await tally.mutate(await token(session.staff[0] as Identity), 'upload.initiate', {
              sessionId: session.sessionId,
              contentType: 'video/mp4',
              sizeBytes: body.length,
            }),
          );
          if (!upload.presignedUrl) throw new Error('expected a single-PUT upload');
          const put = await fetch(upload.presignedUrl, { method: 'PUT', headers: upload.headers, body });
          await put.arrayBuffer();
          expect(put.status).toBe(200);
          return { jobId: upload.jobId, session };
        },
      );
      const initiateRequests = tally.requests;

      // Every job completed ten times, by any of its owner's staff, all in flight at once, in random order.
      const calls = shuffled(
        uploaded.flatMap(({ jobId, session }) =>
          Array.from({ length: repeats }, (_, r) => ({ jobId, identity: session.staff[r % session.staff.length] as Identity })),
        ),
      );
      const tokens = await Promise.all(calls.map((call) => token(call.identity)));
      const started = performance.now();
      const answers = await Promise.all(
        calls.map((call, i) => tally.mutate(tokens[i] as string, 'upload.complete', { jobId: call.jobId })),
      );
      const seconds = (performance.now() - started) / 1000;

      const bodiesByJob = new Map<string, Set<string>>();
      answers.forEach((answer, i) => {
        const jobId = (calls[i] as (typeof calls)[number]).jobId;
        const bodies = bodiesByJob.get(jobId) ?? new Set<string>();
        bodies.add(`${answer.status} ${answer.text}`);
        bodiesByJob.set(jobId, bodies);
      });

      // Everything the outbox holds goes out (inline, or by the relay), then the queue is read dry.
      const outboxSent = () =>
        server.db
          .selectFrom('outboxMessages')
          .select((eb) => [eb.fn.countAll<number>().as('rows'), eb.fn.count<number>('sentAt').as('sent')])
          .executeTakeFirstOrThrow();
      await waitFor(
        async () => {
          const { rows, sent } = await outboxSent();
          return Number(rows) === Number(sent) || undefined;
        },
        { timeoutMs: 30_000, what: 'every outbox row to be sent' },
      );
      await relay.stop();
      const messages = await server.drainQueue();
      const deadLettered = await server.drainQueue(server.dlqUrl);
      const outbox = await outboxSent();
      // Rows that took more than one send (a failed or timed-out attempt), and why.
      const resent = await server.db
        .selectFrom('outboxMessages')
        .select(['attempts', 'lastError'])
        .where('attempts', '>', 1)
        .execute();
      const jobIds = new Set(uploaded.map((u) => u.jobId));
      const stampeded = await server.db
        .selectFrom('videoAnalysisJobs')
        .select(['id', 'status', 'sqsMessageId'])
        .where('id', 'in', [...jobIds])
        .execute();
      const messageJobIds = messages.map((m) => (JSON.parse(m.Body ?? '{}') as { job_id?: string }).job_id ?? '');
      const deliveredJobs = new Set(messageJobIds.filter((id) => jobIds.has(id)));
      await recordScenario({
        scenario: 'complete stampede',
        scale: `${n} uploaded jobs × ${repeats} concurrent completes (${calls.length} in flight)`,
        requests: tally.requests,
        jobs: n,
        messages: messages.length + deadLettered.length,
        results: 0,
        lost: n - deliveredJobs.size,
        duplicated: messages.length + deadLettered.length - deliveredJobs.size,
        http5xx: tally.http5xx,
        notes: `${RATE_LIMITS_OFF}; ${initiateRequests} setup calls, then ${calls.length} completes in ${seconds.toFixed(1)} s (p50 ${tally.latencyMs(0.5)} ms, p99 ${tally.latencyMs(0.99)} ms, max ${tally.latencyMs(1)} ms); answers ${tally.describe()}${resent.length > 0 ? `; ${resent.length} messages needed a second send (${resent[0]?.lastError ?? ''})` : ''}`,
      });

      expect(tally.describe()).toBe(`200×${tally.requests}`);
      // One answer per job, whichever of its ten calls made the transition.
      const differing = [...bodiesByJob].filter(([, bodies]) => bodies.size !== 1);
      expect(
        differing.slice(0, 3).map(([jobId, bodies]) => ({ jobId, bodies: [...bodies] })),
        `${differing.length} jobs answered differently`,
      ).toEqual([]);
      // Any one answer per job: they are all alike.
      const answerByJob = new Map(answers.map((a, i) => [(calls[i] as (typeof calls)[number]).jobId, a]));
      expect(stampeded.filter((j) => j.status === 'queued')).toHaveLength(n);
      expect(messages).toHaveLength(n);
      expect(new Set(messageJobIds)).toEqual(jobIds);
      expect(deadLettered).toHaveLength(0);
      expect({ rows: Number(outbox.rows), sent: Number(outbox.sent) }).toEqual({ rows: n, sent: n });
      // The id every caller was given is the message that was delivered, and the job records it.
      const messageIdByJob = new Map(messages.map((m, i) => [messageJobIds[i], m.MessageId]));
      for (const job of stampeded) {
        const answer = answerByJob.get(job.id);
        if (!answer) throw new Error(`no answer for ${job.id}`);
        expect(dataOf(answer)).toEqual({
          jobId: job.id,
          status: 'queued',
          sqsMessageId: messageIdByJob.get(job.id),
          message: 'Video uploaded and queued for analysis.',
        });
        expect(job.sqsMessageId).toBe(messageIdByJob.get(job.id));
      }
    },
    scaled(90_000, 900_000),
  );
});
