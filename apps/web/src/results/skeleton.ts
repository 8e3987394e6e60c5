import type { Keypoint } from './metrics-file.ts';

/** Bones between MoveNet's 17 keypoints: head, arms, torso, legs. */
export const SKELETON_EDGES: readonly (readonly [string, string])[] = [
  ['left_ear', 'left_eye'],
  ['left_eye', 'nose'],
  ['nose', 'right_eye'],
  ['right_eye', 'right_ear'],
  ['left_shoulder', 'right_shoulder'],
  ['left_shoulder', 'left_elbow'],
  ['left_elbow', 'left_wrist'],
  ['right_shoulder', 'right_elbow'],
  ['right_elbow', 'right_wrist'],
  ['left_shoulder', 'left_hip'],
  ['right_shoulder', 'right_hip'],
  ['left_hip', 'right_hip'],
  ['left_hip', 'left_knee'],
  ['left_knee', 'left_ankle'],
  ['right_hip', 'right_knee'],
  ['right_knee', 'right_ankle'],
];

/** Below this score a keypoint is a guess; the analysis ignores it too. */
export const MIN_KEYPOINT_SCORE = 0.3;

const LEFT = '#f97316';
const RIGHT = '#22d3ee';
const CENTRE = '#facc15';

const sideColour = (name: string) => (name.startsWith('left_') ? LEFT : name.startsWith('right_') ? RIGHT : CENTRE);

/**
 * Draws the confident keypoints and the bones between them; the person's
 * left side orange, right side cyan. Returns how many keypoints it drew.
 */
export function drawSkeleton(ctx: CanvasRenderingContext2D, keypoints: readonly Keypoint[], scale = 1): number {
  const confident = new Map(keypoints.filter((k) => k.score >= MIN_KEYPOINT_SCORE).map((k) => [k.name, k]));
  ctx.lineCap = 'round';
  ctx.lineWidth = 3 * scale;
  for (const [from, to] of SKELETON_EDGES) {
    const a = confident.get(from);
    const b = confident.get(to);
    if (!a || !b) continue;
    ctx.strokeStyle = sideColour(from) === sideColour(to) ? sideColour(from) : CENTRE;
    ctx.beginPath();
    ctx.moveTo(a.x, a.y);
    ctx.lineTo(b.x, b.y);
    ctx.stroke();
  }
  for (const k of confident.values()) {
    ctx.fillStyle = sideColour(k.name);
    ctx.strokeStyle = '#111827';
    ctx.lineWidth = 1.5 * scale;
    ctx.beginPath();
    ctx.arc(k.x, k.y, 4 * scale, 0, 2 * Math.PI);
    ctx.fill();
    ctx.stroke();
  }
  return confident.size;
}
