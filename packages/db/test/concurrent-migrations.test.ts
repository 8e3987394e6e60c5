import { randomBytes } from 'node:crypto';

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { createDb, isMigrated, migrateToLatest, sql, type Database, type Kysely } from '@coach/db';

/** Replicas that start together: each its own pool, all migrating an empty database at once. */
const REPLICAS = 6;

const urlFor = (name: string) => inject('pgUrlTemplate').replace('%7Bdb%7D', name).replace('{db}', name);

async function admin(statement: string) {
  const client = new pg.Client({ connectionString: urlFor('postgres') });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

describe('migrateToLatest from several processes at once', () => {
  // A fresh, empty database (not the migrated template): the race is on creating the first tables.
  const name = `fresh_${randomBytes(6).toString('hex')}`;
  const dbs: Kysely<Database>[] = [];
  beforeAll(async () => {
    await admin(`create database ${name}`);
    for (let i = 0; i < REPLICAS; i++) dbs.push(createDb({ connectionString: urlFor(name), maxConnections: 2 }));
  });
  afterAll(async () => {
    await Promise.all(dbs.map((db) => db.destroy()));
    await admin(`drop database if exists ${name} with (force)`);
  });

  it('applies every migration exactly once and every replica succeeds', async () => {
    const outcomes = await Promise.allSettled(dbs.map((db) => migrateToLatest(db)));
    expect(outcomes.filter((o) => o.status === 'rejected')).toEqual([]);

    const db = dbs[0] as Kysely<Database>;
    expect(await isMigrated(db)).toBe(true);
    const applied = await sql<{ name: string; count: string }>`
      select name, count(*)::text as count from kysely_migration group by name`.execute(db);
    expect(applied.rows.length).toBeGreaterThan(0);
    expect(applied.rows.every((row) => row.count === '1')).toBe(true);
    // Each migration ran in one replica: the others found nothing left to do.
    const ran = outcomes.flatMap((o) => (o.status === 'fulfilled' ? (o.value.results ?? []) : []));
    expect(ran.filter((r) => r.status === 'Success')).toHaveLength(applied.rows.length);
  });
});
