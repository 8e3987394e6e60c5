import { describe, expect, it } from 'vitest';

import { createOutboxDispatcher, silentLogger, type OutboxDispatcher } from '@coach/api';
import { AwsUnavailableError } from '@coach/aws';
import { insertOutboxMessage, sql, type KyselyPlugin } from '@coach/db';
import { AnalysisJobMessageSchema } from '@coach/jobs';

import { useCallerTests } from '../../../test/helpers/api.ts';
import { MemoryQueue } from '../../../test/helpers/fakes.ts';
import { coachA, signedIn } from '../../../test/helpers/identities.ts';

const t = useCallerTests();

/** A queue that accepts `budget` more sends, then fails like an SQS outage. */
class SendBudgetQueue extends MemoryQueue {
  constructor(public budget: number) {
    super();
  }
  override send(body: string) {
    if (this.budget <= 0) return Promise.reject(new AwsUnavailableError('send message'));
    this.budget -= 1;
    return super.send(body);
  }
}

const dedupeKey = (jobId: string) => `analysis:${jobId}`;

/**
 * `n` jobs that `upload.complete` queued while SQS was down: each has one
 * pending outbox row (one failed attempt), made due now, oldest row first.
 */
async function pendingJobs(n: number): Promise<string[]> {
  const caller = t.api.callerFor(signedIn(coachA));
  const session = await caller.sessions.create({ title: 'Outbox', playerIds: [] });
  const jobIds: string[] = [];
  t.api.queue.failSends = true;
  for (let i = 0; i < n; i++) {
    const upload = await caller.upload.initiate({ sessionId: session.sessionId, sizeBytes: 10 });
    t.api.storage.put(upload.s3Key, { sizeBytes: 10 });
    const result = await caller.upload.complete({ jobId: upload.jobId });
    expect(result).toMatchObject({ status: 'queued', sqsMessageId: null });
    jobIds.push(upload.jobId);
  }
  t.api.queue.failSends = false;
  await makeDue();
  return jobIds;
}

/** Moves pending rows' next attempt into the past, keeping their relative order. */
async function makeDue(jobIds?: string[]) {
  let query = t.testDb.db
    .updateTable('outboxMessages')
    .set({ availableAt: sql<Date>`now() - interval '1 minute' + (id * interval '1 millisecond')` })
    .where('sentAt', 'is', null);
  if (jobIds) query = query.where('jobId', 'in', jobIds);
  await query.execute();
}

const outboxRow = (jobId: string) =>
  t.testDb.db.selectFrom('outboxMessages').selectAll().where('jobId', '=', jobId).executeTakeFirstOrThrow();
const jobRow = (jobId: string) =>
  t.testDb.db.selectFrom('videoAnalysisJobs').selectAll().where('id', '=', jobId).executeTakeFirstOrThrow();
/**
 * Which job each sent message was for. Reads either key spelling so that these
 * delivery tests stay about delivery; the exact body is checked by the contract test.
 */
const sentJobIds = (queue: MemoryQueue) =>
  queue.sent.map((m) => {
    const body = JSON.parse(m.body) as { job_id?: string; jobId?: string };
    return body.job_id ?? body.jobId;
  });

function dispatcherWith(queue: MemoryQueue, options: { baseRetryMs?: number; maxRetryMs?: number } = {}) {
  return createOutboxDispatcher({ db: t.testDb.db, queue, logger: silentLogger, inlineCooldownMs: 0, ...options });
}

