import { useQuery } from '@tanstack/react-query';

import { useTRPC } from '../api/trpc.tsx';
import { usageLine } from './usage-line.ts';

/** The owner's stored bytes against the quota; read again after an upload or a deletion (`usage.get` is invalidated). */
export function StorageUsage() {
  const trpc = useTRPC();
  const usage = useQuery(trpc.usage.get.queryOptions());
  if (usage.error) {
    return (
      <p className="hint" data-testid="storage-usage">
        Storage: could not be read ({usage.error.message})
      </p>
    );
  }
  if (!usage.data) return null;
  const full = usage.data.availableBytes === 0;
  return (
    <p className="hint" data-testid="storage-usage" data-used-bytes={usage.data.usedBytes}>
      {usageLine(usage.data)}
      {full && ' — the quota is used up: delete a video to upload another.'}
    </p>
  );
}
