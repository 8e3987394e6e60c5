// Who the analysed person is, frame to frame. MoveNet's single-pose model reports whoever its
// crop holds; these rules decide whether two poses are the same person, so a clip's metrics are
// taken from one person only and a hop to someone else is seen, not averaged.
import { distance, midpoint, type Point } from './geometry.ts';
import { keypoint, type Pose } from './keypoints.ts';
import { DEFAULT_MIN_KEYPOINT_SCORE } from './metrics.ts';

/**
 * Largest move of the torso centre between consecutive samples of one person, in torso lengths
 * (of the earlier sample). A batter's stride moves the hips well under one torso length in a
 * tenth of a second; a hop to another person in the crop moves it further.
 */
export const MAX_SUBJECT_JUMP = 1.5;

/** Largest change of torso length between consecutive samples of one person (ratio, either way). */
export const MAX_SUBJECT_SCALE_CHANGE = 1.6;

/**
 * Longest gap (in samples) across which a person may be recognised again where they were last
 * seen; after it, whoever is found starts a new track.
 */
export const MAX_TRACK_GAP = 30;

export interface Torso {
  /** Midpoint of the shoulder and hip midpoints, pixels. */
  centre: Point;
  /** Shoulder midpoint to hip midpoint, pixels. */
  length: number;
}

/** The torso of a pose whose shoulders and hips are all confident; undefined otherwise. */
export function torsoOf(pose: Pick<Pose, 'keypoints'>, minScore = DEFAULT_MIN_KEYPOINT_SCORE): Torso | undefined {
  const names = ['left_shoulder', 'right_shoulder', 'left_hip', 'right_hip'] as const;
  if (names.some((name) => !(keypoint(pose, name).score >= minScore))) return undefined;
  const shoulders = midpoint(keypoint(pose, 'left_shoulder'), keypoint(pose, 'right_shoulder'));
  const hips = midpoint(keypoint(pose, 'left_hip'), keypoint(pose, 'right_hip'));
  const length = distance(shoulders, hips);
  if (!(length >= 1)) return undefined; // under a pixel: not a body
  return { centre: midpoint(shoulders, hips), length };
}

/** Whether `next` can be the same person as `previous` one sample later. */
export function isSameSubject(previous: Torso, next: Torso): boolean {
  const jump = distance(previous.centre, next.centre) / previous.length;
  const scale = next.length / previous.length;
  return jump <= MAX_SUBJECT_JUMP && scale <= MAX_SUBJECT_SCALE_CHANGE && scale >= 1 / MAX_SUBJECT_SCALE_CHANGE;
}

/**
 * Splits a clip's poses into tracks, one per person seen: a confident pose continues the track
 * of the last sample it can follow (`isSameSubject`, within `MAX_TRACK_GAP` samples), the
 * current track first; otherwise it starts a new one. Returns each pose's track number, or null
 * for a pose with no confident torso (nobody to tell apart). Incremental, so a clip is labelled
 * as its chunks arrive.
 */
export function createTrackLabeller() {
  interface Track {
    id: number;
    last: Torso;
    lastSample: number;
  }
  const tracks: Track[] = [];
  let current: Track | undefined;
  let sample = 0;

  return {
    /** The track of the next pose in clip order. */
    next(pose: Pick<Pose, 'keypoints'>): number | null {
      const index = sample++;
      const torso = torsoOf(pose);
      if (!torso) return null;
      const follows = (track: Track) => index - track.lastSample <= MAX_TRACK_GAP && isSameSubject(track.last, torso);
      let track = current && follows(current) ? current : tracks.filter(follows).at(-1);
      if (!track) {
        track = { id: tracks.length, last: torso, lastSample: index };
        tracks.push(track);
      }
      track.last = torso;
      track.lastSample = index;
      current = track;
      return track.id;
    },
  };
}

export type SubjectStatus = 'subject' | 'other' | 'lost';

export interface SubjectSummary {
  /** The track followed: the person found in most samples (null when nobody was). */
  track: number | null;
  /** Samples of the subject, used for metrics. */
  frames: number;
  /** Samples showing someone else (kept out of the metrics). */
  otherFrames: number;
  /** Samples with no confident torso (kept out of the metrics). */
  lostFrames: number;
  /** Share of all samples that show the subject, 0..1. */
  coverage: number;
  /** Times the pose moved from one person to another (consecutive confident samples of two tracks). */
  switches: number;
}

/**
 * The subject among labelled tracks: the person found in most samples, or with `isFirstChosen`
 * (the coach pointed at the player on the first frame) the first person found. The tracker starts from
 * the most prominent person MoveNet finds on the first frame (or a coach's hint) and holds on to
 * them, so this is that person unless they were lost for most of the clip.
 */
export function chooseSubject(
  tracks: readonly (number | null)[],
  { isFirstChosen = false }: { isFirstChosen?: boolean } = {},
): { status: SubjectStatus[]; summary: SubjectSummary } {
  const counts = new Map<number, number>();
  for (const track of tracks) if (track !== null) counts.set(track, (counts.get(track) ?? 0) + 1);
  let subject: number | null = null;
  for (const [track, count] of counts) if (subject === null || count > (counts.get(subject) ?? 0)) subject = track;
  // A person the coach pointed at is the subject however long someone else is in view.
  if (isFirstChosen) subject = tracks.find((track) => track !== null) ?? null;

  let switches = 0;
  let previous: number | null = null;
  const status = tracks.map((track): SubjectStatus => {
    if (track === null) return 'lost';
    if (previous !== null && previous !== track) switches++;
    previous = track;
    return track === subject ? 'subject' : 'other';
  });
  const frames = status.filter((s) => s === 'subject').length;
  return {
    status,
    summary: {
      track: subject,
      frames,
      otherFrames: status.filter((s) => s === 'other').length,
      lostFrames: status.filter((s) => s === 'lost').length,
      coverage: tracks.length === 0 ? 0 : frames / tracks.length,
      switches,
    },
  };
}
