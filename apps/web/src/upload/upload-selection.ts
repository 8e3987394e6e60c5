/** What one press of Upload asks for: the file and how to analyse it, into which session. */
export interface UploadSelection {
  file: File;
  sessionId: string;
  sampleFps: number;
  includeFrames: boolean;
}

/** True when `b` asks for exactly what `a` did: the same chosen file (not just an equal one) and options. */
export function sameSelection(a: UploadSelection, b: UploadSelection): boolean {
  return a.file === b.file && a.sessionId === b.sessionId && a.sampleFps === b.sampleFps && a.includeFrames === b.includeFrames;
}

/** Statuses of a job that holds (or will hold) a video: an upload that was cancelled, refused or expired does not count. */
const KEPT = new Set(['awaiting_upload', 'queued', 'processing', 'completed', 'failed']);

/**
 * A video of the session that looks like `file`: the same size in bytes (the
 * server keeps no file names), still kept. Two different clips of a phone
 * camera practically never have the same size to the byte.
 */
export function findDuplicate<TJob extends { status: string; declaredSizeBytes: number | null; sizeBytes: number | null }>(
  jobs: readonly TJob[],
  file: File,
): TJob | undefined {
  return jobs.find((job) => KEPT.has(job.status) && (job.sizeBytes ?? job.declaredSizeBytes) === file.size);
}
