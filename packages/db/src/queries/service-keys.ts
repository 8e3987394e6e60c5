import { sql, type Kysely } from 'kysely';

import type { Database, ServiceKey } from '../schema.ts';

export interface InsertServiceKeyParams {
  id: string;
  orgId: string;
  name: string;
  scopes: string[];
  features: string[] | null;
  secretHash: Buffer;
  createdBy: string;
  expiresAt: Date | null;
  /** The most live (unrevoked) keys the org may hold; the insert does nothing at the cap. */
  maxLiveKeys: number;
}

/** What a key's owner may see of it: everything but the hash. */
export type ServiceKeySummary = Omit<ServiceKey, 'secretHash'>;

const SUMMARY_COLUMNS = [
  'id',
  'orgId',
  'name',
  'scopes',
  'features',
  'createdBy',
  'createdAt',
  'expiresAt',
  'revokedAt',
  'lastUsedAt',
] as const satisfies readonly (keyof ServiceKeySummary)[];

/**
 * Inserts the key unless the org already holds `maxLiveKeys` live ones
 * (undefined then). One statement: two concurrent creations may each see
 * room for one more, so the cap can be passed by the number of concurrent
 * calls, never more.
 */
export async function insertServiceKey(
  db: Kysely<Database>,
  params: InsertServiceKeyParams,
): Promise<ServiceKeySummary | undefined> {
  return db
    .insertInto('serviceKeys')
    .columns(['id', 'orgId', 'name', 'scopes', 'features', 'secretHash', 'createdBy', 'expiresAt'])
    .expression(
      db
        .selectNoFrom((eb) => [
          eb.val(params.id).as('id'),
          eb.val(params.orgId).as('orgId'),
          eb.val(params.name).as('name'),
          sql<string[]>`${params.scopes}::text[]`.as('scopes'),
          sql<string[] | null>`${params.features}::text[]`.as('features'),
          eb.val(params.secretHash).as('secretHash'),
          eb.val(params.createdBy).as('createdBy'),
          sql<Date | null>`${params.expiresAt}::timestamptz`.as('expiresAt'),
        ])
        .where(
          sql<boolean>`(select count(*) from service_keys where org_id = ${params.orgId} and revoked_at is null) < ${params.maxLiveKeys}`,
        ),
    )
    .returning(SUMMARY_COLUMNS)
    .executeTakeFirst();
}

/** An org's live (unrevoked) keys, newest first, expired ones included. */
export async function listLiveServiceKeys(
  db: Kysely<Database>,
  params: { orgId: string; limit: number },
): Promise<ServiceKeySummary[]> {
  return db
    .selectFrom('serviceKeys')
    .select(SUMMARY_COLUMNS)
    .where('orgId', '=', params.orgId)
    .where('revokedAt', 'is', null)
    .orderBy('createdAt', 'desc')
    .orderBy('id', 'desc')
    .limit(params.limit)
    .execute();
}

/** The key with this id, hash included, whatever its org or state: for verifying a presented credential only. */
export async function findServiceKey(db: Kysely<Database>, params: { id: string }): Promise<ServiceKey | undefined> {
  return db.selectFrom('serviceKeys').selectAll().where('id', '=', params.id).executeTakeFirst();
}

/**
 * Revokes the org's key (the first revocation's time is kept on a repeat);
 * undefined when the org has no key with this id.
 */
export async function revokeServiceKey(
  db: Kysely<Database>,
  params: { id: string; orgId: string; at: Date },
): Promise<ServiceKeySummary | undefined> {
  return db
    .updateTable('serviceKeys')
    .set((eb) => ({ revokedAt: eb.fn.coalesce('revokedAt', eb.val(params.at)) }))
    .where('id', '=', params.id)
    .where('orgId', '=', params.orgId)
    .returning(SUMMARY_COLUMNS)
    .executeTakeFirst();
}

/**
 * Records that the key was used, unless a use within `withinSeconds` (on the
 * database's clock) is already recorded: busy keys cost one write a window,
 * whichever process sees them.
 */
export async function touchServiceKey(db: Kysely<Database>, params: { id: string; withinSeconds: number }): Promise<void> {
  await db
    .updateTable('serviceKeys')
    .set({ lastUsedAt: sql<Date>`now()` })
    .where('id', '=', params.id)
    .where((eb) =>
      eb.or([
        eb('lastUsedAt', 'is', null),
        eb('lastUsedAt', '<', sql<Date>`now() - make_interval(secs => ${params.withinSeconds})`),
      ]),
    )
    .execute();
}
