import { randomUUID } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  findOutboxMessage,
  insertJobForOwnedSession,
  insertOutboxMessage,
  insertSession,
  markOutboxMessageSent,
  sql,
} from '@coach/db';

import { createTestDatabase, type TestDatabase } from '../../../test/helpers/database.ts';
import { newJobParams } from '../../../test/helpers/job-rows.ts';

describe('markOutboxMessageSent', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database.drop());

  async function pendingMessage() {
    const owner = { type: 'coach' as const, id: 'coach-outbox' };
    const sessionId = randomUUID();
    await insertSession(database.db, { id: sessionId, owner, createdBy: 'user-1', title: 'Match', playerIds: [] });
    const job = newJobParams(sessionId, owner);
    await insertJobForOwnedSession(database.db, job);
    const jobId = job.id;
    const dedupeKey = `analysis:${jobId}`;
    await insertOutboxMessage(database.db, { dedupeKey, jobId, payload: { job_id: jobId } });
    const message = await findOutboxMessage(database.db, { dedupeKey });
    if (!message) throw new Error('expected an outbox row');
    return { jobId, dedupeKey, id: message.id };
  }
  const jobMessageId = async (jobId: string) =>
    (
      await sql<{ id: string | null }>`select sqs_message_id as id from video_analysis_jobs where id = ${jobId}`.execute(
        database.db,
      )
    ).rows[0]?.id;

  it('records the send on the message and on its job', async () => {
    const { jobId, dedupeKey, id } = await pendingMessage();
    await markOutboxMessageSent(database.db, { id, jobId, messageId: 'm-1' });
    expect(await findOutboxMessage(database.db, { dedupeKey })).toMatchObject({
      messageId: 'm-1',
      sentAt: expect.any(Date),
      claimedUntil: null,
      attempts: 1,
    });
    expect(await jobMessageId(jobId)).toBe('m-1');
  });

  it('keeps the first message id on the job when a duplicate send is recorded', async () => {
    const { jobId, dedupeKey, id } = await pendingMessage();
    await markOutboxMessageSent(database.db, { id, jobId, messageId: 'm-first' });
    await markOutboxMessageSent(database.db, { id, jobId, messageId: 'm-again' });
    expect(await findOutboxMessage(database.db, { dedupeKey })).toMatchObject({ messageId: 'm-again', attempts: 2 });
    expect(await jobMessageId(jobId)).toBe('m-first');
  });
});
