import type { JobStatus, RetentionPolicy } from '@coach/db';

export type { RetentionPolicy };

/** A retention window is whole days within these bounds (the migration's check constraint holds the same). */
export const RETENTION_DAY_BOUNDS = { min: 1, max: 3650 } as const;

/** Keep every video for ever: the default when nothing is configured. */
export const KEEP_FOREVER: RetentionPolicy = Object.freeze({ deleteOriginalsAfterDays: null, deleteEverythingAfterDays: null });

const DAY_MS = 24 * 3600 * 1000;

/** What is wrong with a policy, per field (empty when valid): one rule for `retention.set` and the settings. */
export function retentionPolicyProblems(policy: RetentionPolicy): { field: keyof RetentionPolicy; message: string }[] {
  const problems: { field: keyof RetentionPolicy; message: string }[] = [];
  const { min, max } = RETENTION_DAY_BOUNDS;
  for (const field of ['deleteOriginalsAfterDays', 'deleteEverythingAfterDays'] as const) {
    const days = policy[field];
    if (days !== null && (!Number.isInteger(days) || days < min || days > max)) {
      problems.push({ field, message: `must be a whole number of days from ${min} to ${max}, or null to keep` });
    }
  }
  const { deleteOriginalsAfterDays: originals, deleteEverythingAfterDays: everything } = policy;
  if (problems.length === 0 && originals !== null && everything !== null && originals >= everything) {
    problems.push({
      field: 'deleteOriginalsAfterDays',
      message: `must be fewer days than deleteEverythingAfterDays (${everything}): the whole video is gone by then`,
    });
  }
  return problems;
}

/** The policy that applies to an owner: its own when it chose one, else the configured defaults. */
export function effectiveRetention(
  own: RetentionPolicy | undefined,
  defaults: RetentionPolicy,
): { policy: RetentionPolicy; source: 'owner' | 'defaults' } {
  return own
    ? {
        policy: {
          deleteOriginalsAfterDays: own.deleteOriginalsAfterDays,
          deleteEverythingAfterDays: own.deleteEverythingAfterDays,
        },
        source: 'owner',
      }
    : { policy: { ...defaults }, source: 'defaults' };
}

/** Statuses whose job holds a checked original in storage (until retention or a deletion removes it). */
const HOLDS_ORIGINAL: readonly JobStatus[] = ['queued', 'processing', 'completed', 'failed'];

/**
 * When `policy` removes the job's original: from its upload's completion, after
 * `deleteOriginalsAfterDays`, else with everything after `deleteEverythingAfterDays`.
 * Null when it is kept, already removed, or the job holds none. A job still
 * queued or analysed is removed only once it finished, so this is the earliest.
 */
export function originalRemovesAt(
  job: { status: JobStatus; queuedAt: Date | null; createdAt: Date; originalRemovedAt: Date | null },
  policy: RetentionPolicy,
): Date | null {
  if (job.originalRemovedAt || !HOLDS_ORIGINAL.includes(job.status)) return null;
  const days = policy.deleteOriginalsAfterDays ?? policy.deleteEverythingAfterDays;
  if (days === null) return null;
  return new Date((job.queuedAt ?? job.createdAt).getTime() + days * DAY_MS);
}
