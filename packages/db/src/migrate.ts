import type { Kysely } from 'kysely';
import { Migrator, type Migration, type MigrationProvider, type MigrationResultSet } from 'kysely/migration';

import * as createSessionsAndJobs from './migrations/2026_11_24_000001_create_sessions_and_jobs.ts';
import * as addJobLeasesAndResults from './migrations/2026_11_24_000002_add_job_leases_and_results.ts';
import * as addOutboxClaims from './migrations/2026_11_24_000003_add_outbox_claims.ts';
import * as addMultipartUploads from './migrations/2026_11_24_000004_add_multipart_uploads.ts';
import * as addLeaseMessageId from './migrations/2026_11_24_000005_add_lease_message_id.ts';
import * as addRateLimitIndexes from './migrations/2026_11_24_000006_add_rate_limit_indexes.ts';
import * as addClientRequestIds from './migrations/2026_11_24_000007_add_client_request_ids.ts';
import * as addUploadKeyWatch from './migrations/2026_12_04_221500_add_upload_key_watch.ts';
import * as addOutboxTraceparent from './migrations/2026_12_05_010000_add_outbox_traceparent.ts';
import * as addSubjectHint from './migrations/2026_12_05_013000_add_subject_hint.ts';
import * as addServiceKeys from './migrations/2026_12_05_040000_add_service_keys.ts';
import * as addDeletions from './migrations/2026_12_05_040100_add_deletions.ts';
import * as addOwnerUsage from './migrations/2026_12_05_040200_add_owner_usage.ts';
import * as dropUnusedRateLimitIndexes from './migrations/2026_12_05_050000_drop_unused_rate_limit_indexes.ts';
import * as addRetention from './migrations/2026_12_05_060000_add_retention.ts';
import * as addAuditEvents from './migrations/2026_12_05_060100_add_audit_events.ts';
import type { Database } from './schema.ts';

/**
 * Migrations are listed explicitly rather than read from disk, so the same
 * list works under tsx, vitest and a bundled build.
 */
const migrations: Record<string, Migration> = {
  '2026_11_24_000001_create_sessions_and_jobs': createSessionsAndJobs,
  '2026_11_24_000002_add_job_leases_and_results': addJobLeasesAndResults,
  '2026_11_24_000003_add_outbox_claims': addOutboxClaims,
  '2026_11_24_000004_add_multipart_uploads': addMultipartUploads,
  '2026_11_24_000005_add_lease_message_id': addLeaseMessageId,
  '2026_11_24_000006_add_rate_limit_indexes': addRateLimitIndexes,
  '2026_11_24_000007_add_client_request_ids': addClientRequestIds,
  '2026_12_04_221500_add_upload_key_watch': addUploadKeyWatch,
  '2026_12_05_010000_add_outbox_traceparent': addOutboxTraceparent,
  '2026_12_05_013000_add_subject_hint': addSubjectHint,
  '2026_12_05_040000_add_service_keys': addServiceKeys,
  '2026_12_05_040100_add_deletions': addDeletions,
  '2026_12_05_040200_add_owner_usage': addOwnerUsage,
  '2026_12_05_050000_drop_unused_rate_limit_indexes': dropUnusedRateLimitIndexes,
  '2026_12_05_060000_add_retention': addRetention,
  '2026_12_05_060100_add_audit_events': addAuditEvents,
};

const provider: MigrationProvider = { getMigrations: () => Promise.resolve(migrations) };

export class MigrationError extends Error {
  override readonly name = 'MigrationError';
}

/** Applies every pending migration; throws (and applies nothing further) on the first failure. */
export async function migrateToLatest(db: Kysely<Database>): Promise<MigrationResultSet> {
  const result = await new Migrator({ db, provider }).migrateToLatest();
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new MigrationError(`migration ${failed} failed`, { cause: result.error });
  }
  return result;
}

/** True when no migration is pending: used by the health check. */
export async function isMigrated(db: Kysely<Database>): Promise<boolean> {
  const list = await new Migrator({ db, provider }).getMigrations();
  return list.every((m) => m.executedAt !== undefined);
}
