import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { silentLogger, startOutboxRelay } from '@coach/api';
import { createSqsQueue, type MessageQueue } from '@coach/aws';
import { videoFromImage } from '@coach/media/testing';

import {
  bodiesOf,
  callApi,
  createSession,
  inParallel,
  installResultLedger,
  messagesPerJob,
  queueDepth,
  RecordingQueue,
  resultWrites,
  uploadedJob,
  type Answer,
} from '../../../test/helpers/faults.ts';
import { coachA } from '../../../test/helpers/identities.ts';
import { recordScenario, scaled } from '../../../test/helpers/reliability.ts';
import { FaultyQueue, startTestServer } from '../../../test/helpers/server.ts';
import { testPhotoPath } from '../../../test/helpers/test-photo.ts';
import { waitFor } from '../../../test/helpers/wait.ts';
import { startTestWorker } from '../../../test/helpers/worker.ts';

/**
 * SQS refusing sends for a while, and SQS accepting a send whose reply never
 * arrives: after recovery every completed upload is queued, and a duplicate
 * message never produces a second result.
 */

let dir: string;
let clip: Uint8Array;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'faults-queue-'));
  // A real person, one second: a few frames at 5 fps keep the real analysis short.
  clip = await readFile(
    await videoFromImage({ imagePath: testPhotoPath(), path: path.join(dir, 'clip.mp4'), seconds: 1, fps: 25 }),
  );
}, 60_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

const okStatus = (answer: Answer) =>
  answer.kind === 'ok' ? (answer.data as { status: string; sqsMessageId: string | null }) : undefined;

describe('SQS refusing sends', () => {
  it('many concurrent completes during the outage all succeed; after recovery the relay queues each job exactly once', async () => {
    const count = scaled(30, 300);
    const concurrency = scaled(10, 40);
    let faulty: FaultyQueue | undefined;
    const server = await startTestServer({
      wrapQueue: (queue) => (faulty = new FaultyQueue(queue)),
      outbox: { inlineCooldownMs: 100, baseRetryMs: 20, maxRetryMs: 200 },
    });
    const relay = startOutboxRelay({ dispatcher: server.outbox, logger: silentLogger, idleIntervalMs: 25 });
    try {
      if (!faulty) throw new Error('queue not wrapped');
      const queue = faulty;
      const token = await server.tokenFor(coachA);
      const sessionId = await createSession(server, token);
      const jobIds = await inParallel(count, concurrency, () =>
        uploadedJob(server, token, sessionId, new Uint8Array(32).fill(1)),
      );
      const complete = (jobId: string | undefined) => callApi(server, token, 'upload.complete', { jobId });

      queue.fail.send = true;
      // Two thirds complete during the outage, each twice (a phone retrying).
      const during = jobIds.slice(0, Math.ceil((2 * count) / 3));
      const duringAnswers = await inParallel(2 * during.length, concurrency, (i) => complete(during[i % during.length]));
      for (const answer of duringAnswers) expect(okStatus(answer)).toMatchObject({ status: 'queued', sqsMessageId: null });
      // The relay keeps trying (and failing) while SQS refuses.
      const attemptsAtOutage = queue.sendAttempts;
      await waitFor(() => queue.sendAttempts >= attemptsAtOutage + 3, { what: 'the relay to retry during the outage' });
      expect(await queueDepth(server, server.queueUrl)).toBe(0);

      // SQS is back: the rest complete while the relay catches up, racing it for the same rows.
      queue.fail.send = false;
      const after = jobIds.slice(during.length);
      const afterAnswers = await inParallel(after.length + during.length, concurrency, (i) =>
        complete(i < after.length ? after[i] : during[i - after.length]),
      );
      for (const answer of afterAnswers) expect(okStatus(answer)?.status).toBe('queued');

      const jobs = await waitFor(
        async () => {
          const rows = await server.db.selectFrom('videoAnalysisJobs').select(['id', 'status', 'sqsMessageId']).execute();
          return rows.length === count && rows.every((r) => r.sqsMessageId) ? rows : undefined;
        },
        { what: 'every job to be sent', timeoutMs: 20_000 },
      );
      const messages = await server.drainQueue();
      const perJob = messagesPerJob(bodiesOf(messages));
      expect([...perJob.keys()].sort()).toEqual([...jobIds].sort());
      expect([...perJob.values()].every((n) => n === 1)).toBe(true);
      // The message each job records is the one SQS holds.
      expect(new Set(messages.map((m) => m.MessageId))).toEqual(new Set(jobs.map((j) => j.sqsMessageId)));

      // Later retries answer with that message and send nothing more.
      const repeats = await inParallel(count, concurrency, (i) => complete(jobIds[i]));
      const recorded = new Map(jobs.map((j) => [j.id, j.sqsMessageId]));
      repeats.forEach((answer, i) => expect(okStatus(answer)?.sqsMessageId).toBe(recorded.get(jobIds[i] ?? '')));
      expect(await server.drainQueue()).toHaveLength(0);

      const requests = 1 + count + duringAnswers.length + afterAnswers.length + repeats.length;
      await recordScenario({
        scenario: 'SQS refuses sends, then recovers',
        scale: `${count} jobs, ${duringAnswers.length} completes during the outage + ${afterAnswers.length} at recovery × ${concurrency} concurrent`,
        requests,
        jobs: count,
        messages: messages.length,
        results: 0,
        lost: jobIds.filter((id) => !perJob.has(id)).length,
        duplicated: [...perJob.values()].filter((n) => n > 1).length,
        http5xx: [...duringAnswers, ...afterAnswers, ...repeats].filter((a) => a.kind === 'error' && a.status >= 500).length,
        notes: `every complete answered queued (sqsMessageId null during the outage); ${queue.sendAttempts} send attempts in all`,
      });
    } finally {
      await relay.stop();
      await server.close();
    }
  });
});

