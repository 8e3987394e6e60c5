import { rm } from 'node:fs/promises';
import path from 'node:path';

import type { TestProject } from 'vitest/node';

import { createDb, migrateToLatest } from '@coach/db';
import { startLocalAws, startLocalPostgres } from '@coach/local-stack';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Connection string template: replace `{db}` with a database name. */
    pgUrlTemplate: string;
    /** Migrated database to clone with `CREATE DATABASE … TEMPLATE`. */
    pgTemplateDb: string;
    awsEndpoint: string;
  }
}

/** Starts one real Postgres and one S3/SQS emulator for the whole run. */
export default async function setup(project: TestProject) {
  const dataDir = path.resolve(import.meta.dirname, `../.data/test-pg-${process.pid}`);
  const pg = await startLocalPostgres({ dataDir, persistent: false });
  const templateDb = 'coach_template';
  await pg.createDatabase(templateDb);
  const db = createDb({ connectionString: pg.urlFor(templateDb) });
  await migrateToLatest(db);
  await db.destroy();

  const aws = await startLocalAws();

  project.provide('pgUrlTemplate', pg.urlFor('{db}'));
  project.provide('pgTemplateDb', templateDb);
  project.provide('awsEndpoint', aws.endpoint);

  return async () => {
    await aws.stop();
    await pg.stop();
    await rm(dataDir, { recursive: true, force: true });
  };
}
