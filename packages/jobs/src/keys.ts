import type { Owner } from '@coach/db';

/** Video formats phones record, with the extension used in the stored key. */
export const VIDEO_CONTENT_TYPES = {
  'video/mp4': 'mp4',
  'video/quicktime': 'mov',
  'video/webm': 'webm',
  'video/3gpp': '3gp',
} as const;
export type VideoContentType = keyof typeof VIDEO_CONTENT_TYPES;
export const DEFAULT_CONTENT_TYPE: VideoContentType = 'video/mp4';

/**
 * The one place the key layout is defined, for the upload and for what the
 * analysis stores beside it:
 *   coach_plus/{owner_type}/{owner_id}/{session_id}/{video_id}/original.<ext>
 *                                                              analysis/metrics.json
 *                                                              frames/NNNNNN.jpg
 * Every part is server-chosen; owner ids are URI-encoded so no claim can add a path segment.
 */
export function videoKey(p: { owner: Owner; sessionId: string; videoId: string; contentType: VideoContentType }): string {
  return `${videoPrefix(p)}original.${VIDEO_CONTENT_TYPES[p.contentType]}`;
}

export function videoPrefix(p: { owner: Owner; sessionId: string; videoId: string }): string {
  return `${sessionPrefix(p)}${p.videoId}/`;
}

/** Everything a session's videos store lies under it (a deletion empties it). */
export function sessionPrefix(p: { owner: Owner; sessionId: string }): string {
  return `coach_plus/${p.owner.type}/${encodeURIComponent(p.owner.id)}/${p.sessionId}/`;
}

/** True for a key with the layout of an uploaded video (not what the analysis stores beside it). */
export function isVideoKey(s3Key: string): boolean {
  if (!s3Key.startsWith('coach_plus/')) return false;
  const name = s3Key.slice(s3Key.lastIndexOf('/') + 1);
  return Object.values(VIDEO_CONTENT_TYPES).some((ext) => name === `original.${ext}`);
}

/** The folder of a stored video, from its key: where its analysis goes, and what its deletion empties. */
export function prefixOfKey(s3Key: string): string {
  return s3Key.slice(0, s3Key.lastIndexOf('/') + 1);
}

/** Where the analysis of the video at `s3Key` stores its per-frame metrics (fixed, so a rerun overwrites). */
export function metricsKey(s3Key: string): string {
  return `${prefixOfKey(s3Key)}analysis/metrics.json`;
}

/** Where the analysis of the video at `s3Key` stores its sampled frames. */
export function framesPrefix(s3Key: string): string {
  return `${prefixOfKey(s3Key)}frames/`;
}

/** One stored frame: `<framesPrefix><index, 6 digits>.jpg`. */
export function frameKey(framesPrefix: string, index: number): string {
  return `${framesPrefix}${String(index).padStart(6, '0')}.jpg`;
}
