import { randomUUID } from 'node:crypto';

import type { InsertJobParams, Owner } from '@coach/db';

/** A new single-PUT job for `insertJobForOwnedSession`, in `sessionId` as `owner`. */
export function newJobParams(
  sessionId: string,
  owner: Owner,
  options: { clientRequestId?: string | null } = {},
): InsertJobParams {
  const videoId = randomUUID();
  return {
    id: randomUUID(),
    sessionId,
    owner,
    createdBy: 'user-1',
    videoId,
    sampleFps: 10,
    includeFrames: false,
    s3Bucket: 'bucket',
    s3Key: `coach_plus/${owner.type}/${owner.id}/${sessionId}/${videoId}/original.mp4`,
    contentType: 'video/mp4',
    declaredSizeBytes: null,
    uploadExpiresAt: new Date(Date.now() + 3_600_000),
    multipart: null,
    clientRequestId: options.clientRequestId ?? null,
  };
}
