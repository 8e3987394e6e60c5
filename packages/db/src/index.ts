export { createDb, type DbConfig } from './create-db.ts';
export { migrateToLatest, isMigrated, MigrationError } from './migrate.ts';
export * from './schema.ts';
export type { Owner, PageCursor } from './queries/owner.ts';
export * from './queries/sessions.ts';
export * from './queries/jobs.ts';
export * from './queries/outbox.ts';
export * from './queries/job-leases.ts';
export { sql, type Kysely, type Transaction } from 'kysely';
