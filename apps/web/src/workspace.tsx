import { useState } from 'react';

import { JobStatus } from './jobs/job-status.tsx';
import { SessionPicker } from './sessions/session-picker.tsx';
import { UploadPanel } from './upload/upload-panel.tsx';

/** One signed-in user's page: pick a session, upload a video to it, follow its analysis. */
export function Workspace() {
  const [sessionId, setSessionId] = useState<string | null>(null);
  const [jobId, setJobId] = useState<string | null>(null);

  return (
    <>
      <SessionPicker sessionId={sessionId} onChange={setSessionId} />
      <UploadPanel sessionId={sessionId} onUploaded={setJobId} />
      {jobId && <JobStatus key={jobId} jobId={jobId} />}
    </>
  );
}
