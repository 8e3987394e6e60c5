import { tracked, type TrackedEnvelope } from '@trpc/server';

import { findOwnedJob, type Database, type Kysely, type Owner, type VideoAnalysisJob } from '@coach/db';
import { isTerminal, type Logger } from '@coach/jobs';

import type { ScheduleAt } from '../clock.ts';
import type { ApiConfig } from '../context.ts';
import type { JobEvents } from '../events/job-events.ts';
import { AppError } from './errors.ts';
import { jobNotFound, toJobView, type JobView } from './jobs.ts';
import { readEffectiveRetention } from './retention.ts';

export interface WatchJobDeps {
  db: Kysely<Database>;
  logger: Logger;
  jobEvents: JobEvents;
  config: Pick<ApiConfig, 'maxWatchStreamsPerUser' | 'retentionDefaults'>;
  now: () => Date;
  scheduleAt: ScheduleAt;
}

export interface WatchJobParams {
  user: { userId: string; expiresAt?: number };
  owner: Owner;
  jobId: string;
  lastEventId: string | null | undefined;
  /** Aborts when the client goes away. */
  signal: AbortSignal | undefined;
}

/** Identifies one observable state, so a reconnecting client gets only what it has not seen. */
function eventId(view: JobView): string {
  return `${view.status}:${view.progressPercent}:${view.updatedAt}`;
}

/** A deleted job ends the stream like another owner's: not found. */
const isOwnedBy = (row: VideoAnalysisJob, owner: Owner) =>
  row.status !== 'deleted' && row.ownerType === owner.type && row.ownerId === owner.id;

/**
 * Opens a live stream of the job's state: refuses before anything is sent
 * (an expired token, too many streams, a job the caller does not own), then
 * returns the stream. It gives the current state first (unless the client
 * already saw it: `lastEventId`), then every change, until the job is
 * terminal; and it ends when the token expires, without tRPC's end-of-stream
 * event, so the client reconnects with its fresh token and resumes.
 */
export async function openJobWatch(deps: WatchJobDeps, p: WatchJobParams): Promise<AsyncGenerator<TrackedEnvelope<JobView>>> {
  const { expiresAt } = p.user;
  if (expiresAt !== undefined && expiresAt <= deps.now().getTime()) {
    throw new AppError('TOKEN_EXPIRED', 'Your sign-in has expired. Sign in again.');
  }
  const max = deps.config.maxWatchStreamsPerUser;
  const release = deps.jobEvents.admitStream(p.user.userId, max);
  if (!release) {
    throw new AppError(
      'TOO_MANY_STREAMS',
      `You already have ${max} live job streams open (the limit is ${max}). Close one you no longer follow, then try again.`,
    );
  }

  const inbox = createInbox();
  const unfollow = deps.jobEvents.follow(p.jobId, inbox.listener);
  const cancelExpiry = expiresAt === undefined ? () => {} : deps.scheduleAt(new Date(expiresAt), () => inbox.expire());
  // The generator's own `finally` never runs if tRPC drops it unstarted (the client left
  // at once), so the abort signal frees the stream too; whichever comes first.
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    cancelExpiry();
    unfollow();
    release();
    p.signal?.removeEventListener('abort', onAbort);
  };
  const onAbort = () => {
    inbox.wake();
    close();
  };
  p.signal?.addEventListener('abort', onAbort);
  try {
    // Read after following, so a change between the two is not missed.
    const first = await findOwnedJob(deps.db, { jobId: p.jobId, owner: p.owner });
    if (!first) throw jobNotFound();
    const retention = await readEffectiveRetention(deps.db, deps.config, p.owner);
    return streamJob({
      first,
      toView: (row) => toJobView(row, deps.logger, retention),
      owner: p.owner,
      lastEventId: p.lastEventId,
      signal: p.signal,
      inbox,
      close,
    });
  } catch (error) {
    close();
    throw error;
  }
}

async function* streamJob(s: {
  toView: (row: VideoAnalysisJob) => JobView;
  first: VideoAnalysisJob;
  owner: Owner;
  lastEventId: string | null | undefined;
  signal: AbortSignal | undefined;
  inbox: Inbox;
  close: () => void;
}): AsyncGenerator<TrackedEnvelope<JobView>> {
  try {
    let last = s.lastEventId ?? undefined;
    let shownAt = -Infinity;
    let row: VideoAnalysisJob | undefined = s.first;
    for (;;) {
      if (s.signal?.aborted) return;
      if (row) {
        if (!isOwnedBy(row, s.owner)) throw jobNotFound();
        const view = s.toView(row);
        // Rows from the hub and the first read may arrive out of order; never step back.
        if (row.updatedAt.getTime() >= shownAt) {
          shownAt = row.updatedAt.getTime();
          const id = eventId(view);
          if (id !== last) {
            last = id;
            yield tracked(id, view);
          }
          if (isTerminal(view.status)) return;
        }
      }
      const next = await s.inbox.take();
      if (next.kind === 'gone') throw jobNotFound();
      if (next.kind === 'failed') throw next.error;
      if (next.kind === 'expired') {
        // An AbortError makes tRPC close the response without its `return` event, as at
        // `sse.maxDurationMs`, so the client's EventSource reconnects (with a fresh token).
        throw new DOMException('The access token expired; reconnect with a fresh one.', 'AbortError');
      }
      row = next.kind === 'row' ? next.row : undefined;
    }
  } finally {
    s.close();
  }
}

type InboxItem =
  | { kind: 'row'; row: VideoAnalysisJob }
  | { kind: 'gone' }
  | { kind: 'failed'; error: unknown }
  | { kind: 'expired' }
  | { kind: 'woken' };

interface Inbox {
  listener: { onRow(row: VideoAnalysisJob | undefined): void; onError(error: unknown): void };
  expire(): void;
  /** Ends a pending `take` (the client went away). */
  wake(): void;
  /** The newest news: only the latest row matters, and expiry or failure outranks any row. */
  take(): Promise<InboxItem>;
}

function createInbox(): Inbox {
  let pending: InboxItem | undefined;
  let waiter: ((item: InboxItem) => void) | undefined;
  const put = (item: InboxItem) => {
    if (pending && pending.kind !== 'row' && pending.kind !== 'woken') return;
    if (waiter) {
      const resolve = waiter;
      waiter = undefined;
      resolve(item);
    } else {
      pending = item;
    }
  };
  return {
    listener: {
      onRow: (row) => put(row ? { kind: 'row', row } : { kind: 'gone' }),
      onError: (error) => put({ kind: 'failed', error }),
    },
    expire: () => put({ kind: 'expired' }),
    wake: () => put({ kind: 'woken' }),
    take() {
      if (pending) {
        const item = pending;
        pending = undefined;
        return Promise.resolve(item);
      }
      return new Promise((resolve) => (waiter = resolve));
    },
  };
}
