import { randomBytes } from 'node:crypto';

import pg from 'pg';
import { inject } from 'vitest';

import { createDb, sql, type Database, type Kysely } from '@coach/db';

/**
 * A fresh, migrated database of this test file's own, cloned from the
 * template the global setup migrated. Files run in parallel without sharing rows.
 */
export interface TestDatabase {
  db: Kysely<Database>;
  url: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(options: { maxConnections?: number } = {}): Promise<TestDatabase> {
  const template = inject('pgTemplateDb');
  const urlFor = (name: string) => inject('pgUrlTemplate').replace('%7Bdb%7D', name).replace('{db}', name);
  const name = `test_${randomBytes(6).toString('hex')}`;
  await admin(urlFor('postgres'), `create database ${name} template ${template}`);
  const url = urlFor(name);
  const db = createDb({ connectionString: url, maxConnections: options.maxConnections ?? 20 });
  return {
    db,
    url,
    async drop() {
      await db.destroy();
      await admin(urlFor('postgres'), `drop database if exists ${name} with (force)`);
    },
  };
}

/** Empties every table between tests. */
export async function truncateAll(db: Kysely<Database>): Promise<void> {
  await sql`truncate outbox_messages, video_analysis_jobs, video_sessions, service_keys, owner_usage, audit_events restart identity cascade`.execute(
    db,
  );
}

async function admin(url: string, statement: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    // CREATE DATABASE from one template cannot run concurrently; retry while another file holds it.
    for (let attempt = 0; ; attempt++) {
      try {
        await client.query(statement);
        return;
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code !== '55006' || attempt > 50) throw error;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } finally {
    await client.end();
  }
}
