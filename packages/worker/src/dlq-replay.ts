import type { MessageQueue, ReceivedMessage } from '@coach/aws';

import { parseMessage } from './job/parse-message.ts';

export interface ReplayOptions {
  deadLetterQueue: MessageQueue;
  queue: MessageQueue;
  /** Moves at most this many messages. */
  max: number;
  /** Reports what would move and moves nothing (the messages are made visible again at once). */
  dryRun: boolean;
  /** Hidden time per received message while it is moved; a replay that dies leaves them to reappear after it. */
  visibilityTimeoutSeconds?: number;
}

export interface ReplayReport {
  dryRun: boolean;
  /** Messages moved back to the main queue (or, in a dry run, that would be). */
  moved: number;
  /** The job id each moved message names, in order; null for a body that names none. */
  jobIds: (string | null)[];
}

/**
 * Moves dead-lettered messages back to the main queue after a fix, each sent
 * before it is deleted from the dead-letter queue (a replay that dies between
 * the two leaves a duplicate, which the worker drops, never a lost message).
 * The body and trace context go as they were; SQS counts receives afresh.
 * Stops when a receive finds nothing or `max` messages moved.
 */
export async function replayDeadLetters(options: ReplayOptions): Promise<ReplayReport> {
  const { deadLetterQueue, queue, max, dryRun } = options;
  const report: ReplayReport = { dryRun, moved: 0, jobIds: [] };
  // A dry run holds what it saw until the end, so no message is counted twice.
  const held: ReceivedMessage[] = [];
  try {
    while (report.moved < max) {
      const batch = await deadLetterQueue.receive({
        maxMessages: Math.min(10, max - report.moved),
        waitTimeSeconds: 1,
        visibilityTimeoutSeconds: options.visibilityTimeoutSeconds ?? 60,
      });
      if (batch.length === 0) break;
      for (const message of batch) {
        if (dryRun) {
          held.push(message);
        } else {
          await queue.send(message.body, { traceparent: message.traceparent });
          await deadLetterQueue.delete(message.receiptHandle);
        }
        report.moved += 1;
        report.jobIds.push(jobIdOf(message.body));
      }
    }
  } finally {
    await Promise.all(held.map((m) => deadLetterQueue.changeVisibility(m.receiptHandle, 0).catch(() => {})));
  }
  return report;
}

function jobIdOf(body: string): string | null {
  const parsed = parseMessage(body);
  return (parsed.ok ? parsed.message.job_id : parsed.jobId) ?? null;
}
