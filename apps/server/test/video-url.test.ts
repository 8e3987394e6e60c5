import { randomBytes } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { errorCodeOf, type ApiClient } from '@coach/client';

import { coachA, coachB, orgUserX1 } from '../../../test/helpers/identities.ts';
import { startTestServer, type TestServer } from '../../../test/helpers/server.ts';
import { putUrl } from '../../../test/helpers/upload.ts';

let server: TestServer;
let owner: ApiClient;
beforeAll(async () => {
  server = await startTestServer();
  owner = server.clientFor(coachA);
});
afterAll(() => server.close());

/** A session of coach A with one upload initiated; `land` PUTs the bytes and completes it. */
async function initiatedUpload(bytes: Uint8Array) {
  const session = await owner.sessions.create.mutate({ title: 'Nets', playerIds: [] });
  const upload = await owner.upload.initiate.mutate({ sessionId: session.sessionId, sizeBytes: bytes.length });
  const land = async () => {
    const put = await fetch(putUrl(upload), { method: 'PUT', headers: upload.headers, body: bytes });
    expect(put.status).toBe(200);
    await owner.upload.complete.mutate({ jobId: upload.jobId });
  };
  return { jobId: upload.jobId, land };
}

const codeOf = (call: Promise<unknown>) =>
  call.then(
    () => 'answered',
    (error: unknown) => errorCodeOf(error),
  );

describe('jobs.videoUrl over HTTP', () => {
  it('signs a short-lived link that downloads the very bytes uploaded, once they landed', async () => {
    const bytes = randomBytes(4096);
    const { jobId, land } = await initiatedUpload(bytes);
    await expect(codeOf(owner.jobs.videoUrl.query({ jobId }))).resolves.toBe('VIDEO_NOT_AVAILABLE');

    await land();
    const link = await owner.jobs.videoUrl.query({ jobId });
    expect(link).toMatchObject({ contentType: 'video/mp4', expiresIn: server.config.downloadUrlExpiresSeconds });
    expect(new URL(link.url).searchParams.get('X-Amz-Expires')).toBe(String(server.config.downloadUrlExpiresSeconds));
    const download = await fetch(link.url);
    expect(download.status).toBe(200);
    expect(Buffer.from(await download.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it("answers another owner's job exactly like a missing one: JOB_NOT_FOUND, no link", async () => {
    const { jobId, land } = await initiatedUpload(randomBytes(1024));
    await land();
    for (const other of [coachB, orgUserX1]) {
      const error = await server
        .clientFor(other)
        .jobs.videoUrl.query({ jobId })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(errorCodeOf(error), other.userId).toBe('JOB_NOT_FOUND');
      expect(JSON.stringify(error)).not.toContain('X-Amz-Signature');
    }
    await expect(codeOf(owner.jobs.videoUrl.query({ jobId: '00000000-0000-4000-8000-000000000000' }))).resolves.toBe(
      'JOB_NOT_FOUND',
    );
  });

  it('says why a cancelled upload has no video to play', async () => {
    const { jobId } = await initiatedUpload(randomBytes(1024));
    await owner.upload.abort.mutate({ jobId });
    const error = await owner.jobs.videoUrl.query({ jobId }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(errorCodeOf(error)).toBe('VIDEO_NOT_AVAILABLE');
    expect((error as Error).message).toBe('This upload was aborted, so there is no video to play.');
  });
});
