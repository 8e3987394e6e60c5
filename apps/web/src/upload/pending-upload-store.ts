/**
 * A multipart upload that has not finished, kept in localStorage so it can
 * be resumed after a reload, a crash or closing the tab. The file itself
 * cannot be kept: the user picks it again and it is matched by name, size
 * and modification time (resumeUpload checks the size against the server's plan).
 */
export interface PendingUpload {
  jobId: string;
  sessionId: string;
  fileName: string;
  sizeBytes: number;
  lastModified: number;
  startedAt: string;
}

const STORAGE_KEY = 'coach-plus.pending-upload';

export const pendingUploadStore = {
  load(): PendingUpload | null {
    try {
      const value: unknown = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? 'null');
      return isPendingUpload(value) ? value : null;
    } catch {
      return null;
    }
  },
  save(upload: PendingUpload): void {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(upload));
  },
  clear(): void {
    localStorage.removeItem(STORAGE_KEY);
  },
};

export function isSameFile(upload: PendingUpload, file: File): boolean {
  return file.name === upload.fileName && file.size === upload.sizeBytes && file.lastModified === upload.lastModified;
}

function isPendingUpload(value: unknown): value is PendingUpload {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.jobId === 'string' &&
    typeof v.sessionId === 'string' &&
    typeof v.fileName === 'string' &&
    typeof v.sizeBytes === 'number' &&
    typeof v.lastModified === 'number' &&
    typeof v.startedAt === 'string'
  );
}
