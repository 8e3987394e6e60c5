import { AwsMisconfiguredError } from '@coach/aws';
import type { Database, Kysely } from '@coach/db';
import { failureColumns, jobFailure, signals, writeLeasedJob, type JobFailure } from '@coach/jobs';

import type { Disposition } from '../consumer.ts';
import { PermanentAnalysisError } from '../errors.ts';
import type { Stop } from './supervision.ts';

/**
 * How an analysis that did not complete is settled: the write on the job (if
 * any) and what then happens to its message. Decided from the facts alone
 * (`decideSettlement`), then applied (`applySettlement`).
 */
export type Settlement =
  /** The lease is someone else's: write nothing, touch nothing. */
  | { kind: 'abandon' }
  /**
   * Back to `queued` for another worker (or attempt), the message visible after `delaySeconds`.
   * `outage`: the bucket or a queue is missing or refused, which no retry of this job fixes.
   */
  | { kind: 'release'; delaySeconds: number; reason: 'shutdown' | 'retry' | 'outage' }
  /**
   * Failed for good. `permanent`: the video's fault, its message deleted once the
   * write holds. Otherwise the last delivery: visible at once, so SQS dead-letters it.
   */
  | { kind: 'fail'; failure: JobFailure; permanent: boolean };

export interface SettlementFacts {
  stopReason: Stop | undefined;
  error: unknown;
  receiveCount: number;
  maxReceives: number;
  maxJobSeconds: number;
  backoffBaseSeconds: number;
  backoffMaxSeconds: number;
}

export function decideSettlement(f: SettlementFacts): Settlement {
  if (f.stopReason === 'lease-lost') return { kind: 'abandon' };
  if (f.stopReason === 'shutdown') return { kind: 'release', delaySeconds: 0, reason: 'shutdown' };
  // The deadline is sized to the largest job the caps allow: a retry would only hold a slot as long again.
  if (f.stopReason === 'deadline') return { kind: 'fail', failure: jobFailure.timeLimit(f.maxJobSeconds), permanent: true };
  if (f.error instanceof PermanentAnalysisError) {
    return { kind: 'fail', failure: { code: f.error.code, message: f.error.message }, permanent: true };
  }
  if (f.receiveCount >= f.maxReceives) {
    return { kind: 'fail', failure: jobFailure.retriesExhausted(f.receiveCount), permanent: false };
  }
  const delaySeconds = Math.min(f.backoffMaxSeconds, f.backoffBaseSeconds * 2 ** Math.max(0, f.receiveCount - 1));
  return { kind: 'release', delaySeconds, reason: f.error instanceof AwsMisconfiguredError ? 'outage' : 'retry' };
}

/** Writes what the settlement says on the leased job and answers the message's disposition. */
export async function applySettlement(
  db: Kysely<Database>,
  lease: { jobId: string; leaseToken: string },
  settlement: Settlement,
): Promise<Disposition> {
  switch (settlement.kind) {
    case 'abandon':
      return { kind: 'leave' };
    case 'release':
      await writeLeasedJob(db, { ...lease, to: 'queued' });
      return { kind: 'retry', delaySeconds: settlement.delaySeconds, outage: settlement.reason === 'outage' };
    case 'fail': {
      const failed = await writeLeasedJob(db, { ...lease, to: 'failed', set: failureColumns(settlement.failure, new Date()) });
      if (failed) recordJobFailure(settlement.failure.code);
      if (!settlement.permanent) return { kind: 'retry', delaySeconds: 0 };
      return failed ? { kind: 'delete' } : { kind: 'leave' };
    }
  }
}

/** Counts a job this worker failed for good, under its failure code (a bounded set: `JOB_FAILURE_CODES`). */
export function recordJobFailure(code: string): void {
  signals().jobsFinished.add(1, { status: 'failed' });
  signals().jobFailures.add(1, { code });
}
