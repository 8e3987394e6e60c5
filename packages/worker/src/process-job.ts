import { randomUUID } from 'node:crypto';

import type { ReceivedMessage } from '@coach/aws';
import { extendLease, findJob, type Database, type Kysely, type VideoAnalysisJob } from '@coach/db';
import {
  AnalysisJobMessageSchema,
  claimJob,
  completeLeasedJob,
  failureColumns,
  isTerminal,
  jobFailure,
  moveJob,
  writeLeasedJob,
  type AnalysisJobMessage,
  type AnalysisResult,
  type Logger,
} from '@coach/jobs';

import type { Disposition, MessageHandler } from './consumer.ts';
import { PermanentAnalysisError } from './errors.ts';

export interface AnalysisInput {
  job: VideoAnalysisJob;
  /** Aborted on shutdown or when the lease is lost: stop and throw. */
  signal: AbortSignal;
  /** Frames analysed so far; the job's progress follows it. */
  reportProgress(done: number, total: number): Promise<void>;
}

/** Turns one uploaded video into the result stored on the job (validated against its schema when written). */
export type VideoAnalyzer = (input: AnalysisInput) => Promise<AnalysisResult>;

export interface JobProcessorOptions {
  db: Kysely<Database>;
  analyzer: VideoAnalyzer;
  logger: Logger;
  workerId: string;
  leaseSeconds: number;
  visibilityTimeoutSeconds: number;
  /** Must equal the queue's redrive maxReceiveCount: the last delivery fails the job. */
  maxReceives: number;
  backoffBaseSeconds: number;
  backoffMaxSeconds: number;
  /**
   * A job still running after this long is stopped and fails for good
   * (`ANALYSIS_TIME_LIMIT`): it is sized to cover the largest job the caps
   * allow, so a retry would only hold a slot as long again.
   */
  maxJobSeconds: number;
}

type Stop = 'shutdown' | 'lease-lost' | 'deadline';

/** Handles one analysis message end to end; see DESIGN.md for every outcome. */
export function createJobProcessor(options: JobProcessorOptions): MessageHandler {
  const { db, logger } = options;

  return async (message, ctx) => {
    const parsed = parseMessage(message.body);
    if (!parsed.ok && parsed.newerVersion) {
      // From a newer producer during a rolling deploy: leave it for a newer worker.
      logger.warn({ messageId: message.messageId, version: parsed.newerVersion }, 'analysis message of a newer version');
      return { kind: 'retry', delaySeconds: 300 };
    }
    if (!parsed.ok) {
      logger.error({ messageId: message.messageId, issues: parsed.issues }, 'invalid analysis message');
      if (parsed.jobId) {
        await moveJob(db, {
          jobId: parsed.jobId,
          from: 'queued',
          to: 'failed',
          set: failureColumns(jobFailure.invalidMessage(), new Date()),
        });
      }
      return { kind: 'dead-letter' };
    }

    const leaseToken = randomUUID();
    const job = await claimJob(db, {
      jobId: parsed.message.job_id,
      leaseToken,
      leaseOwner: options.workerId,
      leaseSeconds: options.leaseSeconds,
      messageId: message.messageId,
    });
    if (!job) return dispositionForUnclaimed(db, parsed.message.job_id, logger, message);
    if (job.attempts > options.maxReceives) {
      // Deliveries were used up without an outcome (e.g. crashes, or a queue redrive
      // count above WORKER_MAX_RECEIVES): stop here rather than loop.
      await writeLeasedJob(db, {
        jobId: job.id,
        leaseToken,
        to: 'failed',
        set: failureColumns(jobFailure.retriesExhausted(job.attempts - 1), new Date()),
      });
      return { kind: 'delete' };
    }

    const jobId = job.id;
    const log = { jobId, attempt: job.attempts, receiveCount: message.receiveCount };
    logger.info(log, 'analysis started');
    const stop = new AbortController();
    let stopReason: Stop | undefined;
    const halt = (reason: Stop) => {
      stopReason ??= reason;
      stop.abort(reason);
    };
    const onShutdown = () => halt('shutdown');
    ctx.signal.addEventListener('abort', onShutdown, { once: true });
    if (ctx.signal.aborted) onShutdown();
    const deadline = setTimeout(() => halt('deadline'), options.maxJobSeconds * 1000);
    // One tick at a time, and awaited before any final write: a tick that
    // started before a release must not re-hide the message afterwards.
    let tick: Promise<void> = Promise.resolve();
    const heartbeat = setInterval(() => {
      tick = tick.then(async () => {
        if (stopReason) return;
        try {
          const held = await extendLease(db, { jobId, leaseToken, leaseSeconds: options.leaseSeconds });
          if (!held) return halt('lease-lost');
          await ctx.extendVisibility(options.visibilityTimeoutSeconds);
        } catch (error) {
          logger.warn({ ...log, err: error }, 'heartbeat failed');
        }
      });
    }, (options.leaseSeconds * 1000) / 3);
    const stopHeartbeat = async () => {
      clearInterval(heartbeat);
      await tick;
    };

    let lastPercent = -1;
    const reportProgress = async (done: number, total: number) => {
      const percent = total > 0 ? Math.min(99, Math.floor((done / total) * 100)) : 0;
      if (percent === lastPercent) return;
      lastPercent = percent;
      try {
        const row = await writeLeasedJob(db, {
          jobId,
          leaseToken,
          set: { framesDone: done, framesTotal: total, progressPercent: percent },
        });
        if (!row) halt('lease-lost');
      } catch (error) {
        // Progress is advisory: a database blip must not throw away the analysis.
        logger.warn({ ...log, err: error }, 'could not record progress');
      }
    };

    try {
      const result = await options.analyzer({ job, signal: stop.signal, reportProgress });
      await stopHeartbeat();
      if (stopReason) throw stop.signal.reason;
      const done = await completeLeasedJob(db, { jobId: job.id, leaseToken, result, finishedAt: new Date() });
      if (!done) {
        logger.warn(log, 'lease lost before the result was committed; result discarded');
        return { kind: 'leave' };
      }
      logger.info(log, 'analysis completed');
      return { kind: 'delete' };
    } catch (error) {
      await stopHeartbeat();
      return await settleFailure(error);
    } finally {
      clearInterval(heartbeat);
      clearTimeout(deadline);
      ctx.signal.removeEventListener('abort', onShutdown);
    }

    async function settleFailure(error: unknown): Promise<Disposition> {
      if (stopReason === 'lease-lost') {
        logger.warn(log, 'lease lost; stopped without writing');
        return { kind: 'leave' };
      }
      if (stopReason === 'shutdown') {
        await writeLeasedJob(db, { jobId, leaseToken, to: 'queued' });
        logger.info(log, 'released for another worker at shutdown');
        return { kind: 'retry', delaySeconds: 0 };
      }
      if (stopReason === 'deadline') {
        logger.warn({ ...log, maxJobSeconds: options.maxJobSeconds }, 'analysis exceeded its time limit');
      }
      const permanent = stopReason === 'deadline' ? PermanentAnalysisError.of(jobFailure.timeLimit(options.maxJobSeconds)) : error;
      if (permanent instanceof PermanentAnalysisError) {
        const failed = await writeLeasedJob(db, {
          jobId,
          leaseToken,
          to: 'failed',
          set: failureColumns(permanent, new Date()),
        });
        logger.info({ ...log, code: permanent.code }, 'analysis failed permanently');
        return failed ? { kind: 'delete' } : { kind: 'leave' };
      } else {
        logger.warn({ ...log, err: error }, 'analysis failed; will retry');
      }
      if (message.receiveCount >= options.maxReceives) {
        await writeLeasedJob(db, {
          jobId,
          leaseToken,
          to: 'failed',
          set: failureColumns(jobFailure.retriesExhausted(message.receiveCount), new Date()),
        });
        // Visible at once: SQS moves it to the dead-letter queue on the next receive.
        return { kind: 'retry', delaySeconds: 0 };
      }
      await writeLeasedJob(db, { jobId, leaseToken, to: 'queued' });
      const delaySeconds = Math.min(
        options.backoffMaxSeconds,
        options.backoffBaseSeconds * 2 ** Math.max(0, message.receiveCount - 1),
      );
      return { kind: 'retry', delaySeconds };
    }
  };
}

