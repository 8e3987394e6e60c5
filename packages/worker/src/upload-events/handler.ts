import { findJobByKey } from '@coach/db';
import { isVideoKey } from '@coach/jobs';

import type { Disposition, MessageHandler } from '../consumer.ts';
import { completeLandedUpload, type LandedUploadDeps } from './complete-landed.ts';
import { createdObjectsOf } from './s3-event.ts';

/** Back-off before a notification whose completion failed (storage or database unreachable) is tried again. */
export const UPLOAD_EVENT_RETRY_SECONDS = 30;

/**
 * Handles S3 object-created notifications: an upload whose bytes landed is
 * completed exactly as upload.complete would, without waiting for the client.
 * A notification that names no open upload (the client completed first, the
 * analysis's own objects, another bucket, S3's test event) is dropped; so is
 * one that is no notification at all (the sweeper remains the backstop).
 */
export function createUploadEventHandler(deps: LandedUploadDeps): MessageHandler {
  return async (message): Promise<Disposition> => {
    const created = createdObjectsOf(message.body);
    if (!created) {
      deps.logger.warn({ messageId: message.messageId }, 'upload event is not an S3 notification; dropped');
      return { kind: 'delete' };
    }
    try {
      for (const object of created) {
        if (!isVideoKey(object.key)) continue;
        const job = await findJobByKey(deps.db, { s3Key: object.key });
        if (!job || job.s3Bucket !== object.bucket || job.status !== 'awaiting_upload') continue;
        await completeLandedUpload(deps, job, 'upload-events');
      }
    } catch (error) {
      deps.logger.warn({ err: error, messageId: message.messageId }, 'could not complete a landed upload; retrying');
      return { kind: 'retry', delaySeconds: UPLOAD_EVENT_RETRY_SECONDS };
    }
    return { kind: 'delete' };
  };
}