describe('outbox.relayDue', () => {
  it('sends every due row once, records its message id on the row and the job', async () => {
    const jobIds = await pendingJobs(3);

    expect(await t.api.outbox.relayDue(10)).toEqual({ sent: 3, failed: 0 });
    expect(t.api.queue.sent).toHaveLength(3);
    expect(sentJobIds(t.api.queue)).toEqual(jobIds);

    for (const [i, jobId] of jobIds.entries()) {
      const messageId = t.api.queue.sent[i]?.messageId;
      const row = await outboxRow(jobId);
      expect(row).toMatchObject({ messageId, attempts: 2 });
      expect(row.sentAt).toBeInstanceOf(Date);
      expect(await jobRow(jobId)).toMatchObject({ status: 'queued', sqsMessageId: messageId });
    }

    expect(await t.api.outbox.relayDue(10)).toEqual({ sent: 0, failed: 0 });
    expect(t.api.queue.sent).toHaveLength(3);
  });

  it('relays the analysis-job contract the worker validates', async () => {
    const [jobId] = await pendingJobs(1);
    await t.api.outbox.relayDue(10);
    const job = await jobRow(jobId ?? '');
    const body: unknown = JSON.parse(t.api.queue.sent[0]?.body ?? '');
    expect(body).toEqual({
      schema_version: 1,
      job_id: job.id,
      session_id: job.sessionId,
      sample_fps: job.sampleFps,
      include_frames: job.includeFrames,
      s3_bucket: job.s3Bucket,
      s3_key: job.s3Key,
    });
    expect(AnalysisJobMessageSchema.safeParse(body).success).toBe(true);
  });

  it('sends at most `limit` rows per pass, oldest first', async () => {
    const jobIds = await pendingJobs(3);
    expect(await t.api.outbox.relayDue(2)).toEqual({ sent: 2, failed: 0 });
    expect(sentJobIds(t.api.queue)).toEqual(jobIds.slice(0, 2));
    expect(await t.api.outbox.relayDue(2)).toEqual({ sent: 1, failed: 0 });
    expect(sentJobIds(t.api.queue)).toEqual(jobIds);
  });

  it('stops at the first failed send and leaves the rest due', async () => {
    const [first, second, third] = await pendingJobs(3);
    if (!first || !second || !third) throw new Error('expected three jobs');
    const thirdBefore = await outboxRow(third);
    const queue = new SendBudgetQueue(1);
    const dispatcher = dispatcherWith(queue, { baseRetryMs: 60_000, maxRetryMs: 600_000 });

    expect(await dispatcher.relayDue(10)).toEqual({ sent: 1, failed: 1 });
    expect(sentJobIds(queue)).toEqual([first]);
    expect(await outboxRow(first)).toMatchObject({ messageId: queue.sent[0]?.messageId });

    const failed = await outboxRow(second);
    expect(failed).toMatchObject({ sentAt: null, messageId: null, attempts: 2 });
    expect(failed.lastError).toEqual(expect.any(String));
    expect(failed.availableAt.getTime()).toBeGreaterThan(Date.now() + 60_000);
    expect(await jobRow(second)).toMatchObject({ sqsMessageId: null });

    // Never tried: unchanged, and still due.
    expect(await outboxRow(third)).toEqual(thirdBefore);
    expect(thirdBefore.availableAt.getTime()).toBeLessThan(Date.now());

    queue.budget = 10;
    expect(await dispatcher.relayDue(10)).toEqual({ sent: 1, failed: 0 });
    expect(sentJobIds(queue)).toEqual([first, third]);
    expect((await outboxRow(second)).sentAt).toBeNull();
  });

  it('backs a failed row off and does not pick it again until it is due', async () => {
    const [jobId] = await pendingJobs(1);
    if (!jobId) throw new Error('expected a job');
    const dispatcher = dispatcherWith(t.api.queue, { baseRetryMs: 10_000, maxRetryMs: 25_000 });

    // Attempt 2 (one failure so far): 10 s × 2¹.
    t.api.queue.failSends = true;
    let before = Date.now();
    expect(await dispatcher.relayDue(10)).toEqual({ sent: 0, failed: 1 });
    let row = await outboxRow(jobId);
    expect(row).toMatchObject({ attempts: 2, sentAt: null });
    expect(row.availableAt.getTime() - before).toBeGreaterThanOrEqual(20_000 - 1_000);
    expect(row.availableAt.getTime() - before).toBeLessThanOrEqual(20_000 + 2_000);

    // Not due yet: the relay leaves it alone even though the queue is back.
    t.api.queue.failSends = false;
    expect(await dispatcher.relayDue(10)).toEqual({ sent: 0, failed: 0 });
    expect(t.api.queue.sent).toHaveLength(0);
    expect((await outboxRow(jobId)).attempts).toBe(2);

    // Attempt 3: 10 s × 2² = 40 s, capped at 25 s.
    await makeDue();
    t.api.queue.failSends = true;
    before = Date.now();
    expect(await dispatcher.relayDue(10)).toEqual({ sent: 0, failed: 1 });
    row = await outboxRow(jobId);
    expect(row.attempts).toBe(3);
    expect(row.availableAt.getTime() - before).toBeGreaterThanOrEqual(25_000 - 1_000);
    expect(row.availableAt.getTime() - before).toBeLessThanOrEqual(25_000 + 2_000);

    t.api.queue.failSends = false;
    await makeDue();
    expect(await dispatcher.relayDue(10)).toEqual({ sent: 1, failed: 0 });
    expect(sentJobIds(t.api.queue)).toEqual([jobId]);
    expect(await outboxRow(jobId)).toMatchObject({ attempts: 4, messageId: t.api.queue.sent[0]?.messageId });
  });

  it('leaves a row written by enqueue to its inline sender for the grace, then relays it', async () => {
    const [jobId] = await pendingJobs(1);
    if (!jobId) throw new Error('expected a job');
    await t.testDb.db.deleteFrom('outboxMessages').execute();
    const dispatcher = createOutboxDispatcher({
      db: t.testDb.db,
      queue: t.api.queue,
      logger: silentLogger,
      relayGraceMs: 60_000,
    });
    // As upload.complete writes it, just before its own inline send.
    await dispatcher.enqueue(t.testDb.db, { dedupeKey: dedupeKey(jobId), jobId, payload: { job_id: jobId } });

    expect(await dispatcher.relayDue(10)).toEqual({ sent: 0, failed: 0 });
    expect(t.api.queue.sent).toHaveLength(0);

    await makeDue();
    expect(await dispatcher.relayDue(10)).toEqual({ sent: 1, failed: 0 });
    expect(sentJobIds(t.api.queue)).toEqual([jobId]);
  });

  it('relays a row nobody sends inline (as the sweeper writes them) at once, whatever the grace', async () => {
    const [jobId] = await pendingJobs(1);
    if (!jobId) throw new Error('expected a job');
    await t.testDb.db.deleteFrom('outboxMessages').execute();
    const dispatcher = createOutboxDispatcher({
      db: t.testDb.db,
      queue: t.api.queue,
      logger: silentLogger,
      relayGraceMs: 60_000,
    });
    await insertOutboxMessage(t.testDb.db, { dedupeKey: `analysis:${jobId}:retry:1`, jobId, payload: { job_id: jobId } });

    expect(await dispatcher.relayDue(10)).toEqual({ sent: 1, failed: 0 });
    expect(sentJobIds(t.api.queue)).toEqual([jobId]);
  });

  it('lets concurrent relays share the due rows without sending any twice', async () => {
    const jobIds = await pendingJobs(6);
    const results = await Promise.all([t.api.outbox.relayDue(10), t.api.outbox.relayDue(10), t.api.outbox.relayDue(10)]);
    expect(results.reduce((n, r) => n + r.sent, 0)).toBe(6);
    expect(results.every((r) => r.failed === 0)).toBe(true);
    expect(t.api.queue.sent).toHaveLength(6);
    expect(new Set(sentJobIds(t.api.queue))).toEqual(new Set(jobIds));
  });
});

