import { tracked, type TrackedEnvelope } from '@trpc/server';

import { findOwnedJob, type Database, type Kysely, type Owner } from '@coach/db';

import type { JobEvents } from '../events/job-events.ts';
import { jobNotFound, toJobView, type JobView } from './jobs.ts';
import { isTerminal } from './job-status.ts';

/** Re-reads the job this often even without a notification, in case one was lost. */
const FALLBACK_POLL_MS = 15_000;

/** Identifies one observable state, so a reconnecting client gets only what it has not seen. */
function eventId(view: JobView): string {
  return `${view.status}:${view.progressPercent}:${view.updatedAt}`;
}

/**
 * Streams the job's state until it is terminal: the current state first
 * (unless the client already saw it: `lastEventId`), then every change.
 */
export async function* watchJob(
  deps: { db: Kysely<Database>; jobEvents: JobEvents },
  p: { owner: Owner; jobId: string; lastEventId: string | null | undefined; signal: AbortSignal | undefined },
): AsyncGenerator<TrackedEnvelope<JobView>> {
  let wake: (() => void) | undefined;
  let changed = true;
  // Subscribe before the first read, so a change between the two is not missed.
  const unsubscribe = deps.jobEvents.subscribe(p.jobId, () => {
    changed = true;
    wake?.();
  });
  const onAbort = () => wake?.();
  p.signal?.addEventListener('abort', onAbort);
  try {
    let last = p.lastEventId ?? undefined;
    for (;;) {
      if (p.signal?.aborted) return;
      if (changed) {
        changed = false;
        const row = await findOwnedJob(deps.db, { jobId: p.jobId, owner: p.owner });
        if (!row) throw jobNotFound();
        const view = toJobView(row);
        const id = eventId(view);
        if (id !== last) {
          last = id;
          yield tracked(id, view);
        }
        if (isTerminal(view.status)) return;
      }
      // A change or an abort that arrived while reading or yielding is handled at once.
      if (changed || p.signal?.aborted) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          changed = true;
          resolve();
        }, FALLBACK_POLL_MS);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  } finally {
    unsubscribe();
    p.signal?.removeEventListener('abort', onAbort);
  }
}
