export { createDb, type DbConfig } from './create-db.ts';
export { isDatabaseUnavailable } from './errors.ts';
export { migrateToLatest, isMigrated, MigrationError } from './migrate.ts';
export * from './schema.ts';
export type { Owner, PageCursor } from './queries/owner.ts';
export * from './queries/sessions.ts';
export * from './queries/jobs.ts';
export * from './queries/outbox.ts';
export * from './queries/job-leases.ts';
export * from './queries/upload-parts.ts';
export * from './queries/owner-usage.ts';
export * from './queries/key-watch.ts';
export * from './queries/upload-deadline.ts';
export * from './queries/service-keys.ts';
export {
  listenForNotifications,
  JOB_EVENTS_CHANNEL,
  type NotificationListener,
  type NotificationListenerOptions,
} from './notifications.ts';
export { sql, type Kysely, type KyselyPlugin, type Transaction } from 'kysely';
export * from './queries/deletions.ts';
export * from './queries/retention.ts';
export * from './queries/audit.ts';
