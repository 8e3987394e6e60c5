// `pnpm db:migrate`: applies pending migrations and exits. Safe to run from several replicas
// at once: kysely's Migrator holds a Postgres advisory lock while it migrates, so one applies
// each migration and the others find nothing left to do (packages/db/test/concurrent-migrations.test.ts).
import { createDb, migrateToLatest } from '@coach/db';

import { ConfigError, loadMigrateConfig } from '../env.ts';
import { createLogger } from '../logger.ts';

let config;
try {
  config = loadMigrateConfig(process.env);
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  throw error;
}

const logger = createLogger({ level: config.logLevel });
const db = createDb({ connectionString: config.databaseUrl, maxConnections: 1 });
try {
  const result = await migrateToLatest(db);
  const applied = (result.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
  logger.info({ applied }, applied.length > 0 ? `applied ${applied.length} migration(s)` : 'database already up to date');
} catch (error) {
  logger.error({ err: error }, 'migration failed');
  process.exitCode = 1;
} finally {
  await db.destroy();
}
