import { sql, type Kysely } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations describe the schema at one point in time
export async function up(db: Kysely<any>): Promise<void> {
  // Where the coach tapped the player on the first frame, normalised 0..1; both or neither.
  await db.schema
    .alterTable('video_analysis_jobs')
    .addColumn('subject_hint_x', 'float8')
    .addColumn('subject_hint_y', 'float8')
    .execute();
  await db.schema
    .alterTable('video_analysis_jobs')
    .addCheckConstraint(
      'video_analysis_jobs_subject_hint',
      sql`(subject_hint_x is null and subject_hint_y is null)
        or (subject_hint_x between 0 and 1 and subject_hint_y between 0 and 1)`,
    )
    .execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('video_analysis_jobs').dropColumn('subject_hint_x').dropColumn('subject_hint_y').execute();
}
