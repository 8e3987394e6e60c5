import { describe, expect, it } from 'vitest';

import { createOutboxDispatcher, silentLogger, startOutboxRelay } from '@coach/api';
import { createSqsQueue, type MessageQueue } from '@coach/aws';
import { sql } from '@coach/db';

import { bodiesOf, callApi, createSession, inParallel, messagesPerJob, uploadedJob } from '../../../test/helpers/faults.ts';
import { coachA } from '../../../test/helpers/identities.ts';
import { recordScenario, scaled } from '../../../test/helpers/reliability.ts';
import { FaultyQueue, startTestServer } from '../../../test/helpers/server.ts';
import { waitFor } from '../../../test/helpers/wait.ts';

/**
 * The outbox relay dies at each step of a send (claim → send → mark sent):
 * a relay that stops dead (no cleanup, no release) and a fresh relay that
 * starts afterwards. Every job is queued, the only duplicate is the one sent
 * just before the crash, and no row stays claimed past its claim.
 */

type CrashStep = 'after claim, before send' | 'after send, before mark sent' | 'after mark sent';

/** Sends that pass through, until the crash point: then the relay never returns, as a killed process. */
function crashingQueue(inner: MessageQueue, step: CrashStep, onCrash: (body: string) => void): MessageQueue {
  let sends = 0;
  const never = new Promise<never>(() => {});
  return {
    ...inner,
    async send(body, options) {
      sends += 1;
      switch (step) {
        case 'after claim, before send':
          onCrash(body);
          return never;
        case 'after send, before mark sent':
          await inner.send(body, options);
          onCrash(body);
          return never;
        case 'after mark sent':
          // The first two rows go through in full (sent and marked); the crash hits as the next begins.
          if (sends <= 2) return inner.send(body, options);
          onCrash(body);
          return never;
      }
    },
  };
}

const steps: CrashStep[] = ['after claim, before send', 'after send, before mark sent', 'after mark sent'];

describe('the outbox relay killed at each step', () => {
  for (const step of steps) {
    it(`${step}: a fresh relay queues every job once claims lapse; duplicates only from a send already made`, async () => {
      const count = scaled(10, 100);
      const batch = 25;
      let faulty: FaultyQueue | undefined;
      const server = await startTestServer({
        wrapQueue: (queue) => (faulty = new FaultyQueue(queue)),
        outbox: { inlineCooldownMs: 0, baseRetryMs: 0 },
      });
      try {
        if (!faulty) throw new Error('queue not wrapped');
        const token = await server.tokenFor(coachA);
        const sessionId = await createSession(server, token);
        const jobIds = await inParallel(count, 8, () => uploadedJob(server, token, sessionId, new Uint8Array(8).fill(2)));
        // Completes succeed while SQS refuses: every job is queued, its outbox row pending.
        faulty.fail.send = true;
        const completed = await inParallel(count, 8, (i) => callApi(server, token, 'upload.complete', { jobId: jobIds[i] }));
        expect(completed.every((a) => a.kind === 'ok')).toBe(true);

        const real = createSqsQueue({ sqs: server.sqs, queueUrl: server.queueUrl });
        let crashedOn: string | undefined;
        const doomed = createOutboxDispatcher({
          db: server.db,
          queue: crashingQueue(real, step, (body) => (crashedOn = (JSON.parse(body) as { job_id: string }).job_id)),
          logger: silentLogger,
          claimSeconds: 1,
        });
        void doomed.relayDue(batch);
        await waitFor(() => crashedOn !== undefined, { what: 'the relay to reach its crash point' });

        // What the dead relay left behind: its whole batch claimed, sent or not.
        const { rows: left } = await sql<{ claimed: string; sent: string }>`
          select count(*) filter (where claimed_until > now() and sent_at is null) as claimed,
                 count(*) filter (where sent_at is not null) as sent
            from outbox_messages`.execute(server.db);
        const markedBeforeCrash = step === 'after mark sent' ? 2 : 0;
        expect(Number(left[0]?.sent)).toBe(markedBeforeCrash);
        expect(Number(left[0]?.claimed)).toBe(Math.min(batch, count) - markedBeforeCrash);

        const fresh = createOutboxDispatcher({ db: server.db, queue: real, logger: silentLogger });
        const relay = startOutboxRelay({ dispatcher: fresh, logger: silentLogger, idleIntervalMs: 50 });
        const started = Date.now();
        try {
          await waitFor(
            async () => {
              const unsent = await server.db.selectFrom('outboxMessages').select('id').where('sentAt', 'is', null).execute();
              return unsent.length === 0;
            },
            { what: 'every outbox row to be sent', timeoutMs: 15_000 },
          );
        } finally {
          await relay.stop();
        }
        const recoveredMs = Date.now() - started;

        const perJob = messagesPerJob(bodiesOf(await server.drainQueue()));
        expect([...perJob.keys()].sort()).toEqual([...jobIds].sort());
        const duplicated = [...perJob].filter(([, n]) => n > 1).map(([jobId]) => jobId);
        // Only a message SQS already had when the relay died is sent twice.
        expect(duplicated).toEqual(step === 'after send, before mark sent' ? [crashedOn] : []);
        expect(Math.max(...perJob.values())).toBeLessThanOrEqual(2);
        const jobs = await server.db
          .selectFrom('videoAnalysisJobs')
          .select(['status', 'sqsMessageId'])
          .where('id', 'in', jobIds)
          .execute();
        expect(jobs.every((j) => j.status === 'queued' && j.sqsMessageId)).toBe(true);

        await recordScenario({
          scenario: `relay killed ${step}`,
          scale: `${count} pending outbox rows, the dead relay's batch ${Math.min(batch, count)}; claims of 1 s`,
          requests: 1 + 2 * count,
          jobs: count,
          messages: [...perJob.values()].reduce((a, b) => a + b, 0),
          results: 0,
          lost: jobIds.filter((id) => !perJob.has(id)).length,
          // A duplicate message is at-least-once delivery, which the worker's claim drops (see "SQS reply lost
          // after a send"); no job was queued twice.
          duplicated: 0,
          http5xx: completed.filter((a) => a.kind === 'error' && a.status >= 500).length,
          notes: `${duplicated.length} duplicate message(s) (at-least-once; dropped by the worker's claim); a fresh relay sent everything ${recoveredMs} ms after the crash (claims lapse after 1 s)`,
        });
      } finally {
        await server.close();
      }
    });
  }
});

