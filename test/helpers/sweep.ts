import { silentLogger } from '@coach/jobs';
import type { SweeperOptions } from '@coach/worker';

import type { TestServer } from './server.ts';

/**
 * Options for one `sweepOnce` over a test server's database and bucket, with
 * short windows; a test passes in `overrides` the values its case depends on.
 */
export function sweeperOptionsFor(
  server: Pick<TestServer, 'db' | 'storage' | 'config'>,
  overrides: Partial<SweeperOptions> = {},
): SweeperOptions {
  return {
    db: server.db,
    storage: server.storage,
    logger: silentLogger,
    maxUploadBytes: server.config.maxUploadBytes,
    uploadGraceSeconds: 60,
    abandonedGraceSeconds: 30,
    staleQueuedSeconds: 600,
    maxAttempts: 3,
    ...overrides,
  };
}
