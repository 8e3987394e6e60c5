import { afterAll, beforeAll, beforeEach } from 'vitest';

import {
  createCaller,
  createContext,
  createJobEventHub,
  createOutboxDispatcher,
  createServiceKeyVerifier,
  createUsageMeter,
  silentLogger,
  type ApiConfig,
  type AuthState,
} from '@coach/api';
import type { Database, Kysely } from '@coach/db';

import { createTestDatabase, truncateAll, type TestDatabase } from './database.ts';
import { MemoryQueue, MemoryStorage } from './fakes.ts';

export const testConfig: ApiConfig = {
  uploadUrlExpiresSeconds: 900,
  downloadUrlExpiresSeconds: 300,
  maxUploadBytes: 100 * 1024 * 1024,
  multipartThresholdBytes: 64 * 1024 * 1024,
  multipartPartSizeBytes: 8 * 1024 * 1024,
  partUrlExpiresSeconds: 600,
  uploadIdleWindowSeconds: 3600,
  uploadMaxLifetimeSeconds: 7 * 24 * 3600,
  // Limits are off unless a test is about them.
  initiatesPerMinute: 0,
  maxOpenUploads: 0,
  storageQuotaBytes: 0,
  mutationsPerMinute: 0,
  signedUrlsPerMinute: 0,
  maxWatchStreamsPerUser: 0,
};

/** Real router, real middlewares, real Postgres; in-memory storage and queue. */
export function createTestApi(db: Kysely<Database>) {
  const storage = new MemoryStorage();
  const queue = new MemoryQueue();
  const outbox = createOutboxDispatcher({ db, queue, logger: silentLogger, inlineCooldownMs: 0, baseRetryMs: 10 });
  const jobEvents = createJobEventHub({ db });
  const deps = {
    db,
    storage,
    queue,
    outbox,
    jobEvents,
    config: testConfig,
    usage: createUsageMeter(testConfig),
    serviceKeys: createServiceKeyVerifier({ db, logger: silentLogger }),
    logger: silentLogger,
  };
  const callerFor = (auth: AuthState) => createCaller(createContext(deps, auth, 'test-request'));
  return { storage, queue, outbox, jobEvents, deps, callerFor };
}

export type TestApi = ReturnType<typeof createTestApi>;

/**
 * Registers the hooks every caller-test file needs: its own migrated
 * database, emptied before each test, and a fresh API over it. Read `db` and
 * `api` inside tests (they change per test).
 */
export function useCallerTests(): { readonly testDb: TestDatabase; readonly api: TestApi } {
  let testDb: TestDatabase | undefined;
  let api: TestApi | undefined;
  beforeAll(async () => {
    testDb = await createTestDatabase();
  });
  afterAll(() => testDb?.drop());
  beforeEach(async () => {
    if (!testDb) throw new Error('test database not created');
    await truncateAll(testDb.db);
    api = createTestApi(testDb.db);
  });
  return {
    get testDb() {
      if (!testDb) throw new Error('useCallerTests: read testDb inside a test or hook');
      return testDb;
    },
    get api() {
      if (!api) throw new Error('useCallerTests: read api inside a test or hook');
      return api;
    },
  };
}
