import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { silentLogger, startOutboxRelay } from '@coach/api';
import { createDb } from '@coach/db';
import { videoFromImage } from '@coach/media/testing';

import {
  bodiesOf,
  callApi,
  createSession,
  dropWritesOfFirstAttempt,
  inParallel,
  installResultLedger,
  INTERNAL_DETAIL,
  messagesPerJob,
  queueDepth,
  RecordingQueue,
  resultWrites,
  startBackendTerminator,
  uploadedJob,
  withApplicationName,
  type Answer,
} from '../../../test/helpers/faults.ts';
import { coachA } from '../../../test/helpers/identities.ts';
import { recordScenario, scaled } from '../../../test/helpers/reliability.ts';
import { startTestServer, type TestServer } from '../../../test/helpers/server.ts';
import { testPhotoPath } from '../../../test/helpers/test-photo.ts';
import { waitFor } from '../../../test/helpers/wait.ts';
import { startTestWorker } from '../../../test/helpers/worker.ts';

/**
 * Postgres connections dropped under load, from a separate connection with
 * pg_terminate_backend (as a failover, a DBA or an idle reaper does): the
 * API's while uploads start and complete, the worker's while it analyses.
 */

let dir: string;
let clip: Uint8Array;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'faults-db-'));
  clip = await readFile(
    await videoFromImage({ imagePath: testPhotoPath(), path: path.join(dir, 'clip.mp4'), seconds: 2, fps: 25 }),
  );
}, 60_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Every answer a phone got, sorted into what the scenario allows and what it does not. */
class AnswerLog {
  ok = 0;
  retryable = 0;
  readonly unexpected: Answer[] = [];
  record(answer: Answer): Answer {
    if (answer.kind === 'ok') this.ok += 1;
    else if (
      answer.kind === 'error' &&
      answer.status === 503 &&
      answer.appCode === 'SERVICE_UNAVAILABLE' &&
      !INTERNAL_DETAIL.test(answer.message)
    ) {
      this.retryable += 1;
    } else this.unexpected.push(answer);
    return answer;
  }
  get total() {
    return this.ok + this.retryable + this.unexpected.length;
  }
}

/**
 * Repeats a call while it answers the retryable outage, backing off as the
 * typed client does. It gives up only when the outage outlasts a minute: on a
 * starved machine a call may meet many terminated connections in a row, and a
 * count of attempts would end flows that the storm merely slowed.
 */
async function withRetries(log: AnswerLog, call: () => Promise<Answer>): Promise<Answer> {
  const giveUpAt = Date.now() + 60_000;
  for (let attempt = 1; ; attempt++) {
    const answer = log.record(await call());
    if (answer.kind !== 'error' || answer.status !== 503 || Date.now() > giveUpAt) return answer;
    await new Promise((resolve) => setTimeout(resolve, Math.min(250, 20 * attempt)));
  }
}

