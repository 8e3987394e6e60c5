import type { VideoAnalysisJob } from '@coach/db';
import { isTerminal } from '@coach/jobs';

import type { Disposition } from '../consumer.ts';

/** What to do with a message whose job could not be claimed, and what to log about it. */
export interface UnclaimedDecision {
  disposition: Disposition;
  level: 'info' | 'error' | 'none';
  message?: string;
}

/** Why a job could not be claimed decides what happens to its message. */
export function decideUnclaimed(job: VideoAnalysisJob | undefined, messageId: string): UnclaimedDecision {
  if (!job) return { disposition: { kind: 'dead-letter' }, level: 'error', message: 'analysis message for an unknown job' };
  if (job.status === 'deleted') {
    // Sent before (or while) the job was deleted: there is nothing to analyse and nothing may be written.
    return { disposition: { kind: 'delete' }, level: 'info', message: 'analysis message for a deleted job; dropped' };
  }
  if (isTerminal(job.status)) {
    return {
      disposition: { kind: 'delete' },
      level: 'info',
      message: 'duplicate or late message for a finished job; acknowledged',
    };
  }
  if (job.status === 'processing') {
    // Another worker holds a live lease. A different copy of the message is a
    // duplicate: drop it rather than let it cycle into the dead-letter queue.
    if (job.leaseMessageId && job.leaseMessageId !== messageId) {
      return { disposition: { kind: 'delete' }, level: 'info', message: 'duplicate message for a job in progress; dropped' };
    }
    return { disposition: { kind: 'leave' }, level: 'none' };
  }
  return { disposition: { kind: 'dead-letter' }, level: 'error', message: 'analysis message for a job that was never queued' };
}
