import { useMutation, useQueryClient } from '@tanstack/react-query';

import { errorCodeOf, type RouterOutputs } from '@coach/client';

import { useTRPC } from '../api/trpc.tsx';
import { ConfirmDelete } from './confirm-delete.tsx';
import { describeDeleteError } from './delete-error.ts';

type SessionList = RouterOutputs['sessions']['list'];

/**
 * "Delete session" in the session's library, behind a confirmation naming how
 * many videos go with it. Once deleted (or found already deleted) `onDeleted`
 * takes the page back to the sessions; the lists and the storage figure are read again.
 */
export function DeleteSession({
  sessionId,
  title,
  videoCount,
  onDeleted,
}: {
  sessionId: string;
  title: string | undefined;
  /** Videos the library lists (its first page); undefined while unknown. */
  videoCount: number | undefined;
  onDeleted: (notice: string) => void;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const name = title ? `“${title}”` : 'this session';
  const deleted = (jobsDeleted: number | undefined) => {
    const videos = jobsDeleted === undefined ? '' : ` with its ${jobsDeleted === 1 ? '1 video' : `${jobsDeleted} videos`}`;
    // Out of the cached lists before the page leaves it: the sessions page opens the newest session it knows,
    // which must not be this one; its library is gone (asking again would only answer SESSION_NOT_FOUND).
    queryClient.setQueriesData<SessionList>({ queryKey: trpc.sessions.list.queryKey() }, (list) =>
      list ? { ...list, items: list.items.filter((s) => s.sessionId !== sessionId) } : list,
    );
    queryClient.removeQueries({ queryKey: trpc.jobs.list.queryKey({ sessionId }) });
    onDeleted(`The session ${name} was deleted${videos}.`);
    void queryClient.invalidateQueries({ queryKey: trpc.sessions.list.queryKey() });
    void queryClient.invalidateQueries({ queryKey: trpc.usage.get.queryKey() });
  };
  const remove = useMutation(
    trpc.sessions.delete.mutationOptions({
      onSuccess: (answer) => deleted(answer.jobsDeleted.length),
      onError: (error) => {
        if (errorCodeOf(error) === 'SESSION_NOT_FOUND') deleted(undefined);
      },
    }),
  );
  const failed = remove.error && errorCodeOf(remove.error) !== 'SESSION_NOT_FOUND';
  const consequence =
    videoCount === 0
      ? 'This removes the session for good.'
      : videoCount === 1
        ? 'This removes its video, the video’s frames and metrics for good.'
        : `This removes ${videoCount === undefined ? 'every video in it' : `its ${videoCount} videos`}, their frames and metrics for good.`;
  return (
    <ConfirmDelete
      label="Delete session"
      question={`Delete the session ${name}?`}
      consequence={consequence}
      pending={remove.isPending}
      error={failed ? describeDeleteError(remove.error, 'session') : null}
      onConfirm={() => remove.mutate({ sessionId })}
    />
  );
}