describe("the API's database connections dropped mid-request", () => {
  const CLAIM_SECONDS = 4;
  let server: TestServer;
  afterAll(() => server.close());

  it('every answer is a success or a clean retryable error; the pool recovers; database and queue agree on every job', async () => {
    const flows = scaled(40, 400);
    const concurrency = scaled(8, 32);
    // The outbox logs when it gives up recording a send SQS accepted, one cause of a second message.
    const lostRecords: string[] = [];
    const logger = pino(
      { level: 'error' },
      {
        write(line: string) {
          const entry = JSON.parse(line) as { msg?: string; jobId?: string };
          if (entry.msg?.startsWith('could not record a sent message') && entry.jobId) lostRecords.push(entry.jobId);
        },
      },
    );
    let sent: RecordingQueue | undefined;
    server = await startTestServer({
      logger,
      wrapQueue: (queue) => (sent = new RecordingQueue(queue)),
      // Claims shorter than production's 30 s let the relay pick up, within the test, what a dropped
      // connection interrupted; still long enough that claim, send and record fit in one on a loaded machine.
      outbox: { inlineCooldownMs: 0, baseRetryMs: 20, maxRetryMs: 200, claimSeconds: CLAIM_SECONDS },
    });
    if (!sent) throw new Error('queue not wrapped');
    const recording = sent;
    const relay = startOutboxRelay({ dispatcher: server.outbox, logger: silentLogger, idleIntervalMs: 25 });
    const log = new AnswerLog();
    try {
      const token = await server.tokenFor(coachA);
      const sessionId = await createSession(server, token);
      const body = new Uint8Array(64).fill(5);

      // Each flow: initiate (retried), PUT, complete (retried) — except every fifth, which never completes.
      const flow = async (i: number) => {
        const started = await withRetries(log, () =>
          callApi(server, token, 'upload.initiate', { sessionId, sizeBytes: body.byteLength, contentType: 'video/mp4' }),
        );
        if (started.kind !== 'ok') return { jobId: undefined, completed: false };
        const upload = started.data as { jobId: string; presignedUrl: string; headers: Record<string, string> };
        const put = await fetch(upload.presignedUrl, { method: 'PUT', headers: upload.headers, body });
        expect(put.status).toBe(200);
        if (i % 5 === 4) return { jobId: upload.jobId, completed: false };
        const done = await withRetries(log, () => callApi(server, token, 'upload.complete', { jobId: upload.jobId }));
        return { jobId: upload.jobId, completed: done.kind === 'ok' };
      };
      const terminator = await startBackendTerminator(server.dbUrl, { intervalMs: 100 });
      let outcomes: Awaited<ReturnType<typeof flow>>[];
      try {
        outcomes = await inParallel(flows, concurrency, flow);
      } finally {
        await terminator.stop();
      }
      const storm = await terminator.stop();

      expect(log.unexpected).toEqual([]);
      expect(storm.terminated).toBeGreaterThan(0);
      const known = outcomes.filter((o) => o.jobId !== undefined);
      expect(known).toHaveLength(flows);
      const completedIds = new Set(known.filter((o) => o.completed).map((o) => o.jobId));
      expect(completedIds.size).toBe(flows - Math.floor(flows / 5));

      // The pool replaced every dropped connection: reads of every job succeed at once.
      const reads = await inParallel(known.length, concurrency, (i) =>
        callApi(server, token, 'jobs.get', { jobId: known[i]?.jobId }, { method: 'GET' }),
      );
      expect(reads.filter((a) => a.kind !== 'ok')).toEqual([]);

      // The relay delivers whatever a dropped connection interrupted, once its claim lapses.
      await waitFor(
        async () => {
          const unsent = await server.db.selectFrom('outboxMessages').select('id').where('sentAt', 'is', null).execute();
          return unsent.length === 0;
        },
        { what: 'every outbox row to be sent', timeoutMs: 20_000 },
      );
      await relay.stop();

      const jobs = await server.db.selectFrom('videoAnalysisJobs').select(['id', 'status', 'sqsMessageId']).execute();
      const drained = await server.drainQueue();
      const perJob = messagesPerJob(bodiesOf(drained));
      const byStatus = (status: string) => jobs.filter((j) => j.status === status);
      // Jobs created by an initiate whose answer was lost: nobody will upload to them; they expire.
      const orphans = jobs.filter((j) => !known.some((o) => o.jobId === j.id));
      for (const orphan of orphans) expect(orphan.status).toBe('awaiting_upload');
      for (const job of jobs) {
        if (completedIds.has(job.id)) {
          expect(job.status).toBe('queued');
          expect(job.sqsMessageId).toBeTruthy();
          expect(perJob.get(job.id) ?? 0).toBeGreaterThanOrEqual(1);
        } else {
          expect(job.status).toBe('awaiting_upload');
          expect(perJob.get(job.id)).toBeUndefined();
        }
      }
      expect([...perJob.keys()].every((id) => completedIds.has(id))).toBe(true);
      // Every extra message has a cause the outbox cannot avoid: a send it could not record, a send
      // SQS stored but whose answer timed out, or a send that outlived its claim. Never one without.
      const answeredIds = new Set(recording.accepted.map((m) => m.messageId));
      const jobOf = (body: string | undefined) => (JSON.parse(body ?? '{}') as { job_id?: string }).job_id;
      const causes = (jobId: string) =>
        lostRecords.filter((id) => id === jobId).length +
        drained.filter((m) => jobOf(m.Body) === jobId && !answeredIds.has(m.MessageId ?? '')).length +
        recording.accepted.filter((m) => jobOf(m.body) === jobId && m.ms > CLAIM_SECONDS * 1000).length;
      for (const [jobId, messages] of perJob) expect(messages - 1).toBeLessThanOrEqual(causes(jobId));
      const duplicateMessages = [...perJob.values()].reduce((a, b) => a + b - 1, 0);
      const unansweredSends = drained.filter((m) => !answeredIds.has(m.MessageId ?? '')).length;
      const slowSends = recording.accepted.filter((m) => m.ms > CLAIM_SECONDS * 1000).length;

      await recordScenario({
        scenario: 'API database connections dropped',
        scale: `${flows} upload flows × ${concurrency} concurrent; all backends terminated every 100 ms (${storm.rounds} rounds)`,
        requests: log.total + reads.length + 1,
        jobs: jobs.length,
        messages: [...perJob.values()].reduce((a, b) => a + b, 0),
        results: 0,
        lost: [...completedIds].filter((id) => !perJob.has(id ?? '')).length,
        duplicated: 0,
        http5xx: log.retryable + log.unexpected.filter((a) => a.kind === 'error' && a.status >= 500).length,
        // Deliberate outage: its answers are the documented retryable 503.
        expected5xx: true,
        notes:
          `${storm.terminated} backends terminated; ${log.retryable} answers 503 SERVICE_UNAVAILABLE (retried), 0 other errors, 0 hangs; ` +
          `${byStatus('queued').length} queued, ${byStatus('awaiting_upload').length} awaiting upload (${orphans.length} orphaned by a lost answer); ` +
          `${duplicateMessages} duplicate message(s) (${lostRecords.length} sends not recorded, ${unansweredSends} stored but unanswered, ${slowSends} slower than the ${CLAIM_SECONDS} s claim)`,
      });
    } finally {
      await relay.stop();
    }
  }, 120_000);
});

