// A program written against the published package, as an app outside this repository would
// write it: type-checked with default compiler settings and no Node types (packed-client.test.ts).
import {
  createClient,
  errorCodeOf,
  uploadVideo,
  type FetchLike,
  type JobStatus,
  type RouterInputs,
  type UploadFile,
} from '@coach/client';

export interface UploadRun {
  url: string;
  token: string;
  file: UploadFile;
  /** React Native's, or any fetch the app brings. */
  fetch?: FetchLike;
  /** Follow the job over `jobs.watch` until it ends (needs a fetch that streams responses). */
  follow: boolean;
  log: (line: string) => void;
}

// @ts-expect-error The API's types, not `any`: a session's title is a string.
export const wrongInput: RouterInputs['sessions']['create'] = { title: 42 };

const TERMINAL: readonly JobStatus[] = ['completed', 'failed', 'rejected', 'expired', 'aborted'];

/** Creates a session, uploads the file into it, and answers the job's last status seen. */
export async function uploadAndFollow(run: UploadRun): Promise<JobStatus> {
  const client = createClient({ url: run.url, token: run.token, fetch: run.fetch });
  const session = await client.sessions.create.mutate({ title: 'From the packed client' });
  const title: string = session.title;
  run.log(JSON.stringify({ event: 'session', title }));
  const done = await uploadVideo({ client, sessionId: session.sessionId, file: run.file, fetch: run.fetch });
  run.log(JSON.stringify({ event: 'uploaded', jobId: done.jobId, status: done.status }));
  if (!run.follow) return done.status;
  return new Promise<JobStatus>((resolve, reject) => {
    const watch = client.jobs.watch.subscribe(
      { jobId: done.jobId },
      {
        onData: ({ data }) => {
          run.log(JSON.stringify({ event: 'status', status: data.status }));
          if (!TERMINAL.includes(data.status)) return;
          watch.unsubscribe();
          resolve(data.status);
        },
        onError: (error) => {
          watch.unsubscribe();
          reject(new Error(`jobs.watch failed: ${errorCodeOf(error) ?? String(error)}`));
        },
      },
    );
  });
}
