// What every analysis metric means, in one place: the README's "Metrics" section and the web app
// show this text, and the worker drops any value outside `bounds` (counted, never averaged).
// The web app bundles this file alone (`@coach/jobs/metric-catalog`): it must import nothing.

export interface MetricDescription {
  /** Short name for a table or chart. */
  label: string;
  unit: 'degrees' | 'ratio';
  /** What the value and its sign mean. */
  meaning: string;
  /** What a coach should look for. */
  good: string;
  /** Physically plausible range, inclusive: outside it the pose estimate is wrong, not the player. */
  bounds: { min: number; max: number };
}

const elbow = (side: 'Left' | 'Right'): MetricDescription => ({
  label: `${side} elbow`,
  unit: 'degrees',
  meaning: `Angle at the ${side.toLowerCase()} elbow between upper arm and forearm; 180° is a straight arm.`,
  good: 'High-elbow lead arm at the top of the backlift (90–120°); the lead arm extends towards 160–180° through the drive.',
  bounds: { min: 25, max: 180 },
});

const knee = (side: string, label: string): MetricDescription => ({
  label,
  unit: 'degrees',
  meaning: `Angle at the ${side} knee between thigh and shin; 180° is a straight leg, smaller is more bent.`,
  good: 'A relaxed stance keeps both knees slightly flexed (150–170°).',
  bounds: { min: 60, max: 180 },
});

/** Per-frame metrics summarised over the subject's confident frames, plus head stability. */
export const METRIC_CATALOG = {
  leftElbowAngle: elbow('Left'),
  rightElbowAngle: elbow('Right'),
  leftKneeAngle: knee('left', 'Left knee'),
  rightKneeAngle: knee('right', 'Right knee'),
  frontLegAngle: {
    ...knee('front (the leg towards the bowler)', 'Front knee'),
    good: 'Bends into the front-foot drive to about 120–150° at its deepest, with the head over it; a front leg that stays straight (>170°) means no weight transfer.',
  },
  backLegAngle: {
    ...knee('back', 'Back knee'),
    good: 'Stays flexed (140–170°) and stable through the shot; a back knee collapsing below ~120° means sitting back.',
  },
  stanceWidth: {
    label: 'Stance width (shoulders)',
    unit: 'ratio',
    meaning:
      'Distance between the ankles ÷ distance between the shoulders. For a camera in front of the batter; side-on the shoulders look narrow and this reads high.',
    good: 'About 1.0–1.5 in the set-up (feet roughly shoulder-width apart); it grows with the stride.',
    bounds: { min: 0, max: 5 },
  },
  stanceWidthToTorso: {
    label: 'Stance width (torso)',
    unit: 'ratio',
    meaning: 'Distance between the ankles ÷ torso length (shoulder midpoint to hip midpoint): stance width for any camera angle.',
    good: 'About 0.6–1.0 in the set-up; a front-foot stride reaches 1.2–2.0.',
    bounds: { min: 0, max: 3 },
  },
  shoulderTilt: {
    label: 'Shoulder tilt',
    unit: 'degrees',
    meaning:
      "Shoulder line against the horizontal; positive when the player's left shoulder is lower in the picture, whichever way they face.",
    good: 'Close to level (±10°) in the stance; the front shoulder dips a little (10–25°) into a drive.',
    bounds: { min: -45, max: 45 },
  },
  hipTilt: {
    label: 'Hip tilt',
    unit: 'degrees',
    meaning: "Hip line against the horizontal; positive when the player's left hip is lower in the picture.",
    good: 'Level (±10°) in the stance; a stable base keeps it under about 20° through the shot.',
    bounds: { min: -45, max: 45 },
  },
  headStability: {
    label: 'Head stability',
    unit: 'ratio',
    meaning:
      "Spread of the nose over the subject's confident frames ÷ mean torso length: 0 is a perfectly still head, 0.1 means it wanders by a tenth of a torso.",
    good: 'Under 0.10 while waiting for the ball; a still head is the base of good balance.',
    bounds: { min: 0, max: 1 },
  },
} as const satisfies Record<string, MetricDescription>;

export type CatalogMetricName = keyof typeof METRIC_CATALOG;

/** Why a result says `reliable: false`, in words a coach can act on. */
export const UNRELIABLE_REASONS = {
  'too-few-confident-frames':
    "Too few frames showed the player's shoulders, hips, knees and ankles clearly; film the whole body, well lit.",
  'subject-not-followed':
    'Less than half of the clip follows one person (others in view, or the player left the frame); frame the batter alone or film closer.',
} as const;

export type UnreliableReasonCode = keyof typeof UNRELIABLE_REASONS;
