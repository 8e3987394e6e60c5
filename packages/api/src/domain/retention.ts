import {
  deleteRetentionPolicy,
  findRetentionPolicy,
  recordAuditEvent,
  upsertRetentionPolicy,
  type AuditActor,
  type Database,
  type Kysely,
  type Owner,
  type RetentionPolicy,
} from '@coach/db';
import { effectiveRetention, KEEP_FOREVER } from '@coach/jobs';

import type { ApiConfig } from '../context.ts';

/** What retention.get, .set and .reset answer: the policy that applies to the caller's owner, and where it comes from. */
export interface RetentionView extends RetentionPolicy {
  /** `owner`: the owner chose these values (retention.set); `defaults`: the server's configured ones apply. */
  source: 'owner' | 'defaults';
  /** The server's defaults, which apply again after retention.reset. */
  defaults: RetentionPolicy;
  /** Who set the owner's own policy, and when; null under the defaults. */
  updatedBy: string | null;
  updatedAt: string | null;
}

type RetentionConfig = Pick<ApiConfig, 'retentionDefaults'>;

const defaultsOf = (config: RetentionConfig) => config.retentionDefaults ?? KEEP_FOREVER;

/** The policy that applies to `owner` now (what job views count `originalRemovesAt` from). */
export async function readEffectiveRetention(db: Kysely<Database>, config: RetentionConfig, owner: Owner) {
  return effectiveRetention(await findRetentionPolicy(db, owner), defaultsOf(config)).policy;
}

export async function getRetention(db: Kysely<Database>, config: RetentionConfig, owner: Owner): Promise<RetentionView> {
  const own = await findRetentionPolicy(db, owner);
  const { policy, source } = effectiveRetention(own, defaultsOf(config));
  return {
    ...policy,
    source,
    defaults: { ...defaultsOf(config) },
    updatedBy: own?.updatedBy ?? null,
    updatedAt: own ? own.updatedAt.toISOString() : null,
  };
}

/**
 * retention.set: the caller's owner's own policy (a coach's for themselves, org
 * staff's for their organisation: the owner comes from the credential, never
 * from the input). The sweeper applies it from its next round.
 */
export async function setRetention(
  db: Kysely<Database>,
  config: RetentionConfig,
  p: { owner: Owner; userId: string; actor: AuditActor; policy: RetentionPolicy },
): Promise<RetentionView> {
  await db.transaction().execute(async (trx) => {
    await upsertRetentionPolicy(trx, { owner: p.owner, policy: p.policy, updatedBy: p.userId });
    await recordRetentionChange(trx, p, { ...p.policy });
  });
  return getRetention(db, config, p.owner);
}

/** retention.reset: forgets the owner's own policy; the defaults apply again. */
export async function resetRetention(
  db: Kysely<Database>,
  config: RetentionConfig,
  p: { owner: Owner; actor: AuditActor },
): Promise<RetentionView> {
  await db.transaction().execute(async (trx) => {
    await deleteRetentionPolicy(trx, p.owner);
    await recordRetentionChange(trx, p, { reset: true });
  });
  return getRetention(db, config, p.owner);
}

/** The policy decides what the sweeper deletes, so who changed it, and to what, is on the audit trail. */
function recordRetentionChange(
  trx: Kysely<Database>,
  p: { owner: Owner; actor: AuditActor },
  details: Record<string, number | boolean | null>,
) {
  return recordAuditEvent(trx, {
    owner: p.owner,
    actor: p.actor,
    action: 'retention.changed',
    target: { type: 'retention', id: null },
    details,
  });
}
