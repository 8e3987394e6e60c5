import { readFile } from 'node:fs/promises';

import { createClient, errorCodeOf } from '@coach/client';

const url = process.env.API_URL ?? 'http://127.0.0.1:8000/trpc';
const token = process.env.TOKEN ?? ''; // e.g. from `pnpm --silent run token --user coach-123 --role coach_pro_plus`
const file = new Blob([await readFile(process.argv[2] ?? '/tmp/video.mp4')], { type: 'video/mp4' });

try {
  const api = createClient({ url, token: () => token }); // a function: asked again on every reconnect
  const { sessionId } = await api.sessions.create.mutate({ title: 'Nets', playerIds: ['p1'] });
  const upload = await api.upload.initiate.mutate({ sessionId, contentType: 'video/mp4', sizeBytes: file.size });
  if (!upload.presignedUrl) throw new Error('over MULTIPART_THRESHOLD_BYTES: use uploadVideo() from @coach/client');
  await fetch(upload.presignedUrl, { method: upload.method, headers: upload.headers, body: file });
  const done = await api.upload.complete.mutate({ jobId: upload.jobId });
  console.log(done.message);

  // Live status over SSE until the job is terminal. It resumes by itself after a reconnect,
  // including when the server ends the stream at the token's expiry: `token` is asked again then.
  const watch = api.jobs.watch.subscribe(
    { jobId: upload.jobId },
    {
      onData: ({ data }) => {
        console.log(data.status, data.progressPercent, data.errorCode ?? '');
        if (['completed', 'failed', 'rejected', 'expired', 'aborted'].includes(data.status)) watch.unsubscribe();
      },
      onError: (error) => console.error(errorCodeOf(error)),
    },
  );
} catch (error) {
  // errors: errorCodeOf(error) === 'UNAUTHENTICATED' | 'UPLOAD_NOT_FOUND' | 'SESSION_NOT_FOUND' | …
  console.error(errorCodeOf(error) ?? error);
  process.exitCode = 1;
}
