import { readOwnerUsage, type Database, type Kysely, type Owner } from '@coach/db';

import type { ApiConfig } from '../context.ts';

/** What `usage.get` answers: the caller's owner's storage and open uploads against their limits. */
export interface StorageUsageView {
  /** Stored originals of this owner's videos. */
  usedBytes: number;
  /** Declared sizes of uploads still awaiting their file: held until they finish or close. */
  reservedBytes: number;
  /** The owner's quota; null: no limit. */
  quotaBytes: number | null;
  /** What a new upload may still declare; null: no limit. */
  availableBytes: number | null;
  openUploads: number;
  /** null: no limit. */
  maxOpenUploads: number | null;
}

export async function getStorageUsage(
  db: Kysely<Database>,
  config: Pick<ApiConfig, 'storageQuotaBytes' | 'maxOpenUploads'>,
  owner: Owner,
): Promise<StorageUsageView> {
  const usage = await readOwnerUsage(db, { owner, defaultQuotaBytes: config.storageQuotaBytes });
  const limited = usage.quotaBytes > 0;
  return {
    usedBytes: usage.usedBytes,
    reservedBytes: usage.reservedBytes,
    quotaBytes: limited ? usage.quotaBytes : null,
    availableBytes: limited ? Math.max(0, usage.quotaBytes - usage.usedBytes - usage.reservedBytes) : null,
    openUploads: usage.openUploads,
    maxOpenUploads: config.maxOpenUploads > 0 ? config.maxOpenUploads : null,
  };
}
