import type { CatalogMetricName } from '@coach/jobs/metric-catalog';

import { MetricGlossary } from './metric-glossary-view.tsx';
import {
  formatMetric,
  glossaryEntryId,
  labelWithUnit,
  metricExplanation,
  momentRows,
  unreliableReasonTexts,
  type AnalysisResult,
} from './metric-glossary.ts';

type Stats = NonNullable<AnalysisResult['metrics'][string]>;

interface SummaryItem {
  label: string;
  value: string;
  detail: string;
  /** The catalogued metric the number is, for its explanation. */
  metric?: CatalogMetricName;
}

function metricItem(name: CatalogMetricName, stats: Stats | null | undefined): SummaryItem {
  return {
    label: labelWithUnit(name),
    value: formatMetric(name, stats?.mean),
    detail: stats ? `${formatMetric(name, stats.min)} to ${formatMetric(name, stats.max)} over the clip` : 'not measured',
    metric: name,
  };
}

/** The numbers a coach reads first, each with how it varied over the clip and what it means. */
export function SummaryNumbers({ result }: { result: AnalysisResult }) {
  const m = result.metrics;
  // Front and back legs when the batter's stance could be read, else left and right.
  const legs: CatalogMetricName[] = result.frontSide ? ['frontLegAngle', 'backLegAngle'] : ['leftKneeAngle', 'rightKneeAngle'];
  const items: SummaryItem[] = [
    ...legs.map((name) => metricItem(name, m[name])),
    metricItem('stanceWidth', m.stanceWidth),
    {
      ...metricItem('headStability', null),
      value: formatMetric('headStability', result.headStability),
      detail: result.headStability === null ? 'not measured' : 'torso lengths the head moved (lower is steadier)',
    },
    metricItem('shoulderTilt', m.shoulderTilt),
    metricItem('hipTilt', m.hipTilt),
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
  const reasons = unreliableReasonTexts(result);
  const moments = momentRows(result);

  return (
    <section aria-labelledby="summary-heading" className="summary">
      <h3 id="summary-heading">Summary</h3>
      {reasons.length > 0 && (
        <div className="warning" data-testid="unreliable-reasons">
          <p>Treat these numbers with care:</p>
          <ul>
            {reasons.map((text) => (
              <li key={text}>{text}</li>
            ))}
          </ul>
        </div>
      )}
      <dl className="summary-grid">
        {items.map((item) => (
          <div
            key={item.label}
            className="summary-item"
            title={item.metric ? metricExplanation(item.metric) : undefined}
            data-metric={item.metric}
          >
            <dt>{item.label}</dt>
            <dd aria-describedby={item.metric ? glossaryEntryId(item.metric) : undefined}>
              <span className="value">{item.value}</span>
              <span className="detail">{item.detail}</span>
            </dd>
          </div>
        ))}
      </dl>
      {moments.length > 0 && (
        <section aria-labelledby="moments-heading" className="moments">
          <h4 id="moments-heading">Batting moments</h4>
          <dl>
            {moments.map((moment) => (
              <div key={moment.label} className="moment">
                <dt>
                  {moment.label} at {moment.timestampSeconds.toFixed(2)} s
                </dt>
                <dd>
                  {moment.values.map(({ name, value }) => (
                    <span key={name} className="moment-value" aria-describedby={glossaryEntryId(name)}>
                      {labelWithUnit(name)}: {value}
                    </span>
                  ))}
                </dd>
              </div>
            ))}
          </dl>
        </section>
      )}
      <MetricGlossary />
    </section>
  );
}
