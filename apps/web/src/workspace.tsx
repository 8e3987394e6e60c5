import { useQueryClient } from '@tanstack/react-query';
import { useCallback } from 'react';

import { useTRPC } from './api/trpc.tsx';
import { JobStatus } from './jobs/job-status.tsx';
import { SessionLibrary } from './library/session-library.tsx';
import { CompareClips } from './playback/compare-clips.tsx';
import { navigate, sessionOf, useRoute } from './routing/routes.ts';
import { SessionPicker } from './sessions/session-picker.tsx';
import { UploadPanel } from './upload/upload-panel.tsx';

/**
 * One signed-in user's page: pick a session, upload a video to it, find its
 * videos again in the library, and open each one's results page (its own
 * URL, so a reload or a shared link shows the same video).
 */
export function Workspace() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const route = useRoute();
  const sessionId = sessionOf(route);

  const chooseSession = useCallback((id: string) => navigate({ name: 'session', sessionId: id }), []);
  const onUploaded = useCallback(
    (jobId: string, uploadedTo: string) => {
      void queryClient.invalidateQueries({ queryKey: trpc.jobs.list.queryKey({ sessionId: uploadedTo }) });
      navigate({ name: 'job', sessionId: uploadedTo, jobId });
    },
    [queryClient, trpc],
  );

  return (
    <>
      <SessionPicker sessionId={sessionId} onChange={chooseSession} />
      <UploadPanel sessionId={sessionId} onUploaded={onUploaded} />
      {sessionId && <SessionLibrary sessionId={sessionId} route={route} />}
      {route.name === 'job' && <JobStatus key={route.jobId} jobId={route.jobId} />}
      {route.name === 'compare' && <CompareClips key={route.jobIds.join()} jobIds={route.jobIds} />}
    </>
  );
}
