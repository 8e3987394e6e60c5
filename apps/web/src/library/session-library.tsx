import { useQuery } from '@tanstack/react-query';
import { useId, useState } from 'react';

import type { RouterOutputs } from '@coach/client';

import { useTRPC } from '../api/trpc.tsx';
import { DeleteSession } from '../deletion/delete-session.tsx';
import { isTerminal, STATUS_LABEL } from '../jobs/status-text.ts';
import { navigate, routeHref, type Route } from '../routing/routes.ts';
import { VideoThumbnail } from './video-thumbnail.tsx';

export type LibraryJob = RouterOutputs['jobs']['list']['items'][number];

/** The one `jobs.list` input the library and the upload panel share, so they share one cached answer. */
export const libraryInput = (sessionId: string) => ({ sessionId, limit: 50 });

/** While a video of the session is still being uploaded or analysed, the list is read again this often. */
const REFRESH_WHILE_RUNNING_MS = 5_000;

/**
 * The session's videos, newest first: a thumbnail (the first analysed frame,
 * when frames were kept), status, date and the session's players, each opening
 * its own results page. Two analysed clips can be chosen to compare.
 */
export function SessionLibrary({
  sessionId,
  route,
  onSessionDeleted,
}: {
  sessionId: string;
  route: Route;
  onSessionDeleted: (notice: string) => void;
}) {
  const id = useId();
  const trpc = useTRPC();
  const videos = useQuery({
    ...trpc.jobs.list.queryOptions(libraryInput(sessionId)),
    refetchInterval: (query) =>
      query.state.data?.items.some((job) => !isTerminal(job.status)) ? REFRESH_WHILE_RUNNING_MS : false,
  });
  const sessions = useQuery(trpc.sessions.list.queryOptions({ limit: 50 }));
  const session = sessions.data?.items.find((s) => s.sessionId === sessionId);
  const players = session?.playerIds.length ? session.playerIds.join(', ') : 'no players named';
  const [chosen, setChosen] = useState<readonly string[]>([]);
  const items = videos.data?.items;
  const openJobId = route.name === 'job' ? route.jobId : null;

  // A chosen video deleted since (here or in another tab) is no longer on offer to compare.
  const comparable = chosen.filter((jobId) => items?.some((job) => job.jobId === jobId && job.status === 'completed'));
  // From what is still on offer, so a deleted choice never pushes out a live one.
  const toggle = (jobId: string, on: boolean) =>
    setChosen(on ? [...comparable.filter((j) => j !== jobId), jobId].slice(-2) : comparable.filter((j) => j !== jobId));
  const [first, second] = comparable;

  return (
    <section aria-labelledby={`${id}-heading`} className="card library">
      <div className="library-heading">
        <h2 id={`${id}-heading`}>Videos in {session ? `“${session.title}”` : 'this session'}</h2>
        <DeleteSession
          sessionId={sessionId}
          title={session?.title}
          // The library's first page: with more, the count is unknown here and the question says "every video".
          videoCount={items && !videos.data?.nextCursor ? items.length : undefined}
          onDeleted={onSessionDeleted}
        />
      </div>
      {videos.isPending && <p role="status">Loading the session’s videos…</p>}
      {videos.error && (
        <p role="alert" className="error">
          Could not load the session’s videos: {videos.error.message}
        </p>
      )}
      {items?.length === 0 && <p className="hint">No videos yet: upload one above.</p>}
      {items && items.length > 0 && (
        <ul className="library-list" aria-label="Session videos">
          {items.map((job, n) => (
            <li key={job.jobId} className="library-item" aria-current={job.jobId === openJobId ? 'page' : undefined}>
              <a href={routeHref({ name: 'job', sessionId, jobId: job.jobId })} className="library-link">
                <VideoThumbnail job={job} />
                <span className="library-text">
                  <strong>Video {items.length - n}</strong>
                  <span data-library-status={job.status}>{STATUS_LABEL[job.status]}</span>
                  <time dateTime={job.createdAt}>{new Date(job.createdAt).toLocaleString()}</time>
                  <span>Players: {players}</span>
                </span>
              </a>
              {job.status === 'completed' && (
                <span className="check">
                  <input
                    id={`${id}-compare-${job.jobId}`}
                    type="checkbox"
                    checked={comparable.includes(job.jobId)}
                    onChange={(e) => toggle(job.jobId, e.target.checked)}
                  />
                  <label htmlFor={`${id}-compare-${job.jobId}`}>Compare video {items.length - n}</label>
                </span>
              )}
            </li>
          ))}
        </ul>
      )}
      {items && items.filter((j) => j.status === 'completed').length >= 2 && (
        <div className="actions">
          <button
            type="button"
            disabled={!first || !second}
            onClick={() => first && second && navigate({ name: 'compare', sessionId, jobIds: [first, second] })}
          >
            Compare the two chosen videos
          </button>
          {comparable.length < 2 && <span className="hint">Choose two analysed videos to see them side by side.</span>}
        </div>
      )}
    </section>
  );
}
