import { randomUUID } from 'node:crypto';

import { trace } from '@opentelemetry/api';

import type { ReceivedMessage } from '@coach/aws';
import { extendLease, findJob, type Database, type Kysely, type VideoAnalysisJob } from '@coach/db';
import {
  claimJob,
  completeLeasedJob,
  failureColumns,
  jobFailure,
  moveJob,
  signals,
  writeLeasedJob,
  type AnalysisResult,
  type Logger,
} from '@coach/jobs';

import type { Disposition, HandlerContext, MessageHandler } from './consumer.ts';
import { parseMessage, type ParsedMessage } from './job/parse-message.ts';
import { progressReporter } from './job/progress.ts';
import { applySettlement, decideSettlement, recordJobFailure, type Settlement, type SettlementFacts } from './job/settlement.ts';
import { superviseJob } from './job/supervision.ts';
import { decideUnclaimed } from './job/unclaimed.ts';

export interface AnalysisInput {
  job: VideoAnalysisJob;
  /** Aborted on shutdown or when the lease is lost: stop and throw. */
  signal: AbortSignal;
  /** Frames analysed so far; the job's progress follows it. */
  reportProgress: (done: number, total: number) => Promise<void>;
  /**
   * Renews the lease, or stops the analysis and throws when it is gone (the
   * job was deleted, or given to another worker): called before storing the
   * result's files, so a deleted job never gets them.
   */
  confirmLease: () => Promise<void>;
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

/** Handles one analysis message end to end; see DESIGN.md for every outcome. */
export function createJobProcessor(options: JobProcessorOptions): MessageHandler {
  const { db, logger } = options;

  return async (message, ctx) => {
    const parsed = parseMessage(message.body);
    if (!parsed.ok) return refuseMessage(options, message, parsed);

    const leaseToken = randomUUID();
    const job = await claimJob(db, {
      jobId: parsed.message.job_id,
      leaseToken,
      leaseOwner: options.workerId,
      leaseSeconds: options.leaseSeconds,
      messageId: message.messageId,
    });
    if (!job) {
      const jobId = parsed.message.job_id;
      const current = await findJob(db, { jobId });
      const decision = decideUnclaimed(current, message.messageId);
      if (decision.level !== 'none') {
        logger[decision.level]({ jobId, messageId: message.messageId, status: current?.status }, decision.message);
      }
      return decision.disposition;
    }
    if (job.attempts > options.maxReceives) {
      // Deliveries were used up without an outcome (e.g. crashes, or a queue redrive
      // count above WORKER_MAX_RECEIVES): stop here rather than loop.
      const failure = jobFailure.retriesExhausted(job.attempts - 1);
      const failed = await writeLeasedJob(db, {
        jobId: job.id,
        leaseToken,
        to: 'failed',
        set: failureColumns(failure, new Date()),
      });
      if (failed) recordJobFailure(failure.code);
      return { kind: 'delete' };
    }
    return runClaimed(options, { job, leaseToken, message, ctx });
  };
}

/** A message that is not a valid analysis request: put back for a newer worker, or dead-lettered (failing the job it names). */
async function refuseMessage(
  { db, logger }: JobProcessorOptions,
  message: ReceivedMessage,
  parsed: Extract<ParsedMessage, { ok: false }>,
): Promise<Disposition> {
  if (parsed.newerVersion) {
    // From a newer producer during a rolling deploy: leave it for a newer worker.
    logger.warn({ messageId: message.messageId, version: parsed.newerVersion }, 'analysis message of a newer version');
    return { kind: 'retry', delaySeconds: 300 };
  }
  logger.error({ messageId: message.messageId, issues: parsed.issues }, 'invalid analysis message');
  if (parsed.jobId) {
    const failure = jobFailure.invalidMessage();
    const failed = await moveJob(db, {
      jobId: parsed.jobId,
      from: 'queued',
      to: 'failed',
      set: failureColumns(failure, new Date()),
    });
    if (failed) recordJobFailure(failure.code);
  }
  return { kind: 'dead-letter' };
}

/** Runs the analysis of a claimed job under supervision, then completes or settles it. */
async function runClaimed(
  options: JobProcessorOptions,
  p: { job: VideoAnalysisJob; leaseToken: string; message: ReceivedMessage; ctx: HandlerContext },
): Promise<Disposition> {
  const { db, logger } = options;
  const { job, leaseToken, message } = p;
  const lease = { jobId: job.id, leaseToken };
  const log = { jobId: job.id, attempt: job.attempts, receiveCount: message.receiveCount };
  logger.info(log, 'analysis started');
  // Ids belong on spans (one trace per upload), never on metric labels.
  trace.getActiveSpan()?.setAttributes({ 'coachplus.job_id': job.id, 'coachplus.attempt': job.attempts });
  const supervision = superviseJob({
    db,
    ctx: p.ctx,
    logger,
    log,
    ...lease,
    leaseSeconds: options.leaseSeconds,
    visibilityTimeoutSeconds: options.visibilityTimeoutSeconds,
    maxJobSeconds: options.maxJobSeconds,
  });
  const reportProgress = progressReporter({ db, ...lease, logger, log, onLeaseLost: () => supervision.halt('lease-lost') });
  const confirmLease = async () => {
    if (!(await extendLease(db, { ...lease, leaseSeconds: options.leaseSeconds }))) supervision.halt('lease-lost');
    supervision.signal.throwIfAborted();
  };

  try {
    const result = await options.analyzer({ job, signal: supervision.signal, reportProgress, confirmLease });
    await supervision.stopHeartbeat();
    if (supervision.stopReason()) throw supervision.signal.reason;
    const done = await completeLeasedJob(db, { ...lease, result, finishedAt: new Date() });
    if (!done) {
      logger.warn(log, 'lease lost before the result was committed; result discarded');
      return { kind: 'leave' };
    }
    logger.info(log, 'analysis completed');
    recordCompletion(result);
    trace.getActiveSpan()?.addEvent('job completed');
    return { kind: 'delete' };
  } catch (error) {
    await supervision.stopHeartbeat();
    const facts: SettlementFacts = {
      stopReason: supervision.stopReason(),
      error,
      receiveCount: message.receiveCount,
      maxReceives: options.maxReceives,
      maxJobSeconds: options.maxJobSeconds,
      backoffBaseSeconds: options.backoffBaseSeconds,
      backoffMaxSeconds: options.backoffMaxSeconds,
    };
    const settlement = decideSettlement(facts);
    logSettlement(logger, log, settlement, facts);
    return await applySettlement(db, lease, settlement);
  } finally {
    supervision.end();
  }
}

function logSettlement(logger: Logger, log: object, settlement: Settlement, facts: SettlementFacts): void {
  switch (settlement.kind) {
    case 'abandon':
      return logger.warn(log, 'lease lost; stopped without writing');
    case 'release':
      if (settlement.reason === 'shutdown') return logger.info(log, 'released for another worker at shutdown');
      if (settlement.reason === 'outage') {
        const message = facts.error instanceof Error ? facts.error.message : 'storage or queue misconfigured';
        return logger.error({ ...log, err: facts.error }, `analysis cannot run: ${message}; will retry once it answers`);
      }
      return logger.warn({ ...log, err: facts.error }, 'analysis failed; will retry');
    case 'fail':
      if (!settlement.permanent) return logger.warn({ ...log, err: facts.error }, 'analysis failed; will retry');
      if (facts.stopReason === 'deadline') {
        logger.warn({ ...log, maxJobSeconds: facts.maxJobSeconds }, 'analysis exceeded its time limit');
      }
      return logger.info({ ...log, code: settlement.failure.code }, 'analysis failed permanently');
  }
}

/** Timings the analyzer records (`timingsMs`), as the phase label of the duration metric. */
const PHASES: Record<string, string> = {
  downloadMs: 'download',
  probeMs: 'probe',
  framesMs: 'frames',
  poseMs: 'pose',
  frameStoreMs: 'frame_store',
  metricsStoreMs: 'metrics_store',
  totalMs: 'total',
};

function recordCompletion(result: AnalysisResult): void {
  const s = signals();
  s.jobsFinished.add(1, { status: 'completed' });
  for (const [name, ms] of Object.entries(result.timingsMs)) {
    const phase = PHASES[name];
    if (phase) s.analysisPhaseDuration.record(ms / 1000, { phase });
  }
  const poseMs = result.timingsMs.poseMs;
  if (poseMs !== undefined && result.frameCount > 0) s.poseFrameDuration.record(poseMs / result.frameCount);
}
