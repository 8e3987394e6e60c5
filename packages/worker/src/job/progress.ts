import type { Database, Kysely } from '@coach/db';
import { writeLeasedJob, type Logger } from '@coach/jobs';

/**
 * Records frames analysed so far on the leased job, once per whole percent.
 * Advisory: a failed write is logged, never fatal; a write that finds the
 * lease gone calls `onLeaseLost`.
 */
export function progressReporter(p: {
  db: Kysely<Database>;
  jobId: string;
  leaseToken: string;
  logger: Logger;
  log: object;
  onLeaseLost: () => void;
}): (done: number, total: number) => Promise<void> {
  let lastPercent = -1;
  return async (done, total) => {
    const percent = total > 0 ? Math.min(99, Math.floor((done / total) * 100)) : 0;
    if (percent === lastPercent) return;
    lastPercent = percent;
    try {
      const row = await writeLeasedJob(p.db, {
        jobId: p.jobId,
        leaseToken: p.leaseToken,
        set: { framesDone: done, framesTotal: total, progressPercent: percent },
      });
      if (!row) p.onLeaseLost();
    } catch (error) {
      // Progress is advisory: a database blip must not throw away the analysis.
      p.logger.warn({ ...p.log, err: error }, 'could not record progress');
    }
  };
}