describe('outbox.dispatch', () => {
  it('returns the stored message id of an already-sent key without sending again', async () => {
    const caller = t.api.callerFor(signedIn(coachA));
    const session = await caller.sessions.create({ title: 'Outbox', playerIds: [] });
    const upload = await caller.upload.initiate({ sessionId: session.sessionId, sizeBytes: 10 });
    t.api.storage.put(upload.s3Key, { sizeBytes: 10 });
    const completed = await caller.upload.complete({ jobId: upload.jobId });
    expect(t.api.queue.sent).toHaveLength(1);
    expect(completed.sqsMessageId).toBe(t.api.queue.sent[0]?.messageId);

    await expect(t.api.outbox.dispatch(dedupeKey(upload.jobId))).resolves.toBe(completed.sqsMessageId);
    // Another process's dispatcher, with no memory of the send, answers the same.
    const otherQueue = new MemoryQueue();
    await expect(dispatcherWith(otherQueue).dispatch(dedupeKey(upload.jobId))).resolves.toBe(completed.sqsMessageId);
    expect(t.api.queue.sent).toHaveLength(1);
    expect(otherQueue.sent).toHaveLength(0);
    expect((await outboxRow(upload.jobId)).attempts).toBe(1);
  });

  it('returns undefined for an unknown key and sends nothing', async () => {
    await expect(t.api.outbox.dispatch(dedupeKey('00000000-0000-4000-8000-000000000000'))).resolves.toBeUndefined();
    expect(t.api.queue.sent).toHaveLength(0);
  });

  it('sends a pending row even before its retry time, once', async () => {
    const [jobId] = await pendingJobs(1);
    if (!jobId) throw new Error('expected a job');
    await t.testDb.db
      .updateTable('outboxMessages')
      .set({ availableAt: sql<Date>`now() + interval '1 hour'` })
      .execute();
    const messageId = await t.api.outbox.dispatch(dedupeKey(jobId));
    expect(messageId).toBe(t.api.queue.sent[0]?.messageId);
    expect(await jobRow(jobId)).toMatchObject({ sqsMessageId: messageId });
    expect(await t.api.outbox.dispatch(dedupeKey(jobId))).toBe(messageId);
    expect(t.api.queue.sent).toHaveLength(1);
  });

  it('sends once when many callers dispatch the same key at the same time', async () => {
    const [jobId] = await pendingJobs(1);
    if (!jobId) throw new Error('expected a job');

    const ids = await Promise.all(Array.from({ length: 12 }, () => t.api.outbox.dispatch(dedupeKey(jobId))));

    expect(t.api.queue.sent).toHaveLength(1);
    const messageId = t.api.queue.sent[0]?.messageId;
    expect(messageId).toEqual(expect.any(String));
    expect(ids).toEqual(Array.from({ length: 12 }, () => messageId));
    expect(await outboxRow(jobId)).toMatchObject({ messageId, attempts: 2 });
    expect(await jobRow(jobId)).toMatchObject({ sqsMessageId: messageId });
  });

  it('gives every concurrent caller in one process the message id, even when the send outlasts the wait for a claimant', async () => {
    const [jobId] = await pendingJobs(1);
    if (!jobId) throw new Error('expected a job');
    const slowQueue = new (class extends MemoryQueue {
      override async send(body: string) {
        await new Promise((resolve) => setTimeout(resolve, 300));
        return super.send(body);
      }
    })();
    const dispatcher = createOutboxDispatcher({ db: t.testDb.db, queue: slowQueue, logger: silentLogger, waitForClaimantMs: 50 });

    const ids = await Promise.all(Array.from({ length: 10 }, () => dispatcher.dispatch(dedupeKey(jobId))));

    expect(slowQueue.sent).toHaveLength(1);
    expect(ids).toEqual(Array.from({ length: 10 }, () => slowQueue.sent[0]?.messageId));
  });

  it('answers with the id of a send it cannot record, retrying the record only until its deadline', async () => {
    const [jobId] = await pendingJobs(1);
    if (!jobId) throw new Error('expected a job');
    let clock = 1_000_000;
    let recordAttempts = 0;
    // Every "mark sent" loses its connection, and each attempt waits 1.5 s for one (as a pool under load does).
    const droppingSentRecords: KyselyPlugin = {
      transformQuery({ node }) {
        // The record sets sent_at in a WITH of the update that records the job's message id.
        if (node.kind === 'UpdateQueryNode' && /"sent_?at"/i.test(JSON.stringify(node.with ?? []))) {
          recordAttempts += 1;
          clock += 1_500;
          throw new Error('Connection terminated unexpectedly');
        }
        return node;
      },
      transformResult: ({ result }) => Promise.resolve(result),
    };
    const errors: string[] = [];
    const dispatcher = createOutboxDispatcher({
      db: t.testDb.db.withPlugin(droppingSentRecords),
      queue: t.api.queue,
      logger: { ...silentLogger, error: (_obj, msg) => errors.push(msg ?? '') },
      inlineCooldownMs: 0,
      now: () => clock,
    });

    const messageId = await dispatcher.dispatch(dedupeKey(jobId));
    // The message is out, so the caller hears so; the record gave up at the deadline (twice the
    // 2 s send timeout), after 3 attempts rather than all 5.
    expect(messageId).toBe(t.api.queue.sent[0]?.messageId);
    expect(recordAttempts).toBe(3);
    expect(errors).toEqual(['could not record a sent message; it will be sent again once its claim lapses']);
    expect(await outboxRow(jobId)).toMatchObject({ sentAt: null, messageId: null });
  });

  it('records a failed send with a backoff and returns undefined', async () => {
    const [jobId] = await pendingJobs(1);
    if (!jobId) throw new Error('expected a job');
    t.api.queue.failSends = true;
    // A back-off longer than any pause of a busy machine between the send and the check below.
    const dispatcher = dispatcherWith(t.api.queue, { baseRetryMs: 60_000 });
    await expect(dispatcher.dispatch(dedupeKey(jobId))).resolves.toBeUndefined();
    const row = await outboxRow(jobId);
    expect(row).toMatchObject({ attempts: 2, sentAt: null, messageId: null });
    expect(row.lastError).toEqual(expect.any(String));
    const { rows } = await sql<{ due: boolean }>`select available_at <= now() as due from outbox_messages`.execute(t.testDb.db);
    expect(rows).toEqual([{ due: false }]);
  });

  it('skips inline sends during the cool-down after a failure, leaving them to the relay', async () => {
    const [jobId] = await pendingJobs(1);
    if (!jobId) throw new Error('expected a job');
    let clock = 1_000_000;
    const dispatcher: OutboxDispatcher = createOutboxDispatcher({
      db: t.testDb.db,
      queue: t.api.queue,
      logger: silentLogger,
      inlineCooldownMs: 5_000,
      now: () => clock,
    });

    t.api.queue.failSends = true;
    await expect(dispatcher.dispatch(dedupeKey(jobId))).resolves.toBeUndefined();
    expect((await outboxRow(jobId)).attempts).toBe(2);

    t.api.queue.failSends = false;
    clock += 4_000;
    await expect(dispatcher.dispatch(dedupeKey(jobId))).resolves.toBeUndefined();
    expect(t.api.queue.sent).toHaveLength(0);
    expect((await outboxRow(jobId)).attempts).toBe(2);

    clock += 2_000;
    const messageId = await dispatcher.dispatch(dedupeKey(jobId));
    expect(messageId).toBe(t.api.queue.sent[0]?.messageId);
    expect(t.api.queue.sent).toHaveLength(1);
  });
});
