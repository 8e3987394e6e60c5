import { useId } from 'react';
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';

import { METRIC_CATALOG, type CatalogMetricName } from '@coach/jobs/metric-catalog';

import { glossaryEntryId } from './metric-glossary.ts';
import { metricValue, type FrameRecord } from './metrics-file.ts';

interface Series {
  metric: CatalogMetricName;
}

interface ChartSpec {
  title: string;
  unit: string;
  series: readonly [Series, Series?];
}

const CHARTS: readonly ChartSpec[] = [
  {
    title: 'Knee angles',
    unit: '°',
    series: [{ metric: 'leftKneeAngle' }, { metric: 'rightKneeAngle' }],
  },
  {
    title: 'Elbow angles',
    unit: '°',
    series: [{ metric: 'leftElbowAngle' }, { metric: 'rightElbowAngle' }],
  },
  {
    title: 'Shoulder and hip tilt',
    unit: '°',
    series: [{ metric: 'shoulderTilt' }, { metric: 'hipTilt' }],
  },
  { title: 'Stance width', unit: '× shoulder width', series: [{ metric: 'stanceWidth' }] },
];

// Two lines per chart, told apart by colour and by dash, never by colour alone.
const STYLES = [
  { stroke: '#1d4ed8', strokeDasharray: undefined },
  { stroke: '#c2410c', strokeDasharray: '6 3' },
] as const;

/**
 * The pose metrics over the clip's time, one small chart per family (gaps where
 * a frame could not be measured). Clicking a point calls `onSeek` with its time.
 */
export function MetricCharts({ frames, onSeek }: { frames: readonly FrameRecord[]; onSeek?: (seconds: number) => void }) {
  return (
    <section aria-labelledby="charts-heading" className="charts">
      <h3 id="charts-heading">Over time</h3>
      <div className="chart-grid">
        {CHARTS.map((chart) => (
          <MetricChart key={chart.title} chart={chart} frames={frames} onSeek={onSeek} />
        ))}
      </div>
    </section>
  );
}

function MetricChart({
  chart,
  frames,
  onSeek,
}: {
  chart: ChartSpec;
  frames: readonly FrameRecord[];
  onSeek: ((seconds: number) => void) | undefined;
}) {
  const id = useId();
  const series = chart.series.filter((s): s is Series => s !== undefined);
  const rows = frames.map((frame) => ({
    t: frame.timestampSeconds,
    ...Object.fromEntries(series.map((s) => [s.metric, metricValue(frame, s.metric)])),
  }));
  const measured = rows.some((row) => series.some((s) => typeof row[s.metric as keyof typeof row] === 'number'));
  const suffix = chart.unit === '°' ? '°' : '';

  return (
    <figure
      className="chart"
      aria-labelledby={`${id}-caption`}
      aria-describedby={series.map((s) => glossaryEntryId(s.metric)).join(' ')}
    >
      <figcaption id={`${id}-caption`}>
        {chart.title} ({chart.unit}) over time
      </figcaption>
      {onSeek && measured && <p className="hint">Click a point to see that moment in the video.</p>}
      {measured ? (
        <ResponsiveContainer width="100%" height={200}>
          <LineChart
            data={rows}
            margin={{ top: 8, right: 12, bottom: 4, left: 0 }}
            className={onSeek ? 'seekable' : undefined}
            onClick={(state) => {
              // The point under the pointer (the tooltip's): its sample's time.
              const row = rows[Number(state.activeTooltipIndex)];
              if (onSeek && row) onSeek(row.t);
            }}
          >
            <CartesianGrid strokeDasharray="3 3" stroke="#d1d5db" />
            <XAxis
              dataKey="t"
              type="number"
              domain={['dataMin', 'dataMax']}
              unit=" s"
              tickFormatter={(t: number) => t.toFixed(1)}
            />
            <YAxis
              width={44}
              unit={suffix}
              domain={['auto', 'auto']}
              tickFormatter={(v: number) => v.toFixed(chart.unit === '°' ? 0 : 1)}
            />
            <Tooltip
              labelFormatter={(t) => `${Number(t).toFixed(2)} s`}
              formatter={(value) => (typeof value === 'number' ? `${value.toFixed(1)}${suffix}` : '–')}
            />
            <Legend />
            {series.map((s, i) => (
              <Line
                key={s.metric}
                dataKey={s.metric}
                name={METRIC_CATALOG[s.metric].label}
                type="linear"
                stroke={STYLES[i]?.stroke}
                strokeDasharray={STYLES[i]?.strokeDasharray}
                strokeWidth={2}
                dot={{ r: 2 }}
                isAnimationActive={false}
              />
            ))}
          </LineChart>
        </ResponsiveContainer>
      ) : (
        <p className="hint">Not measured in this clip.</p>
      )}
    </figure>
  );
}