type ParsedMessage =
  | { ok: true; message: AnalysisJobMessage }
  | { ok: false; jobId: string | undefined; issues: string[]; newerVersion?: number };

function parseMessage(body: string): ParsedMessage {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { ok: false, jobId: undefined, issues: ['body is not JSON'] };
  }
  const result = AnalysisJobMessageSchema.safeParse(json);
  if (result.success) return { ok: true, message: result.data };
  const version = typeof json === 'object' && json !== null && 'schema_version' in json ? json.schema_version : undefined;
  if (typeof version === 'number' && Number.isInteger(version) && version > 1) {
    return { ok: false, jobId: undefined, issues: [], newerVersion: version };
  }
  const jobId = AnalysisJobMessageSchema.shape.job_id.safeParse(
    typeof json === 'object' && json !== null && 'job_id' in json ? json.job_id : undefined,
  );
  return {
    ok: false,
    jobId: jobId.success ? jobId.data : undefined,
    issues: result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`),
  };
}

/** Why a job could not be claimed decides what happens to its message. */
async function dispositionForUnclaimed(
  db: Kysely<Database>,
  jobId: string,
  logger: Logger,
  message: ReceivedMessage,
): Promise<Disposition> {
  const job = await findJob(db, { jobId });
  if (!job) {
    logger.error({ jobId, messageId: message.messageId }, 'analysis message for an unknown job');
    return { kind: 'dead-letter' };
  }
  if (isTerminal(job.status)) {
    logger.info({ jobId, status: job.status }, 'duplicate or late message for a finished job; acknowledged');
    return { kind: 'delete' };
  }
  if (job.status === 'processing') {
    // Another worker holds a live lease. A different copy of the message is a
    // duplicate: drop it rather than let it cycle into the dead-letter queue.
    if (job.leaseMessageId && job.leaseMessageId !== message.messageId) {
      logger.info({ jobId }, 'duplicate message for a job in progress; dropped');
      return { kind: 'delete' };
    }
    return { kind: 'leave' };
  }
  logger.error({ jobId, status: job.status }, 'analysis message for a job that was never queued');
  return { kind: 'dead-letter' };
}
