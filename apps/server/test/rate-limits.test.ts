import { randomUUID } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ensureOwnerUsage, insertSession, reserveUploadAndInsertJob, sql, type Owner } from '@coach/db';

import { coachA, coachB, orgUserX1, orgUserX2 } from '../../../test/helpers/identities.ts';
import { newJobParams } from '../../../test/helpers/job-rows.ts';
import { startTestServer, type TestServer } from '../../../test/helpers/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ config: { initiatesPerMinute: 5, maxOpenUploads: 3 } });
});
afterAll(() => server.close());

async function initiate(token: string, sessionId: string) {
  return fetch(`${server.trpcUrl}/upload.initiate`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ sessionId, sizeBytes: 1000 }),
  });
}

interface ErrorBody {
  error: { message: string; data: { appCode: string } };
}

describe('upload rate limits', () => {
  it('caps open uploads per owner, even under concurrent calls, with Retry-After and nothing written', async () => {
    const client = server.clientFor(coachA);
    const { sessionId } = await client.sessions.create.mutate({ title: 'Limits', playerIds: [] });
    const token = await server.tokenFor(coachA);
    const responses = await Promise.all(Array.from({ length: 6 }, () => initiate(token, sessionId)));
    const statuses = responses.map((r) => r.status).sort((a, b) => a - b);
    expect(statuses).toEqual([200, 200, 200, 429, 429, 429]);
    const refused = responses.find((r) => r.status === 429);
    if (!refused) throw new Error('no call was refused');
    expect(refused.headers.get('retry-after')).toBe('60');
    expect(((await refused.json()) as ErrorBody).error.data.appCode).toBe('TOO_MANY_OPEN_UPLOADS');
    const rows = await server.db.selectFrom('videoAnalysisJobs').select('id').where('createdBy', '=', coachA.userId).execute();
    expect(rows).toHaveLength(3);

    // Cancelling one frees a slot.
    const [first] = rows;
    await client.upload.abort.mutate({ jobId: first?.id ?? '' });
    expect((await initiate(token, sessionId)).status).toBe(200);
  });

  it("caps an organisation's open uploads when several of its staff start uploads at once", async () => {
    const { sessionId } = await server.clientFor(orgUserX1).sessions.create.mutate({ title: 'Org limits', playerIds: [] });
    const tokens = [await server.tokenFor(orgUserX1), await server.tokenFor(orgUserX2)];
    // Two staff, five calls each (their rate limit), all at once: the org may hold 3 open uploads, whoever starts them.
    const responses = await Promise.all(Array.from({ length: 10 }, (_, i) => initiate(tokens[i % 2] ?? '', sessionId)));
    expect(responses.filter((r) => r.status === 200)).toHaveLength(3);
    expect(responses.filter((r) => r.status === 429)).toHaveLength(7);
    const open = await server.db
      .selectFrom('videoAnalysisJobs')
      .select('id')
      .where('ownerType', '=', 'org')
      .where('ownerId', '=', 'org-x')
      .where('status', '=', 'awaiting_upload')
      .execute();
    expect(open).toHaveLength(3);
  });

  it("serialises the limit checks of an organisation's staff, and no one else's", async () => {
    const org: Owner = { type: 'org', id: 'org-lock' };
    const otherOrg: Owner = { type: 'org', id: 'org-other' };
    const sessions = new Map<Owner, string>();
    for (const owner of [org, otherOrg]) {
      const id = randomUUID();
      await insertSession(server.db, { id, owner, createdBy: 'staff-1', title: 'Locks', playerIds: [] });
      await ensureOwnerUsage(server.db, owner);
      sessions.set(owner, id);
    }
    let locked!: () => void;
    const holding = new Promise<void>((resolve) => (locked = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    // One initiate of staff-1 in the middle of its reservation: it holds the org's usage row.
    const first = server.db.transaction().execute(async (trx) => {
      await sql`select 1 from owner_usage where owner_type = ${org.type} and owner_id = ${org.id} for update`.execute(trx);
      locked();
      await released;
    });
    await holding;
    const tryReserve = (userId: string, owner: Owner) =>
      server.db.transaction().execute(async (trx) => {
        await sql`set local lock_timeout = '300ms'`.execute(trx);
        const job = { ...newJobParams(sessions.get(owner) ?? '', owner), createdBy: userId, declaredSizeBytes: 1000 };
        await reserveUploadAndInsertJob(trx, {
          job,
          limits: { defaultQuotaBytes: 0, maxOpenUploads: 3 },
          actor: { kind: 'user', id: job.createdBy },
        });
      });
    try {
      // Another member of the same org waits (here: times out); another org does not.
      await expect(tryReserve('staff-2', org)).rejects.toMatchObject({ code: '55P03' });
      await expect(tryReserve('staff-3', otherOrg)).resolves.toBeUndefined();
    } finally {
      release();
      await first;
    }
  });

  it('limits how fast one user starts uploads, and not another user', async () => {
    const { sessionId } = await server.clientFor(coachB).sessions.create.mutate({ title: 'Rate', playerIds: [] });
    const token = await server.tokenFor(coachB);
    // Keep the open-upload cap out of the way: finish each one by aborting it.
    for (let i = 0; i < 5; i++) {
      const response = await initiate(token, sessionId);
      expect(response.status).toBe(200);
      const { result } = (await response.json()) as { result: { data: { jobId: string } } };
      await server.clientFor(coachB).upload.abort.mutate({ jobId: result.data.jobId });
    }
    const limited = await initiate(token, sessionId);
    expect(limited.status).toBe(429);
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    const body = (await limited.json()) as ErrorBody;
    expect(body.error.data.appCode).toBe('TOO_MANY_REQUESTS');
    expect(body.error.message).toMatch(/limit is 5/);
  });
});
