import { randomBytes } from 'node:crypto';

import { afterAll, expect, it } from 'vitest';

import { createS3Storage } from '@coach/aws';
import { findJob } from '@coach/db';
import type { Worker } from '@coach/worker';

import { coachA } from '../../../test/helpers/identities.ts';
import { startTestServer, type TestServer } from '../../../test/helpers/server.ts';
import { switchableStorage } from '../../../test/helpers/switchable.ts';
import { putUrl } from '../../../test/helpers/upload.ts';
import { waitFor } from '../../../test/helpers/wait.ts';
import { startTestWorker } from '../../../test/helpers/worker.ts';

let server: TestServer | undefined;
let worker: Worker | undefined;
afterAll(async () => {
  await worker?.stop();
  await server?.close();
});

it('a bucket that does not exist keeps the job retryable (not VIDEO_MISSING), and receiving waits for the bucket rather than spending receives', async () => {
  let storageSwitch: ReturnType<typeof switchableStorage> | undefined;
  let pings = 0;
  server = await startTestServer({
    wrapStorage: (real) => {
      storageSwitch = switchableStorage(real);
      const { storage } = storageSwitch;
      return Object.assign(Object.create(storage) as typeof storage, {
        ping: () => {
          pings += 1;
          return storage.ping();
        },
      });
    },
  });
  const s = server;
  if (!storageSwitch) throw new Error('storage not wrapped');
  const client = s.clientFor(coachA);
  const { sessionId } = await client.sessions.create.mutate({ title: 'Nets', playerIds: [] });
  const body = new Uint8Array(1024).fill(1);
  const upload = await client.upload.initiate.mutate({ sessionId, sizeBytes: body.byteLength });
  expect((await fetch(putUrl(upload), { method: 'PUT', headers: upload.headers, body })).status).toBe(200);
  await client.upload.complete.mutate({ jobId: upload.jobId });

  // The worker's bucket setting names a bucket that does not exist (the real adapter, the real emulator).
  storageSwitch.use(
    createS3Storage({ s3: s.aws.s3, signer: s.aws.s3Signer, bucket: `missing-${randomBytes(4).toString('hex')}` }),
  );
  worker = await startTestWorker(s, {
    config: { backoffBaseSeconds: 0, backoffMaxSeconds: 0, visibilityTimeoutSeconds: 2, leaseSeconds: 2, maxReceives: 100 },
  });
  // One attempt, released back to the queue with nothing written on the job; then the worker asks
  // the bucket, not the queue, until it answers: the message is visible again at once, yet not received.
  await waitFor(() => pings >= 2, { timeoutMs: 30_000, what: 'the worker asking the bucket' });
  const waiting = await findJob(s.db, { jobId: upload.jobId });
  expect(waiting).toMatchObject({ status: 'queued', attempts: 1, errorCode: null });

  // Fixed: the next attempt reads the file (random bytes, so the analysis itself fails on the content).
  storageSwitch.restore();
  const settled = await waitFor(
    async () => {
      const job = await findJob(s.db, { jobId: upload.jobId });
      return job?.status === 'failed' ? job : undefined;
    },
    { timeoutMs: 30_000, what: 'the job analysed' },
  );
  expect(settled.errorCode).toBe('NOT_A_VIDEO');
  expect(settled.attempts).toBe(2);
});
