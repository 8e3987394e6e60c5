import { formatBytes } from '../upload/format.ts';

/** The part of `usage.get`'s answer the page shows. */
export interface UsageFigures {
  usedBytes: number;
  reservedBytes: number;
  quotaBytes: number | null;
}

/**
 * "Storage: 1.2 GB of 50 GB used (300 MB held by unfinished uploads)", or
 * "…used, no limit" when the owner has no quota. Bytes an unfinished upload
 * holds count against the quota, so they are named when there are any.
 */
export function usageLine({ usedBytes, reservedBytes, quotaBytes }: UsageFigures): string {
  const used =
    quotaBytes === null
      ? `${formatBytes(usedBytes)} used, no limit`
      : `${formatBytes(usedBytes)} of ${formatBytes(quotaBytes)} used`;
  const held = reservedBytes > 0 ? ` (${formatBytes(reservedBytes)} held by unfinished uploads)` : '';
  return `Storage: ${used}${held}`;
}
