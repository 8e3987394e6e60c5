import { sql } from '@coach/db';
import { describe, expect, it } from 'vitest';

import { watchJob } from '../src/domain/watch-job.ts';
import { useCallerTests } from '../../../test/helpers/api.ts';
import { coachA, signedIn } from '../../../test/helpers/identities.ts';

const t = useCallerTests();

/** A hub whose listener the test fires by hand, at the moment it chooses. */
function manualEvents() {
  const listeners: (() => void)[] = [];
  return {
    subscribe(_jobId: string, onChange: () => void) {
      listeners.push(onChange);
      return () => listeners.splice(listeners.indexOf(onChange), 1);
    },
    fire: () => listeners.forEach((l) => l()),
    get count() {
      return listeners.length;
    },
  };
}

async function queuedJobId() {
  const caller = t.api.callerFor(signedIn(coachA));
  const { sessionId } = await caller.sessions.create({ title: 'w', playerIds: [] });
  const { jobId } = await caller.upload.initiate({ sessionId });
  return jobId;
}

describe('watchJob', () => {
  it('handles a change that arrived while the stream was paused, without waiting for the fallback poll', async () => {
    const jobId = await queuedJobId();
    const events = manualEvents();
    const owner = { type: 'coach' as const, id: coachA.userId };
    const stream = watchJob({ db: t.testDb.db, jobEvents: events }, { owner, jobId, lastEventId: undefined, signal: undefined });

    const first = await stream.next();
    expect(first.value?.[1].status).toBe('awaiting_upload');
    // The change lands while the generator is paused at its yield.
    await sql`update video_analysis_jobs set status = 'rejected' where id = ${jobId}`.execute(t.testDb.db);
    events.fire();

    const started = Date.now();
    const second = await stream.next();
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(second.value?.[1].status).toBe('rejected');
    expect((await stream.next()).done).toBe(true); // terminal: the stream ends
    expect(events.count).toBe(0); // and unsubscribes
  });

  it('ends promptly when the client goes away, and unsubscribes', async () => {
    const jobId = await queuedJobId();
    const events = manualEvents();
    const controller = new AbortController();
    const owner = { type: 'coach' as const, id: coachA.userId };
    const stream = watchJob(
      { db: t.testDb.db, jobEvents: events },
      { owner, jobId, lastEventId: undefined, signal: controller.signal },
    );
    await stream.next();
    const pending = stream.next();
    controller.abort();
    const started = Date.now();
    expect((await pending).done).toBe(true);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(events.count).toBe(0);
  });
});
