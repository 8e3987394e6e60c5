import { useQueryClient } from '@tanstack/react-query';
import { useCallback, useEffect, useRef, useState } from 'react';

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
 * URL, so a reload or a shared link shows the same video). Deleting a video
 * goes back to its session's library, deleting a session back to the
 * sessions, each with a notice saying what went.
 */
export function Workspace() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const route = useRoute();
  const sessionId = sessionOf(route);

  const [notice, setNotice] = useState<string | null>(null);
  const noticeRef = useRef<HTMLDivElement>(null);
  // The notice replaces the deleted thing's page, so focus goes to it (the delete button is gone).
  useEffect(() => {
    if (notice) noticeRef.current?.focus();
  }, [notice]);
  // Opening a video or a comparison is moving on: the notice has been read.
  const viewing = route.name === 'job' || route.name === 'compare';
  useEffect(() => {
    if (viewing) setNotice(null);
  }, [viewing]);

  const chooseSession = useCallback((id: string) => navigate({ name: 'session', sessionId: id }), []);
  const onUploaded = useCallback(
    (jobId: string, uploadedTo: string) => {
      void queryClient.invalidateQueries({ queryKey: trpc.jobs.list.queryKey({ sessionId: uploadedTo }) });
      void queryClient.invalidateQueries({ queryKey: trpc.usage.get.queryKey() });
      navigate({ name: 'job', sessionId: uploadedTo, jobId });
    },
    [queryClient, trpc],
  );
  const backToSession = useCallback(
    (notice: string) => {
      if (sessionId) navigate({ name: 'session', sessionId });
      setNotice(notice);
    },
    [sessionId],
  );
  const backToSessions = (notice: string) => {
    navigate({ name: 'home' });
    setNotice(notice);
  };

  return (
    <>
      {notice && (
        <div ref={noticeRef} tabIndex={-1} role="status" className="notice" data-testid="workspace-notice">
          <p>{notice}</p>
          <div className="actions">
            <button type="button" className="secondary" onClick={() => setNotice(null)}>
              Dismiss
            </button>
          </div>
        </div>
      )}
      <SessionPicker sessionId={sessionId} onChange={chooseSession} />
      <UploadPanel sessionId={sessionId} onUploaded={onUploaded} />
      {sessionId && <SessionLibrary sessionId={sessionId} route={route} onSessionDeleted={backToSessions} />}
      {route.name === 'job' && <JobStatus key={route.jobId} jobId={route.jobId} onGone={backToSession} />}
      {route.name === 'compare' && <CompareClips key={route.jobIds.join()} jobIds={route.jobIds} onGone={backToSession} />}
    </>
  );
}
