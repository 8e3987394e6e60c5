import { countUploadUsage, type Owner } from '@coach/db';

import { AppError } from '../errors.ts';
import type { UploadDeps } from './deps.ts';

export function hasUploadQuota(config: UploadDeps['config']): boolean {
  return config.initiatesPerMinute > 0 || config.maxOpenUploads > 0;
}

/**
 * Per-user initiate rate and per-owner open uploads, counted in Postgres. The
 * caller holds `lockUploadQuota` for its transaction, so the limits hold across
 * API processes and concurrent calls; must run in the transaction that inserts the job.
 */
export async function enforceUploadQuota(
  trx: UploadDeps['db'],
  config: UploadDeps['config'],
  p: { userId: string; owner: Owner },
): Promise<void> {
  const usage = await countUploadUsage(trx, { userId: p.userId, owner: p.owner, windowSeconds: 60 });
  if (config.initiatesPerMinute > 0 && usage.recent >= config.initiatesPerMinute) {
    const retryAfterSeconds = Math.max(1, Math.ceil(60 - (usage.oldestAgeSeconds ?? 0)));
    throw new AppError(
      'TOO_MANY_REQUESTS',
      `You started ${usage.recent} uploads in the last minute (the limit is ${config.initiatesPerMinute}). Try again in ${retryAfterSeconds} s.`,
      { retryAfterSeconds },
    );
  }
  if (config.maxOpenUploads > 0 && usage.open >= config.maxOpenUploads) {
    throw new AppError(
      'TOO_MANY_OPEN_UPLOADS',
      `There are already ${usage.open} unfinished uploads (the limit is ${config.maxOpenUploads}). Finish or cancel one (upload.abort), then try again.`,
      { retryAfterSeconds: 60 },
    );
  }
}
