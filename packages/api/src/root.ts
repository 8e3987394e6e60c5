import { jobsRouter } from './routers/jobs.ts';
import { serviceKeysRouter } from './routers/service-keys.ts';
import { sessionsRouter } from './routers/sessions.ts';
import { uploadRouter } from './routers/upload.ts';
import { createCallerFactory, router } from './trpc.ts';

export const appRouter = router({
  sessions: sessionsRouter,
  upload: uploadRouter,
  jobs: jobsRouter,
  serviceKeys: serviceKeysRouter,
});

export type AppRouter = typeof appRouter;

export const createCaller = createCallerFactory(appRouter);
