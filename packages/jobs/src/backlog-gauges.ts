import { metrics, type BatchObservableCallback, type Meter } from '@opentelemetry/api';

import { countOpenJobsByStatus, outboxBacklog, type Database, type Kysely } from '@coach/db';

import type { Logger } from './logger.ts';
import { SIGNALS_SCOPE } from './signals.ts';

/**
 * Gauges read from Postgres when the metrics are collected (a scrape), not
 * kept in memory: the outbox backlog and the open jobs are the same whichever
 * replica is asked, and survive its restart. One process per deployment is
 * enough to export them (the API). A failed read is logged and skipped, so a
 * database outage shows as missing points rather than zeros.
 */
export function observeBacklog(p: { db: Kysely<Database>; logger: Logger; meter?: Meter }): { stop(): void } {
  const meter = p.meter ?? metrics.getMeter(SIGNALS_SCOPE);
  const outboxUnsent = meter.createObservableGauge('coachplus.outbox.backlog', {
    description: 'Outbox messages not yet sent to the queue',
  });
  // Maps to the CloudWatch metric CoachPlus/OutboxOldestUnsentAgeSeconds the infra alarm reads.
  const outboxOldest = meter.createObservableGauge('coachplus.outbox.oldest_unsent_age_seconds', {
    description: 'Age of the oldest outbox message not yet sent (0 when none)',
    unit: 's',
  });
  const openJobs = meter.createObservableGauge('coachplus.jobs.open', {
    description: 'Jobs waiting for their file, queued or processing, by status',
  });
  const collect: BatchObservableCallback = async (result) => {
    try {
      const [backlog, jobs] = await Promise.all([outboxBacklog(p.db), countOpenJobsByStatus(p.db)]);
      result.observe(outboxUnsent, backlog.unsent);
      result.observe(outboxOldest, backlog.oldestUnsentAgeSeconds);
      for (const [status, count] of Object.entries(jobs)) result.observe(openJobs, count, { status });
    } catch (error) {
      p.logger.warn({ err: error }, 'could not read the outbox backlog and open jobs for metrics');
    }
  };
  meter.addBatchObservableCallback(collect, [outboxUnsent, outboxOldest, openJobs]);
  return { stop: () => meter.removeBatchObservableCallback(collect, [outboxUnsent, outboxOldest, openJobs]) };
}