describe('relays racing while SQS is slow', () => {
  it('a batch never sends a row after its claim could have lapsed, so two relays never send one row twice', async () => {
    const count = scaled(8, 60);
    let faulty: FaultyQueue | undefined;
    const server = await startTestServer({
      wrapQueue: (queue) => (faulty = new FaultyQueue(queue)),
      outbox: { inlineCooldownMs: 0, baseRetryMs: 0 },
    });
    const relays: ReturnType<typeof startOutboxRelay>[] = [];
    try {
      if (!faulty) throw new Error('queue not wrapped');
      const token = await server.tokenFor(coachA);
      const sessionId = await createSession(server, token);
      const jobIds = await inParallel(count, 8, () => uploadedJob(server, token, sessionId, new Uint8Array(8).fill(3)));
      faulty.fail.send = true;
      const completed = await inParallel(count, 8, (i) => callApi(server, token, 'upload.complete', { jobId: jobIds[i] }));
      expect(completed.every((a) => a.kind === 'ok')).toBe(true);

      // Every send takes 300 ms: a batch of all the rows outlasts a 1 s claim several times over.
      const real = createSqsQueue({ sqs: server.sqs, queueUrl: server.queueUrl });
      const slow: MessageQueue = {
        ...real,
        async send(body, options) {
          await new Promise((resolve) => setTimeout(resolve, 300));
          return real.send(body, options);
        },
      };
      for (let i = 0; i < 2; i++) {
        const dispatcher = createOutboxDispatcher({ db: server.db, queue: slow, logger: silentLogger, claimSeconds: 1 });
        relays.push(startOutboxRelay({ dispatcher, logger: silentLogger, idleIntervalMs: 50 }));
      }
      const started = Date.now();
      await waitFor(
        async () => {
          const unsent = await server.db.selectFrom('outboxMessages').select('id').where('sentAt', 'is', null).execute();
          return unsent.length === 0;
        },
        { what: 'every outbox row to be sent', timeoutMs: 30_000 },
      );
      const tookMs = Date.now() - started;
      for (const relay of relays.splice(0)) await relay.stop();

      const perJob = messagesPerJob(bodiesOf(await server.drainQueue()));
      expect([...perJob.keys()].sort()).toEqual([...jobIds].sort());
      expect([...perJob.values()].filter((n) => n > 1)).toEqual([]);

      await recordScenario({
        scenario: 'two relays, SQS slower than a claim',
        scale: `${count} pending rows, 2 relays with 1 s claims, every send 300 ms`,
        requests: 1 + 2 * count,
        jobs: count,
        messages: [...perJob.values()].reduce((a, b) => a + b, 0),
        results: 0,
        lost: jobIds.filter((id) => !perJob.has(id)).length,
        duplicated: [...perJob.values()].filter((n) => n > 1).length,
        http5xx: completed.filter((a) => a.kind === 'error' && a.status >= 500).length,
        notes: `each batch hands back what its claim cannot cover; all sent in ${tookMs} ms, no message twice`,
      });
    } finally {
      for (const relay of relays) await relay.stop();
      await server.close();
    }
  }, 60_000);
});
