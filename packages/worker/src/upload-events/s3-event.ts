import { z } from 'zod';

/**
 * An S3 event notification as S3 sends it to SQS
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html).
 * Only what completion reads is kept; other fields pass unchecked.
 */
const S3EventRecordSchema = z.object({
  eventName: z.string(),
  s3: z.object({
    bucket: z.object({ name: z.string() }),
    // URL-encoded, with `+` for a space.
    object: z.object({ key: z.string() }),
  }),
});

const S3EventSchema = z.union([
  z.object({ Records: z.array(S3EventRecordSchema) }),
  // Sent once when the notification configuration is saved.
  z.object({ Event: z.literal('s3:TestEvent') }),
]);

/** An object S3 reports created: its bucket and its decoded key. */
export interface CreatedObject {
  bucket: string;
  key: string;
}

/**
 * The objects a notification reports created; empty for S3's test event and
 * for other event types. Undefined when the body is no S3 notification at all.
 */
export function createdObjectsOf(body: string): CreatedObject[] | undefined {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return undefined;
  }
  const parsed = S3EventSchema.safeParse(json);
  if (!parsed.success) return undefined;
  if (!('Records' in parsed.data)) return [];
  return parsed.data.Records.flatMap((record) => {
    if (!record.eventName.startsWith('ObjectCreated:')) return [];
    const key = decodeKey(record.s3.object.key);
    return key === undefined ? [] : [{ bucket: record.s3.bucket.name, key }];
  });
}

function decodeKey(encoded: string): string | undefined {
  try {
    return decodeURIComponent(encoded.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}
