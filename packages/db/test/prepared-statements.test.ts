import { randomUUID } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  ensureOwnerUsage,
  insertJobForOwnedSession,
  insertSession,
  readOwnerUsage,
  reserveUploadAndInsertJob,
  sql,
  type Owner,
} from '@coach/db';

import { createTestDatabase, type TestDatabase } from '../../../test/helpers/database.ts';
import { newJobParams } from '../../../test/helpers/job-rows.ts';

const coach: Owner = { type: 'coach', id: 'coach-prepared' };
const otherCoach: Owner = { type: 'coach', id: 'coach-other' };

describe('named prepared statements', () => {
  let database: TestDatabase;
  let sessionId: string;

  beforeAll(async () => {
    // One connection, so every statement below runs on the backend whose prepared statements are listed.
    database = await createTestDatabase({ maxConnections: 1 });
    sessionId = randomUUID();
    await insertSession(database.db, { id: sessionId, owner: coach, createdBy: 'user-1', title: 'Training', playerIds: [] });
  });
  afterAll(() => database.drop());

  const preparedNames = async () =>
    (await sql<{ name: string }>`select name from pg_prepared_statements order by name`.execute(database.db)).rows.map(
      (row) => row.name,
    );

  it('sends the job insert prepared under its name, and nothing unmarked', async () => {
    await expect(insertJobForOwnedSession(database.db, newJobParams(sessionId, coach))).resolves.toEqual({
      status: 'awaiting_upload',
    });
    expect(await preparedNames()).toEqual(['insert_job_for_owned_session']);
  });

  // Postgres plans a prepared statement for its parameters five times, then may switch to one
  // generic plan: the ownership check and the idempotency key must hold on that plan as well.
  it('keeps checking ownership and idempotency keys once Postgres uses a generic plan', async () => {
    for (let i = 0; i < 8; i++) {
      await expect(insertJobForOwnedSession(database.db, newJobParams(sessionId, coach))).resolves.toBeDefined();
    }
    await expect(insertJobForOwnedSession(database.db, newJobParams(sessionId, otherCoach))).resolves.toBeUndefined();
    await expect(insertJobForOwnedSession(database.db, newJobParams(randomUUID(), coach))).resolves.toBeUndefined();
    const key = randomUUID();
    await expect(
      insertJobForOwnedSession(database.db, newJobParams(sessionId, coach, { clientRequestId: key })),
    ).resolves.toBeDefined();
    await expect(
      insertJobForOwnedSession(database.db, newJobParams(sessionId, coach, { clientRequestId: key })),
    ).resolves.toBeUndefined();

    const { rows } = await sql<{ owners: string[]; count: number }>`
      select array_agg(distinct owner_id) as owners, count(*)::int as count
      from video_analysis_jobs where session_id = ${sessionId}`.execute(database.db);
    expect(rows[0]).toEqual({ owners: [coach.id], count: 10 });
    expect(await preparedNames()).toEqual(['insert_job_for_owned_session']);
  });

  it('prepares again on a new connection after the old one died', async () => {
    const backendPid = async () => (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(database.db)).rows[0]?.pid;
    const before = await backendPid();
    await sql`select pg_terminate_backend(pg_backend_pid())`.execute(database.db).catch(() => {});
    // The pool discards the dead client once it notices; then statements run on a fresh backend.
    await expect
      .poll(
        () =>
          backendPid().then(
            () => 'alive',
            () => 'dead',
          ),
        { timeout: 5_000 },
      )
      .toBe('alive');
    expect(await backendPid()).not.toBe(before);
    expect(await preparedNames()).toEqual([]);
    await expect(insertJobForOwnedSession(database.db, newJobParams(sessionId, coach))).resolves.toEqual({
      status: 'awaiting_upload',
    });
    expect(await preparedNames()).toEqual(['insert_job_for_owned_session']);
  });

  // Eight calls: past the five custom plans, so the limits, a limit of 0 and the ownership check hold on the generic plan too.
  it('prepares the reservation with its insert, which keeps applying every limit on a generic plan', async () => {
    await ensureOwnerUsage(database.db, coach);
    const reserve = (sizeBytes: number, limits: { defaultQuotaBytes: number; maxOpenUploads: number }, owner = coach) =>
      reserveUploadAndInsertJob(database.db, {
        job: { ...newJobParams(sessionId, owner), declaredSizeBytes: sizeBytes },
        limits,
        actor: { kind: 'user', id: owner.id },
      });
    for (let i = 0; i < 8; i++) {
      await expect(reserve(100, { defaultQuotaBytes: 0, maxOpenUploads: 0 })).resolves.toEqual({ status: 'awaiting_upload' });
    }
    await expect(reserve(100, { defaultQuotaBytes: 850, maxOpenUploads: 0 })).resolves.toBeUndefined();
    await expect(reserve(50, { defaultQuotaBytes: 850, maxOpenUploads: 0 })).resolves.toBeDefined();
    await expect(reserve(1, { defaultQuotaBytes: 0, maxOpenUploads: 9 })).resolves.toBeUndefined();
    await expect(reserve(1, { defaultQuotaBytes: 0, maxOpenUploads: 0 }, otherCoach)).resolves.toBeUndefined();
    await expect(readOwnerUsage(database.db, { owner: coach, defaultQuotaBytes: 0 })).resolves.toEqual({
      usedBytes: 0,
      reservedBytes: 850,
      openUploads: 9,
      quotaBytes: 0,
    });
    expect(await preparedNames()).toEqual(['insert_job_for_owned_session', 'reserve_upload_and_insert_job']);
  });
});
