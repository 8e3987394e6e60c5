import { auditRouter } from './routers/audit.ts';
import { jobsRouter } from './routers/jobs.ts';
import { retentionRouter } from './routers/retention.ts';
import { serviceKeysRouter } from './routers/service-keys.ts';
import { sessionsRouter } from './routers/sessions.ts';
import { uploadRouter } from './routers/upload.ts';
import { usageRouter } from './routers/usage.ts';
import { createCallerFactory, router } from './trpc.ts';

export const appRouter = router({
  sessions: sessionsRouter,
  upload: uploadRouter,
  jobs: jobsRouter,
  serviceKeys: serviceKeysRouter,
  usage: usageRouter,
  retention: retentionRouter,
  audit: auditRouter,
});

export type AppRouter = typeof appRouter;

export const createCaller = createCallerFactory(appRouter);