describe("the worker's database connections dropped mid-job", () => {
  it('every job still finishes through a later attempt, with exactly one result, nothing dead-lettered', async () => {
    const count = scaled(3, 16);
    let sent: RecordingQueue | undefined;
    const server = await startTestServer({
      visibilityTimeoutSeconds: 2,
      maxReceiveCount: 10,
      // Counts every message sent: by complete, and by the relay for rows the sweeper wrote.
      wrapQueue: (queue) => (sent = new RecordingQueue(queue)),
    });
    await installResultLedger(server.db);
    // Every write of a first attempt after its claim loses the connection mid-statement,
    // and on top of that the worker's connections are dropped from outside at random.
    await dropWritesOfFirstAttempt(server.db, 'fault-worker');
    const relay = startOutboxRelay({ dispatcher: server.outbox, logger: silentLogger, idleIntervalMs: 50 });
    // The worker's own pool, named so the terminator can single it out.
    const workerDb = createDb({ connectionString: withApplicationName(server.dbUrl, 'fault-worker'), maxConnections: 6 });
    const worker = await startTestWorker(server, {
      db: workerDb,
      config: {
        concurrency: 4,
        leaseSeconds: 1,
        visibilityTimeoutSeconds: 2,
        maxReceives: 10,
        backoffBaseSeconds: 0,
        backoffMaxSeconds: 0,
        sweepIntervalMs: 500,
        abandonedGraceSeconds: 1,
      },
    });
    try {
      const token = await server.tokenFor(coachA);
      const sessionId = await createSession(server, token);
      const jobIds = await inParallel(count, 4, () => uploadedJob(server, token, sessionId, clip, { sampleFps: 5 }));
      const terminator = await startBackendTerminator(server.dbUrl, { intervalMs: 150, applicationName: 'fault-worker' });
      const duringStorm = async () => {
        const answers = await inParallel(count, 4, (i) => callApi(server, token, 'upload.complete', { jobId: jobIds[i] }));
        expect(answers.every((a) => a.kind === 'ok')).toBe(true);
        // The storm lasts while the first jobs are being analysed.
        await waitFor(
          async () => {
            const done = await server.db.selectFrom('videoAnalysisJobs').select('id').where('status', '=', 'completed').execute();
            return done.length >= Math.ceil(count / 2);
          },
          { what: 'half the jobs to finish during the storm', timeoutMs: 60_000, intervalMs: 100 },
        );
      };
      try {
        await duringStorm();
      } finally {
        await terminator.stop();
      }
      const storm = await terminator.stop();
      const jobs = await waitFor(
        async () => {
          const rows = await server.db.selectFrom('videoAnalysisJobs').selectAll().where('id', 'in', jobIds).execute();
          return rows.every((r) => r.status === 'completed' || r.status === 'failed') ? rows : undefined;
        },
        { what: 'every job to finish', timeoutMs: 60_000, intervalMs: 100 },
      );
      await waitFor(async () => (await queueDepth(server, server.queueUrl)) === 0, {
        what: 'the queue to empty',
        timeoutMs: 60_000,
      });

      expect(storm.terminated).toBeGreaterThan(0);
      for (const job of jobs) expect(job).toMatchObject({ status: 'completed', leaseToken: null, progressPercent: 100 });
      // The first attempt could record nothing, not even its failure: a later one finished every job.
      for (const job of jobs) expect(job.attempts).toBeGreaterThanOrEqual(2);
      const writes = await resultWrites(server.db);
      for (const jobId of jobIds) expect(writes.get(jobId)).toBe(1);
      expect(await queueDepth(server, server.dlqUrl)).toBe(0);

      const attempts = jobs.map((j) => j.attempts).sort((a, b) => a - b);
      await recordScenario({
        scenario: 'worker database connections dropped',
        scale: `${count} real analyses (MoveNet, 5 fps); every write of each first attempt dropped, and the worker's backends terminated every 150 ms until half had finished`,
        requests: 1 + 2 * count,
        jobs: count,
        messages: sent?.accepted.length ?? 0,
        results: [...writes.values()].reduce((a, b) => a + b, 0),
        lost: jobIds.filter((id) => !writes.has(id)).length,
        duplicated: [...writes.values()].filter((n) => n > 1).length,
        http5xx: 0,
        notes: `${storm.terminated} worker backends terminated in ${storm.rounds} rounds; attempts per job ${attempts.join(',')}; DLQ empty`,
      });
    } finally {
      await worker.stop();
      await relay.stop();
      await workerDb.destroy();
      await server.close();
    }
  }, 180_000);
});
