import { z } from 'zod';

import { DEFAULT_WORKER_CONFIG, type WorkerConfig } from './worker.ts';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/**
 * Worker tuning from environment-style settings. Parses a record it is given
 * (apps pass their environment); defaults suit one 2-core machine.
 */
export const WorkerSettingsSchema = z.object({
  WORKER_CONCURRENCY: int(1, 64).default(DEFAULT_WORKER_CONFIG.concurrency),
  WORKER_LEASE_SECONDS: int(5, 3600).default(DEFAULT_WORKER_CONFIG.leaseSeconds),
  WORKER_VISIBILITY_TIMEOUT_SECONDS: int(5, 43_200).default(DEFAULT_WORKER_CONFIG.visibilityTimeoutSeconds),
  WORKER_MAX_RECEIVES: int(1, 1000).default(DEFAULT_WORKER_CONFIG.maxReceives),
  WORKER_SHUTDOWN_BUDGET_SECONDS: int(0, 3600).default(DEFAULT_WORKER_CONFIG.shutdownBudgetMs / 1000),
  WORKER_SWEEP_INTERVAL_SECONDS: int(1, 3600).default(DEFAULT_WORKER_CONFIG.sweepIntervalMs / 1000),
  WORKER_MAX_JOB_SECONDS: int(30, 24 * 3600).default(DEFAULT_WORKER_CONFIG.maxJobSeconds),
  /** SQS long-poll wait (SQS allows 0..20); shutdown waits for the last poll to return. */
  WORKER_WAIT_TIME_SECONDS: int(0, 20).default(DEFAULT_WORKER_CONFIG.waitTimeSeconds),
  POSE_MODEL: z.enum(['lightning', 'thunder']).default('lightning'),
  POSE_THREADS: int(1, 64).default(2),
});

export interface WorkerSettings {
  worker: WorkerConfig;
  pose: { model: 'lightning' | 'thunder'; threads: number };
}

export function toWorkerSettings(values: z.infer<typeof WorkerSettingsSchema>): WorkerSettings {
  return {
    worker: {
      ...DEFAULT_WORKER_CONFIG,
      concurrency: values.WORKER_CONCURRENCY,
      leaseSeconds: values.WORKER_LEASE_SECONDS,
      visibilityTimeoutSeconds: Math.max(values.WORKER_VISIBILITY_TIMEOUT_SECONDS, values.WORKER_LEASE_SECONDS),
      maxReceives: values.WORKER_MAX_RECEIVES,
      shutdownBudgetMs: values.WORKER_SHUTDOWN_BUDGET_SECONDS * 1000,
      sweepIntervalMs: values.WORKER_SWEEP_INTERVAL_SECONDS * 1000,
      maxJobSeconds: values.WORKER_MAX_JOB_SECONDS,
      waitTimeSeconds: values.WORKER_WAIT_TIME_SECONDS,
    },
    pose: { model: values.POSE_MODEL, threads: values.POSE_THREADS },
  };
}

/**
 * How long a process running this worker may take to stop after SIGTERM: the
 * last long poll and the in-flight jobs' budget wind down together, then a margin.
 */
export function workerShutdownMs(config: WorkerConfig): number {
  return Math.max(config.shutdownBudgetMs, config.waitTimeSeconds * 1000) + 10_000;
}
