import { createClient, errorCodeOf, uploadVideo } from '@coach/client';

const url = process.env.API_URL ?? 'http://127.0.0.1:8000/trpc';
// cpk_…: shown once by serviceKeys.create. Keep it in the service's secret store, never in code.
const key = process.env.COACH_SERVICE_KEY ?? '';

try {
  // A service key goes where a user's token goes: Authorization: Bearer cpk_…
  const api = createClient({ url, token: key });
  const session = await api.sessions.create.mutate({ title: 'Imported from the club system', playerIds: ['p1'] }); // sessions:write
  console.log(session.ownerType, session.ownerId, session.createdBy); // org <org id> service:<key id>
  const file = { path: process.argv[2] ?? '/tmp/video.mp4' };
  const upload = await uploadVideo({ client: api, sessionId: session.sessionId, file }); // uploads:write (single PUT or parts)
  const job = await api.jobs.get.query({ jobId: upload.jobId }); // jobs:read
  console.log(job.jobId, job.status);
} catch (error) {
  // 401 SERVICE_KEY_INVALID, SERVICE_KEY_EXPIRED, SERVICE_KEY_REVOKED: a new key is needed;
  // 403 INSUFFICIENT_SCOPE: the key lacks the scope its message names.
  console.error(errorCodeOf(error) ?? error);
  process.exitCode = 1;
}
