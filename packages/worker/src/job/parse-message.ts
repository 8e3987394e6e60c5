import { AnalysisJobMessageSchema, type AnalysisJobMessage } from '@coach/jobs';

export type ParsedMessage =
  { ok: true; message: AnalysisJobMessage } | { ok: false; jobId: string | undefined; issues: string[]; newerVersion?: number };

/** Reads a message body against the contract; a bad one says which job it named, if any. */
export function parseMessage(body: string): ParsedMessage {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { ok: false, jobId: undefined, issues: ['body is not JSON'] };
  }
  const result = AnalysisJobMessageSchema.safeParse(json);
  if (result.success) return { ok: true, message: result.data };
  const version = typeof json === 'object' && json !== null && 'schema_version' in json ? json.schema_version : undefined;
  if (typeof version === 'number' && Number.isInteger(version) && version > 1) {
    return { ok: false, jobId: undefined, issues: [], newerVersion: version };
  }
  const jobId = AnalysisJobMessageSchema.shape.job_id.safeParse(
    typeof json === 'object' && json !== null && 'job_id' in json ? json.job_id : undefined,
  );
  return {
    ok: false,
    jobId: jobId.success ? jobId.data : undefined,
    issues: result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`),
  };
}
