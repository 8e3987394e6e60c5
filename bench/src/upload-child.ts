/**
 * One upload with `@coach/client`'s `uploadVideo`, in a process of its own so
 * its peak RSS is the client's alone. The server decides single PUT or
 * multipart from the declared size. Prints one JSON line.
 */
import { createClient, uploadVideo } from '@coach/client';

import { peakRssKiB } from './peak-rss.ts';

const env = process.env;
const required = (name: string): string => {
  const value = env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};
const client = createClient({ url: required('BENCH_API'), token: required('BENCH_TOKEN') });
const file = required('BENCH_FILE');

const baselineRssKiB = Math.round(process.memoryUsage().rss / 1024);
let mode: 'single' | 'multipart' | undefined;
const started = performance.now();
const done = await uploadVideo({
  client,
  sessionId: required('BENCH_SESSION'),
  file,
  contentType: 'video/mp4',
  onJobCreated: (job) => (mode = job.uploadMode),
});
const seconds = (performance.now() - started) / 1000;
process.stdout.write(
  `${JSON.stringify({
    jobId: done.jobId,
    status: done.status,
    mode,
    seconds,
    baselineRssKiB,
    peakRssKiB: peakRssKiB(),
  })}\n`,
);
