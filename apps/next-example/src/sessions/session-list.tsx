import type { RouterOutputs } from '@coach/client';

import { createSession } from './actions.ts';

type SessionPage = RouterOutputs['sessions']['list'];

/** Rendered on the server only: none of this reaches the browser as JavaScript. */
export function SessionList({ page }: { page: SessionPage }) {
  return (
    <section className="card" aria-labelledby="sessions-heading">
      <h2 id="sessions-heading">Your sessions</h2>
      {page.items.length === 0 ? (
        <p>No sessions yet.</p>
      ) : (
        <ul data-testid="session-list">
          {page.items.map((session) => (
            <li key={session.sessionId} data-session-id={session.sessionId}>
              {session.title} <small>created {new Date(session.createdAt).toUTCString()}</small>
            </li>
          ))}
        </ul>
      )}
      <form action={createSession}>
        <label>
          New session title
          <input name="title" maxLength={200} required />
        </label>
        <button type="submit">Create session</button>
      </form>
    </section>
  );
}
