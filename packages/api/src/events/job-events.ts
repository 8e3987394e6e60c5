import { findJob, type Database, type Kysely, type VideoAnalysisJob } from '@coach/db';

/** Receives a watched job's row after each change (`undefined` once the row is gone), or the read's failure. */
export interface JobListener {
  onRow(row: VideoAnalysisJob | undefined): void;
  onError(error: unknown): void;
}

/** What jobs.watch needs of the process's hub. */
export interface JobEvents {
  /**
   * Calls `listener` with the job's row after every change. One read per
   * change serves every listener of the job, whoever owns it: a listener
   * must check the owner itself. Only reads begun after `follow` reach the
   * listener, so a listener that reads the job once just after following
   * never sees an older row from the hub.
   */
  follow(jobId: string, listener: JobListener): () => void;
  /**
   * Counts one more open stream for `userId` unless they already hold `max`
   * (0: no limit). Returns the stream's release (safe to call twice), or
   * undefined when the user is at the limit. Counted in this process only.
   */
  admitStream(userId: string, max: number): (() => void) | undefined;
  /** Streams open in this process, all users together. */
  readonly openStreams: number;
}

export interface JobEventHub extends JobEvents {
  /** One job changed (e.g. a Postgres notification arrived). */
  publish(jobId: string): void;
  /** Anything may have changed (e.g. notifications were missed during a reconnect). */
  publishAll(): void;
  /** Job reads made so far, for figures and tests. */
  readonly reads: number;
  /** Stops the fallback polls (the process is shutting down). */
  close(): void;
}

export interface JobEventHubOptions {
  db: Kysely<Database>;
  /** A watched job is read again this long after its last read even without a notification, in case one was lost. */
  fallbackPollMs?: number;
}

const FALLBACK_POLL_MS = 15_000;

interface WatchedJob {
  listeners: Set<JobListener>;
  /** A read is under way; changes meanwhile set `readAgain` instead of starting another. */
  reading: boolean;
  readAgain: boolean;
  poll: NodeJS.Timeout | undefined;
}

/**
 * One per API process, fed by the database's job notifications. A changed job
 * is read once, however many streams watch it, and the row is handed to each
 * (at most one read per job is in flight; changes during it cost one more).
 */
export function createJobEventHub(options: JobEventHubOptions): JobEventHub {
  const fallbackPollMs = options.fallbackPollMs ?? FALLBACK_POLL_MS;
  const byJob = new Map<string, WatchedJob>();
  const streamsByUser = new Map<string, number>();
  let openStreams = 0;
  let reads = 0;
  let closed = false;

  const schedulePoll = (jobId: string, job: WatchedJob) => {
    clearTimeout(job.poll);
    if (closed) return;
    job.poll = setTimeout(() => refresh(jobId, job), fallbackPollMs);
    job.poll.unref();
  };

  const refresh = (jobId: string, job: WatchedJob): void => {
    if (job.reading) {
      job.readAgain = true;
      return;
    }
    job.reading = true;
    clearTimeout(job.poll);
    void (async () => {
      do {
        job.readAgain = false;
        // Only listeners present when the read begins get its row (see `follow`).
        const listeners = [...job.listeners];
        reads += 1;
        let row: VideoAnalysisJob | undefined;
        try {
          row = await findJob(options.db, { jobId });
        } catch (error) {
          for (const listener of listeners) listener.onError(error);
          continue;
        }
        for (const listener of listeners) listener.onRow(row);
      } while (job.readAgain && byJob.get(jobId) === job);
      job.reading = false;
      if (byJob.get(jobId) === job) schedulePoll(jobId, job);
    })();
  };

  return {
    follow(jobId, listener) {
      let job = byJob.get(jobId);
      if (!job) {
        job = { listeners: new Set(), reading: false, readAgain: false, poll: undefined };
        byJob.set(jobId, job);
        schedulePoll(jobId, job);
      }
      const watched = job;
      watched.listeners.add(listener);
      return () => {
        watched.listeners.delete(listener);
        if (watched.listeners.size === 0 && byJob.get(jobId) === watched) {
          clearTimeout(watched.poll);
          byJob.delete(jobId);
        }
      };
    },
    admitStream(userId, max) {
      const held = streamsByUser.get(userId) ?? 0;
      if (max > 0 && held >= max) return undefined;
      streamsByUser.set(userId, held + 1);
      openStreams += 1;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        openStreams -= 1;
        const left = (streamsByUser.get(userId) ?? 1) - 1;
        if (left > 0) streamsByUser.set(userId, left);
        else streamsByUser.delete(userId);
      };
    },
    publish(jobId) {
      const job = byJob.get(jobId);
      if (job) refresh(jobId, job);
    },
    publishAll() {
      for (const [jobId, job] of Array.from(byJob)) refresh(jobId, job);
    },
    get openStreams() {
      return openStreams;
    },
    get reads() {
      return reads;
    },
    close() {
      closed = true;
      for (const job of byJob.values()) clearTimeout(job.poll);
    },
  };
}
