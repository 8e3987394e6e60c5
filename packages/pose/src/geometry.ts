export interface Point {
  x: number;
  y: number;
}

/** Below this length (pixels) a segment has no usable direction. */
export const MIN_SEGMENT_LENGTH = 1e-6;

export function distance(a: Point, b: Point): number {
  return Math.hypot(a.x - b.x, a.y - b.y);
}

export function midpoint(a: Point, b: Point): Point {
  return { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
}

/** The angle a–vertex–b in degrees, in [0, 180]; null when either arm has no length. */
export function jointAngle(a: Point, vertex: Point, b: Point): number | null {
  const ux = a.x - vertex.x;
  const uy = a.y - vertex.y;
  const vx = b.x - vertex.x;
  const vy = b.y - vertex.y;
  const u = Math.hypot(ux, uy);
  const v = Math.hypot(vx, vy);
  if (u < MIN_SEGMENT_LENGTH || v < MIN_SEGMENT_LENGTH) return null;
  const cosine = Math.min(1, Math.max(-1, (ux * vx + uy * vy) / (u * v)));
  return (Math.acos(cosine) * 180) / Math.PI;
}

/**
 * Tilt of the line from `right` to `left` against the image horizontal, in degrees in
 * [-90, 90], whichever way the person faces: positive when `left` is lower in the image
 * (y grows downward), 0 when level. Null when the points coincide.
 */
export function tiltDegrees(left: Point, right: Point): number | null {
  if (distance(left, right) < MIN_SEGMENT_LENGTH) return null;
  return (Math.atan2(left.y - right.y, Math.abs(left.x - right.x)) * 180) / Math.PI;
}
