import { useMutation, useQueryClient } from '@tanstack/react-query';

import { errorCodeOf } from '@coach/client';

import { useTRPC } from '../api/trpc.tsx';
import { ConfirmDelete } from './confirm-delete.tsx';
import { describeDeleteError } from './delete-error.ts';

/**
 * "Delete video" on a results page, behind a confirmation. Once deleted (or
 * found already deleted, from another tab) `onDeleted` takes the page back
 * to the session's library; the library and the storage figure are read again.
 */
export function DeleteVideo({ jobId, onDeleted }: { jobId: string; onDeleted: (notice: string) => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const deleted = () => {
    onDeleted('The video was deleted, with its frames and metrics.');
    void queryClient.invalidateQueries({ queryKey: trpc.jobs.list.queryKey() });
    void queryClient.invalidateQueries({ queryKey: trpc.usage.get.queryKey() });
  };
  const remove = useMutation(
    trpc.jobs.delete.mutationOptions({
      onSuccess: deleted,
      onError: (error) => {
        if (errorCodeOf(error) === 'JOB_NOT_FOUND') deleted();
      },
    }),
  );
  const failed = remove.error && errorCodeOf(remove.error) !== 'JOB_NOT_FOUND';
  return (
    <ConfirmDelete
      label="Delete video"
      question="Delete this video?"
      consequence="This removes the video, its frames and metrics for good."
      pending={remove.isPending}
      error={failed ? describeDeleteError(remove.error, 'video') : null}
      onConfirm={() => remove.mutate({ jobId })}
    />
  );
}
