import {
  createCaller,
  createContext,
  createOutboxDispatcher,
  silentLogger,
  type ApiConfig,
  type AuthState,
} from '@coach/api';
import type { Database, Kysely } from '@coach/db';

import { MemoryQueue, MemoryStorage } from './fakes.ts';

export const testConfig: ApiConfig = {
  uploadUrlExpiresSeconds: 900,
  downloadUrlExpiresSeconds: 300,
  maxUploadBytes: 100 * 1024 * 1024,
};

/** Real router, real middlewares, real Postgres; in-memory storage and queue. */
export function createTestApi(db: Kysely<Database>) {
  const storage = new MemoryStorage();
  const queue = new MemoryQueue();
  const outbox = createOutboxDispatcher({ db, queue, logger: silentLogger, inlineCooldownMs: 0, baseRetryMs: 10 });
  const deps = { db, storage, queue, outbox, config: testConfig, logger: silentLogger };
  const callerFor = (auth: AuthState) => createCaller(createContext(deps, auth, 'test-request'));
  return { storage, queue, outbox, deps, callerFor };
}