describe('SQS accepting a send whose reply is lost', () => {
  it('the relay sends the message again; the worker turns the duplicate into no second result', async () => {
    const count = scaled(3, 20);
    const lostOnce = new Set<string>();
    let lossy: RecordingQueue | undefined;
    const server = await startTestServer({
      // The first send of each job reaches SQS but its reply is lost.
      wrapQueue: (queue) =>
        (lossy = new RecordingQueue(queue, (body) => {
          const jobId = (JSON.parse(body) as { job_id: string }).job_id;
          if (lostOnce.has(jobId)) return false;
          lostOnce.add(jobId);
          return true;
        })),
      outbox: { inlineCooldownMs: 0, baseRetryMs: 50, maxRetryMs: 200 },
    });
    await installResultLedger(server.db);
    const relay = startOutboxRelay({ dispatcher: server.outbox, logger: silentLogger, idleIntervalMs: 25 });
    // The worker's own view of the queue: every delivery, per job.
    const deliveries = new Map<string, number>();
    const real = createSqsQueue({ sqs: server.sqs, queueUrl: server.queueUrl });
    const counting: MessageQueue = {
      ...real,
      async receive(params) {
        const received = await real.receive(params);
        for (const m of received) {
          const jobId = (JSON.parse(m.body) as { job_id: string }).job_id;
          deliveries.set(jobId, (deliveries.get(jobId) ?? 0) + 1);
        }
        return received;
      },
    };
    const worker = await startTestWorker(server, { queue: counting });
    try {
      if (!lossy) throw new Error('queue not wrapped');
      const token = await server.tokenFor(coachA);
      const sessionId = await createSession(server, token);
      const jobIds = await inParallel(count, 4, () => uploadedJob(server, token, sessionId, clip, { sampleFps: 5 }));
      const answers = await inParallel(count, 4, (i) => callApi(server, token, 'upload.complete', { jobId: jobIds[i] }));
      // The reply was lost, so complete could not confirm a message id, but the job is queued.
      for (const answer of answers) expect(okStatus(answer)).toMatchObject({ status: 'queued', sqsMessageId: null });

      const jobs = await waitFor(
        async () => {
          const rows = await server.db.selectFrom('videoAnalysisJobs').selectAll().where('id', 'in', jobIds).execute();
          return rows.every((r) => r.status === 'completed' || r.status === 'failed') ? rows : undefined;
        },
        { what: 'every job to finish', timeoutMs: 60_000, intervalMs: 100 },
      );
      // Both copies of every message were consumed.
      await waitFor(async () => (await queueDepth(server, server.queueUrl)) === 0, {
        what: 'the queue to empty',
        timeoutMs: 30_000,
      });

      const sent = messagesPerJob(lossy.accepted.map((m) => m.body));
      for (const jobId of jobIds) expect(sent.get(jobId)).toBe(2);
      for (const jobId of jobIds) expect(deliveries.get(jobId)).toBeGreaterThanOrEqual(2);
      for (const job of jobs) {
        expect(job).toMatchObject({ status: 'completed', attempts: 1, leaseToken: null });
        expect((job.result as { frameCount: number }).frameCount).toBeGreaterThan(0);
      }
      const writes = await resultWrites(server.db);
      for (const jobId of jobIds) expect(writes.get(jobId)).toBe(1);
      expect(await queueDepth(server, server.dlqUrl)).toBe(0);

      await recordScenario({
        scenario: 'SQS reply lost after a send',
        scale: `${count} jobs, the first send of each accepted but its reply lost; real worker (MoveNet, 5 fps)`,
        requests: 1 + 2 * count,
        jobs: count,
        messages: lossy.accepted.length,
        results: [...writes.values()].reduce((a, b) => a + b, 0),
        lost: jobIds.filter((id) => !writes.has(id)).length,
        duplicated: [...writes.values()].filter((n) => n > 1).length,
        http5xx: answers.filter((a) => a.kind === 'error' && a.status >= 500).length,
        notes: `${lossy.accepted.length - count} duplicate messages delivered and dropped by the worker; attempts 1 on every job; DLQ empty`,
      });
    } finally {
      await worker.stop();
      await relay.stop();
      await server.close();
    }
  }, 120_000);
});
