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
 * The one place the key layout is defined:
 * coach_plus/{owner_type}/{owner_id}/{session_id}/{video_id}/original.<ext>.
 * Every part is server-chosen; owner ids are URI-encoded so no claim can add a path segment.
 */
export function videoKey(p: {
  owner: Owner;
  sessionId: string;
  videoId: string;
  contentType: VideoContentType;
}): string {
  return `${videoPrefix(p)}original.${VIDEO_CONTENT_TYPES[p.contentType]}`;
}

export function videoPrefix(p: { owner: Owner; sessionId: string; videoId: string }): string {
  return `coach_plus/${p.owner.type}/${encodeURIComponent(p.owner.id)}/${p.sessionId}/${p.videoId}/`;
}
