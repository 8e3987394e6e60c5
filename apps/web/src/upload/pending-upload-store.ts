/**
 * An upload that has not finished, kept in localStorage so it can go on
 * after a reload, a crash or closing the tab. The file itself cannot be kept:
 * the user picks it again and it is matched by name, size and modification
 * time (the server checks the size again).
 */
export interface PendingUpload {
  jobId: string;
  sessionId: string;
  fileName: string;
  sizeBytes: number;
  lastModified: number;
  startedAt: string;
  /** `multipart` goes on with resumeUpload (only the missing parts); `single` is sent again to the same job. */
  uploadMode: 'single' | 'multipart';
  /** A single PUT's initiate, repeated exactly: the server answers the same job with a fresh URL. */
  repeat?: SingleRepeat;
  /** When the server gives the upload up if it hears nothing (ISO 8601), as last heard. */
  expiresAt?: string;
}

export interface SingleRepeat {
  clientRequestId: string;
  sampleFps: number;
  includeFrames: boolean;
}

const STORAGE_KEY = 'coach-plus.pending-upload';

export const pendingUploadStore = {
  load(): PendingUpload | null {
    try {
      const value: unknown = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? 'null');
      if (!isPendingUpload(value)) return null;
      // Records written before single PUTs were kept are all multipart.
      return { ...value, uploadMode: value.uploadMode === 'single' && value.repeat ? 'single' : 'multipart' };
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

function isPendingUpload(value: unknown): value is Omit<PendingUpload, 'uploadMode'> & { uploadMode?: unknown } {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.jobId === 'string' &&
    typeof v.sessionId === 'string' &&
    typeof v.fileName === 'string' &&
    typeof v.sizeBytes === 'number' &&
    typeof v.lastModified === 'number' &&
    typeof v.startedAt === 'string' &&
    (v.expiresAt === undefined || typeof v.expiresAt === 'string') &&
    (v.repeat === undefined || isSingleRepeat(v.repeat))
  );
}

function isSingleRepeat(value: unknown): value is SingleRepeat {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.clientRequestId === 'string' && typeof v.sampleFps === 'number' && typeof v.includeFrames === 'boolean';
}
