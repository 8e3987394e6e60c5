import { applyRetention, KEEP_FOREVER, type RetentionReport } from '@coach/jobs';

import type { SweepPassOptions } from './options.ts';

/**
 * Retention's decisions for this round (packages/jobs/src/deletion/RETENTION.md):
 * videos and originals past their owner's windows get their deletion rows;
 * the deletion pass that follows in the same round carries them out. Runs
 * even with no defaults configured: an owner may have chosen its own policy.
 */
export function enforceRetention(options: SweepPassOptions): Promise<RetentionReport> {
  return applyRetention(options.db, { defaults: options.retentionDefaults ?? KEEP_FOREVER, limit: options.limit });
}
