import type { MessageQueue, ObjectStorage } from '@coach/aws';
import type { Database, Kysely, RetentionPolicy } from '@coach/db';
import type { Logger, OutboxDispatcher } from '@coach/jobs';

import type { AuthState } from './auth/identity.ts';
import type { ServiceKeyVerifier } from './auth/service-keys.ts';
import { wallClockScheduler, type ScheduleAt } from './clock.ts';
import type { UsageLimits, UsageMeter } from './domain/usage-meter.ts';
import type { JobEvents } from './events/job-events.ts';

/** Product settings the procedures need; built from the environment by the app, never read here. */
export interface ApiConfig extends UsageLimits {
  uploadUrlExpiresSeconds: number;
  downloadUrlExpiresSeconds: number;
  maxUploadBytes: number;
  /** Declared sizes above this go up as S3 multipart uploads. */
  multipartThresholdBytes: number;
  /** Preferred part size (grown when needed to stay within 10,000 parts). */
  multipartPartSizeBytes: number;
  /** Part URLs are signed in small batches, so each lives briefly. */
  partUrlExpiresSeconds: number;
  /** How long an open upload may go without progress before its deadline passes; each progress call pushes it this far out. */
  uploadIdleWindowSeconds: number;
  /** The longest an upload may stay open, however much progress it makes, counted from initiate. */
  uploadMaxLifetimeSeconds: number;
  /** Uploads an owner may have waiting for their file at once (0: no limit). */
  maxOpenUploads: number;
  /** Bytes an owner may store and have reserved by open uploads, unless its `owner_usage` row sets its own (0: no limit). */
  storageQuotaBytes: number;
  /** jobs.watch streams one user may hold open in one API process at once (0: no limit). */
  maxWatchStreamsPerUser: number;
  /**
   * Whether the first version's initiate may omit `size_bytes` (true unless set): its clients send
   * none, so its PUT is then bounded only by S3's single-PUT maximum until the object is checked.
   */
  firstVersionUnsizedUploads?: boolean;
  /** Retention for owners without a policy of their own (`RETENTION_*`, enforced by the worker's sweeper); absent: keep for ever. */
  retentionDefaults?: RetentionPolicy;
}

/** Every `ApiConfig` key, once: the compiler refuses a key added to the interface and missed here. */
const API_CONFIG_KEYS = {
  uploadUrlExpiresSeconds: true,
  downloadUrlExpiresSeconds: true,
  maxUploadBytes: true,
  multipartThresholdBytes: true,
  multipartPartSizeBytes: true,
  partUrlExpiresSeconds: true,
  uploadIdleWindowSeconds: true,
  uploadMaxLifetimeSeconds: true,
  initiatesPerMinute: true,
  maxOpenUploads: true,
  storageQuotaBytes: true,
  maxWatchStreamsPerUser: true,
  firstVersionUnsizedUploads: true,
  retentionDefaults: true,
  mutationsPerMinute: true,
  signedUrlsPerMinute: true,
} as const satisfies Record<keyof ApiConfig, true>;

/**
 * Exactly the API's settings out of a wider config (the server's holds the
 * auth secret and the database URL): what rides along as `ctx.config` to
 * every procedure is only what procedures need.
 */
export function toApiConfig(config: ApiConfig): Readonly<ApiConfig> {
  const picked = Object.fromEntries(Object.keys(API_CONFIG_KEYS).map((key) => [key, config[key as keyof ApiConfig]]));
  return Object.freeze(picked as unknown as ApiConfig);
}

/** Long-lived collaborators, built once per process. */
export interface ApiDeps {
  db: Kysely<Database>;
  storage: ObjectStorage;
  queue: MessageQueue;
  outbox: OutboxDispatcher;
  /** Changed jobs for jobs.watch (whichever process changed them), read once per change; open streams per user. */
  jobEvents: JobEvents;
  config: ApiConfig;
  /** Per-user allowances of mutations and signed links, kept for the process's life. */
  usage: UsageMeter;
  /** Checks service keys; serviceKeys.revoke makes it forget a key, so the revocation applies in this process at once. */
  serviceKeys: ServiceKeyVerifier;
  logger: Logger;
  now?: () => Date;
  /** Timers on the `now` clock (e.g. a stream ending when its token expires); the wall clock unless given. */
  scheduleAt?: ScheduleAt;
}

export interface Context extends ApiDeps {
  auth: AuthState;
  requestId: string | undefined;
  now: () => Date;
  scheduleAt: ScheduleAt;
}

/** The plain context factory: HTTP adapters, tests and services all build contexts through it. */
export function createContext(deps: ApiDeps, auth: AuthState, requestId?: string): Context {
  const now = deps.now ?? (() => new Date());
  return { ...deps, auth, requestId, now, scheduleAt: deps.scheduleAt ?? wallClockScheduler(now) };
}
