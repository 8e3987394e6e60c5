import { appendFile } from 'node:fs/promises';

/**
 * Reliability scenarios run in every `pnpm test` at a scale that fits CI, and at
 * full scale under `pnpm test:reliability --full`. Each scenario reports its
 * figures here; the script collects them into one table.
 */
export type ReliabilityScale = 'ci' | 'full';

export function reliabilityScale(): ReliabilityScale {
  return process.env.RELIABILITY_SCALE === 'full' ? 'full' : 'ci';
}

/** `ci` in ordinary runs, `full` under `--full`. */
export function scaled(ci: number, full: number): number {
  return reliabilityScale() === 'full' ? full : ci;
}

export interface ScenarioFigures {
  /** Short, stable name: "initiate burst", "SQS reply lost", … */
  scenario: string;
  /** What was done, e.g. "2000 initiates × 50 concurrent". */
  scale: string;
  /** HTTP requests made to the API. */
  requests: number;
  /** Jobs the scenario created (or expected). */
  jobs: number;
  /** Queue messages observed (main queue plus DLQ). */
  messages: number;
  /** Analysis results written (terminal jobs), when a worker ran. */
  results: number;
  /** Jobs that should have been queued or finished and were not. */
  lost: number;
  /** Jobs queued or processed more than once (beyond SQS' at-least-once duplicates that were dropped). */
  duplicated: number;
  /** 5xx answers from the API. */
  http5xx: number;
  /**
   * True only for a scenario that causes 5xx on purpose (e.g. a deliberate outage):
   * its 5xx are reported but do not fail `pnpm test:reliability`.
   */
  expected5xx?: boolean;
  /** Anything a reader needs to read the row right. */
  notes?: string;
}

/** Appends one row to the run's report when `RELIABILITY_REPORT_FILE` is set; a no-op otherwise. */
export async function recordScenario(figures: ScenarioFigures): Promise<void> {
  const file = process.env.RELIABILITY_REPORT_FILE;
  if (!file) return;
  await appendFile(file, `${JSON.stringify({ ...figures, scaleMode: reliabilityScale() })}\n`);
}

/**
 * The outbox timings a server runs with in production (the dispatcher's defaults),
 * for scenarios that must not benefit from the test server's faster ones.
 */
export const PRODUCTION_OUTBOX = {
  inlineCooldownMs: 5_000,
  baseRetryMs: 1_000,
  maxRetryMs: 60_000,
  relayGraceMs: 10_000,
} as const;
