import { sql, type Kysely } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations describe the schema at one point in time
export async function up(db: Kysely<any>): Promise<void> {
  // Credentials an organisation issues to its own backend services. Only a hash of the
  // secret is kept; the key id is the public half of the credential and the lookup.
  await db.schema
    .createTable('service_keys')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('org_id', 'text', (col) => col.notNull())
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('scopes', sql`text[]`, (col) => col.notNull())
    // The plan of the org user who created it (null: the role's default plan); a key never holds more.
    .addColumn('features', sql`text[]`)
    .addColumn('secret_hash', 'bytea', (col) => col.notNull())
    .addColumn('created_by', 'text', (col) => col.notNull())
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz')
    .addColumn('revoked_at', 'timestamptz')
    .addColumn('last_used_at', 'timestamptz')
    .addCheckConstraint('service_keys_secret_hash_length', sql`octet_length(secret_hash) = 32`)
    .addCheckConstraint('service_keys_scopes_present', sql`cardinality(scopes) > 0`)
    .execute();
  // An org's live keys, newest first (serviceKeys.list, the per-org cap).
  await db.schema
    .createIndex('service_keys_org_live')
    .on('service_keys')
    .columns(['org_id', 'created_at desc', 'id desc'])
    .where(sql.ref('revoked_at'), 'is', null)
    .execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('service_keys').execute();
}
