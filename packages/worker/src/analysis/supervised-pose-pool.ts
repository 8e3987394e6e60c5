import type { Logger } from '@coach/jobs';
import type { PosePool } from '@coach/pose';

/**
 * A pose pool that replaces itself when a thread dies. A crashed thread
 * breaks its pool for good; without this, every later job in the process
 * would fail until someone restarted the worker. The call that hit the crash
 * still throws (its job is retried); the next call gets a fresh pool.
 */
export async function createSupervisedPosePool(
  create: () => Promise<PosePool>,
  logger: Logger,
): Promise<PosePool & { readonly restarts: number }> {
  let current = await create();
  let replacing: Promise<void> | undefined;
  let restarts = 0;

  const replace = (broken: PosePool) =>
    (replacing ??= (async () => {
      logger.error({ err: broken.failure }, 'pose thread crashed; starting a new pose pool');
      void broken.close().catch(() => {});
      current = await create();
      restarts += 1;
    })().finally(() => {
      replacing = undefined;
    }));

  return {
    get model() {
      return current.model;
    },
    get threads() {
      return current.threads;
    },
    get failure() {
      return undefined;
    },
    get redoneSegments() {
      return current.redoneSegments;
    },
    get restarts() {
      return restarts;
    },
    async estimate(frames, options) {
      if (replacing) await replacing;
      const pool = current;
      try {
        return await pool.estimate(frames, options);
      } catch (error) {
        if (pool.failure && pool === current) await replace(pool);
        throw error;
      }
    },
    close: () => current.close(),
  };
}
