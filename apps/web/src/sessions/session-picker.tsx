import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useId, useState, type FormEvent } from 'react';

import { useTRPC } from '../api/trpc.tsx';
import { StorageUsage } from '../usage/storage-usage.tsx';

/** Choose one of the user's sessions, or create one (a session groups the videos of one training or match). */
export function SessionPicker({ sessionId, onChange }: { sessionId: string | null; onChange: (id: string) => void }) {
  const id = useId();
  const trpc = useTRPC();
  const sessions = useQuery(trpc.sessions.list.queryOptions({ limit: 50 }));
  const items = sessions.data?.items;

  // Start on the newest session, so a returning user can upload straight away.
  useEffect(() => {
    const newest = items?.[0];
    if (sessionId === null && newest) onChange(newest.sessionId);
  }, [items, sessionId, onChange]);

  return (
    <section aria-labelledby={`${id}-heading`} className="card">
      <h2 id={`${id}-heading`}>1. Session</h2>
      <StorageUsage />
      {sessions.isPending && <p role="status">Loading your sessions…</p>}
      {sessions.error && (
        <p role="alert" className="error">
          Could not load your sessions: {sessions.error.message}
        </p>
      )}
      {items && items.length > 0 && (
        <div className="field">
          <label htmlFor={`${id}-select`}>Upload to session</label>
          <select id={`${id}-select`} value={sessionId ?? ''} onChange={(e) => onChange(e.target.value)}>
            {items.map((s) => (
              <option key={s.sessionId} value={s.sessionId}>
                {s.title} ({new Date(s.createdAt).toLocaleDateString()})
              </option>
            ))}
          </select>
        </div>
      )}
      <NewSessionForm onCreated={onChange} isFirst={items?.length === 0} />
    </section>
  );
}

function NewSessionForm({ onCreated, isFirst }: { onCreated: (id: string) => void; isFirst: boolean }) {
  const id = useId();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [title, setTitle] = useState('');
  const [players, setPlayers] = useState('');
  const create = useMutation(
    trpc.sessions.create.mutationOptions({
      onSuccess: async (session) => {
        setTitle('');
        setPlayers('');
        await queryClient.invalidateQueries({ queryKey: trpc.sessions.list.queryKey() });
        onCreated(session.sessionId);
      },
    }),
  );

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const playerIds = players
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean);
    create.mutate({ title: title.trim(), playerIds });
  };

  return (
    <form onSubmit={submit} aria-labelledby={`${id}-legend`} className="inline-form">
      <h3 id={`${id}-legend`}>{isFirst ? 'Create your first session' : 'Or create a new session'}</h3>
      <div className="field">
        <label htmlFor={`${id}-title`}>Title</label>
        <input
          id={`${id}-title`}
          value={title}
          onChange={(e) => setTitle(e.target.value)}
          placeholder="Nets, Tuesday"
          maxLength={200}
          required
        />
      </div>
      <div className="field">
        <label htmlFor={`${id}-players`}>Player ids (comma-separated, optional)</label>
        <input id={`${id}-players`} value={players} onChange={(e) => setPlayers(e.target.value)} placeholder="p1, p2" />
      </div>
      {create.error && (
        <p role="alert" className="error">
          {create.error.message}
        </p>
      )}
      <button type="submit" disabled={create.isPending}>
        {create.isPending ? 'Creating…' : 'Create session'}
      </button>
    </form>
  );
}
