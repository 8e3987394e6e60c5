import type { RouterOutputs } from '@coach/client';

type AnalysisResult = NonNullable<RouterOutputs['jobs']['get']['result']>;
type Stats = NonNullable<AnalysisResult['metrics'][string]>;

const degrees = (stats: Stats | null | undefined) => (stats ? `${Math.round(stats.mean)}°` : '–');
const range = (stats: Stats | null | undefined, unit = '°') =>
  stats ? `${Math.round(stats.min)}${unit} to ${Math.round(stats.max)}${unit}` : 'not measured';

/** The numbers a coach reads first, each with how it varied over the clip. */
export function SummaryNumbers({ result }: { result: AnalysisResult }) {
  const m = result.metrics;
  // Front and back legs when the batter's stance could be read, else left and right.
  const legs = result.frontSide
    ? [
        { label: 'Front knee angle', stats: m.frontLegAngle },
        { label: 'Back knee angle', stats: m.backLegAngle },
      ]
    : [
        { label: 'Left knee angle', stats: m.leftKneeAngle },
        { label: 'Right knee angle', stats: m.rightKneeAngle },
      ];
  const stance = m.stanceWidth;
  const items = [
    ...legs.map(({ label, stats }) => ({ label, value: degrees(stats), detail: range(stats) })),
    {
      label: 'Stance width',
      value: stance ? `${stance.mean.toFixed(1)} ×` : '–',
      detail: stance ? 'shoulder width, feet apart' : 'not measured',
    },
    {
      label: 'Head stability',
      value: result.headStability === null ? '–' : `${(result.headStability * 100).toFixed(0)}%`,
      detail: result.headStability === null ? 'not measured' : 'of torso length the head moved (lower is steadier)',
    },
    { label: 'Shoulder tilt', value: degrees(m.shoulderTilt), detail: range(m.shoulderTilt) },
    { label: 'Hip tilt', value: degrees(m.hipTilt), detail: range(m.hipTilt) },
    {
      label: 'Front side',
      value: result.frontSide ?? '–',
      detail: result.frontSide ? 'leg nearer the bowler' : 'could not be told',
    },
    {
      label: 'Clear frames',
      value: `${result.reliableFrameCount} of ${result.frameCount}`,
      detail: `${result.video.durationSeconds.toFixed(1)} s at ${result.sampleFps} frames per second`,
    },
  ];

  return (
    <section aria-labelledby="summary-heading" className="summary">
      <h3 id="summary-heading">Summary</h3>
      {!result.reliable && (
        <p className="warning">
          Few frames showed the whole player clearly, so treat these numbers with care. Film from head to toe, side-on, in good
          light.
        </p>
      )}
      <dl className="summary-grid">
        {items.map((item) => (
          <div key={item.label} className="summary-item">
            <dt>{item.label}</dt>
            <dd>
              <span className="value">{item.value}</span>
              <span className="detail">{item.detail}</span>
            </dd>
          </div>
        ))}
      </dl>
    </section>
  );
}
