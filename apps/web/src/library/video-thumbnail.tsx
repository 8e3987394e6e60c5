import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';

import { useTRPC } from '../api/trpc.tsx';
import type { LibraryJob } from './session-library.tsx';

/**
 * The video's first analysed frame (stored when frames were kept), else a
 * placeholder saying why there is none. A link that expired is signed again once.
 */
export function VideoThumbnail({ job }: { job: LibraryJob }) {
  const trpc = useTRPC();
  const hasFrames = job.status === 'completed' && job.includeFrames && (job.result?.frameCount ?? 0) > 0;
  const first = useQuery({
    ...trpc.jobs.frames.queryOptions({ jobId: job.jobId, offset: 0, limit: 1 }),
    enabled: hasFrames,
    // Links live a few minutes; an answer older than that is signed again when next shown.
    staleTime: 60_000,
  });
  const [failedUrl, setFailedUrl] = useState<string | null>(null);
  const url = first.data?.frames[0]?.url;

  if (!hasFrames || !url || url === failedUrl) {
    const why = job.status !== 'completed' ? 'Preview once analysed' : 'No preview';
    return (
      <span className="thumbnail placeholder" aria-hidden="true">
        {hasFrames && !failedUrl ? '' : why}
      </span>
    );
  }
  return (
    <img
      className="thumbnail"
      src={url}
      alt=""
      onError={() => {
        // An expired link (403) or a lost connection: one fresh link, then the placeholder.
        if (failedUrl === null) void first.refetch();
        setFailedUrl(url);
      }}
    />
  );
}
