import { ensureOwnerUsage, findOwnedSession, readOwnerUsage, type Owner, type OwnerUsage, type UploadLimits } from '@coach/db';
import { formatBytes } from '@coach/jobs';

import { AppError } from '../errors.ts';
import { sessionNotFound } from '../sessions.ts';
import type { UploadDeps } from './deps.ts';

/** The owner limits the reservation statement applies (`reserveUploadAndInsertJob`). */
export function uploadLimitsOf(config: UploadDeps['config']): UploadLimits {
  return { defaultQuotaBytes: config.storageQuotaBytes, maxOpenUploads: config.maxOpenUploads };
}

/**
 * The owner limit a new upload of `sizeBytes` would break, as the error to
 * answer; undefined when it fits. Read without a lock: exact only inside the
 * reservation statement, so this serves to explain a refusal and to refuse
 * early (before a storage call).
 */
function ownerLimitBroken(config: UploadDeps['config'], usage: OwnerUsage, sizeBytes: number): AppError | undefined {
  if (config.maxOpenUploads > 0 && usage.openUploads >= config.maxOpenUploads) {
    return new AppError(
      'TOO_MANY_OPEN_UPLOADS',
      `There are already ${usage.openUploads} unfinished uploads (the limit is ${config.maxOpenUploads}). Finish or cancel one (upload.abort), then try again.`,
      { retryAfterSeconds: 60 },
    );
  }
  const left = usage.quotaBytes - usage.usedBytes - usage.reservedBytes;
  if (usage.quotaBytes > 0 && sizeBytes > left) return quotaExceeded(usage, sizeBytes, Math.max(0, left));
  return undefined;
}

function quotaExceeded(usage: OwnerUsage, sizeBytes: number, left: number): AppError {
  const held = usage.reservedBytes > 0 ? ` (${formatBytes(usage.reservedBytes)} of it held by unfinished uploads)` : '';
  return new AppError(
    'QUOTA_EXCEEDED',
    `This video needs ${formatBytes(sizeBytes)} but only ${formatBytes(left)} of your ${formatBytes(usage.quotaBytes)} storage is left${held}. ` +
      'Cancel unfinished uploads you no longer need (upload.abort), delete videos you no longer need, or ask for a larger quota.',
  );
}

/**
 * Reads the owner's limits before a storage call, so a caller over them costs
 * none. Skipped when no limit is configured (an owner's own quota is still
 * applied exactly by the reservation, only after the storage call).
 */
export async function refuseOverOwnerLimits(deps: UploadDeps, p: { owner: Owner; sizeBytes: number }): Promise<void> {
  if (deps.config.storageQuotaBytes <= 0 && deps.config.maxOpenUploads <= 0) return;
  const usage = await readOwnerUsage(deps.db, { owner: p.owner, defaultQuotaBytes: deps.config.storageQuotaBytes });
  const broken = ownerLimitBroken(deps.config, usage, p.sizeBytes);
  if (broken) throw broken;
}

/** Why a reservation wrote nothing, read after the fact. */
export type Refusal = { retry: true } | { error: AppError };

/**
 * Explains a reservation that matched no row: the owner had no usage row yet
 * (created here: retry), the session is not the owner's, or a limit is full.
 * If the limits have room again (an upload closed meanwhile), retry.
 */
export async function explainRefusal(
  deps: UploadDeps,
  p: { owner: Owner; sessionId: string; sizeBytes: number },
): Promise<Refusal> {
  if (await ensureOwnerUsage(deps.db, p.owner)) return { retry: true };
  if (!(await findOwnedSession(deps.db, { sessionId: p.sessionId, owner: p.owner }))) {
    return { error: sessionNotFound() };
  }
  const usage = await readOwnerUsage(deps.db, { owner: p.owner, defaultQuotaBytes: deps.config.storageQuotaBytes });
  const broken = ownerLimitBroken(deps.config, usage, p.sizeBytes);
  return broken ? { error: broken } : { retry: true };
}
