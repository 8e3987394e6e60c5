import { sql, type Kysely } from 'kysely';

import type { Database } from '../schema.ts';

export interface RecordedPart {
  partNumber: number;
  etag: string;
}

/** Records (or re-records, after a re-upload) parts of one job's multipart upload. */
export async function upsertUploadParts(db: Kysely<Database>, params: { jobId: string; parts: RecordedPart[] }): Promise<void> {
  if (params.parts.length === 0) return;
  await db
    .insertInto('uploadParts')
    .values(params.parts.map((p) => ({ jobId: params.jobId, partNumber: p.partNumber, etag: p.etag })))
    .onConflict((oc) =>
      oc.columns(['jobId', 'partNumber']).doUpdateSet({ etag: (eb) => eb.ref('excluded.etag'), recordedAt: sql<Date>`now()` }),
    )
    .execute();
}

export async function listUploadParts(db: Kysely<Database>, params: { jobId: string }): Promise<RecordedPart[]> {
  return db
    .selectFrom('uploadParts')
    .select(['partNumber', 'etag'])
    .where('jobId', '=', params.jobId)
    .orderBy('partNumber')
    .execute();
}

/** Forgets a job's recorded parts (S3 refused them), so a resume sends them again. */
export async function deleteUploadParts(db: Kysely<Database>, params: { jobId: string }): Promise<void> {
  await db.deleteFrom('uploadParts').where('jobId', '=', params.jobId).execute();
}
