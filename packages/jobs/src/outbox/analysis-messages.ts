import { buildAnalysisJobMessage } from '../messages/analysis-job.ts';
import type { OutboxMessageToSend } from './dispatcher.ts';

/**
 * The outbox dedupe keys of a job's analysis messages: one per reason a
 * message is sent, so a retried or concurrent writer can never add a second.
 */
export const analysisDedupeKey = {
  /** The message upload.complete sends. */
  first: (jobId: string) => `analysis:${jobId}`,
  /** The sweeper re-queued an abandoned job after its `attempts`th claim. */
  retry: (jobId: string, attempts: number) => `analysis:${jobId}:retry:${attempts}`,
  /** The sweeper re-sent a queued job's lost message; `sent` is how many messages the job had. */
  redispatch: (jobId: string, sent: number) => `analysis:${jobId}:redispatch:${sent}`,
} as const;

/** The outbox row that asks the worker to analyse `job`, under `dedupeKey`. */
export function analysisOutboxMessage(
  job: Parameters<typeof buildAnalysisJobMessage>[0],
  dedupeKey: string,
): OutboxMessageToSend {
  return { dedupeKey, jobId: job.id, payload: buildAnalysisJobMessage(job) };
}
