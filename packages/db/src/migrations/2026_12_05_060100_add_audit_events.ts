import { sql, type Kysely } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations describe the schema at one point in time
export async function up(db: Kysely<any>): Promise<void> {
  // No foreign keys: an entry outlives the session or job it describes (packages/api/src/audit/README.md).
  await db.schema
    .createTable('audit_events')
    .addColumn('id', 'bigint', (c) => c.notNull().generatedAlwaysAsIdentity())
    .addColumn('occurred_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('owner_type', 'text', (c) => c.notNull().check(sql`owner_type in ('coach', 'org')`))
    .addColumn('owner_id', 'text', (c) => c.notNull())
    .addColumn('actor_kind', 'text', (c) => c.notNull().check(sql`actor_kind in ('user', 'service_key', 'system')`))
    .addColumn('actor_id', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) =>
      c
        .notNull()
        .check(
          sql`action in ('session.created', 'upload.initiated', 'upload.completed', 'upload.rejected', 'upload.aborted', 'link.signed', 'job.deleted', 'session.deleted', 'player.erased', 'original.deleted', 'retention.changed')`,
        ),
    )
    .addColumn('target_type', 'text', (c) => c.notNull().check(sql`target_type in ('session', 'job', 'player', 'retention')`))
    .addColumn('target_id', 'uuid')
    .addColumn('session_id', 'uuid')
    .addColumn('details', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    // The key is also the owner's listing, newest first (scanned backwards): every entry costs initiate two index entries, not three.
    .addPrimaryKeyConstraint('audit_events_pkey', ['owner_type', 'owner_id', 'id'])
    .execute();
  await sql`create index audit_events_owner_target on audit_events (owner_type, owner_id, target_id, id desc) where target_id is not null`.execute(
    db,
  );
  // Append-only for everyone: a row trigger refuses every change and removal (TRUNCATE is not a row operation).
  await sql`
    create function refuse_audit_event_change() returns trigger language plpgsql as $$
    begin
      raise exception 'audit_events is append-only: % refused', tg_op using errcode = '42501';
    end $$`.execute(db);
  await sql`
    create trigger audit_events_append_only before update or delete on audit_events
    for each row execute function refuse_audit_event_change()`.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('audit_events').execute();
  await sql`drop function refuse_audit_event_change()`.execute(db);
}
