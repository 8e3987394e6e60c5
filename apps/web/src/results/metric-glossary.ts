import type { RouterOutputs } from '@coach/client';
import { METRIC_CATALOG, UNRELIABLE_REASONS, type CatalogMetricName, type MetricDescription } from '@coach/jobs/metric-catalog';

export type AnalysisResult = NonNullable<RouterOutputs['jobs']['get']['result']>;

const UNIT_SYMBOL: Record<MetricDescription['unit'], string> = { degrees: '°', ratio: '' };

export const isCatalogMetric = (name: string): name is CatalogMetricName => Object.hasOwn(METRIC_CATALOG, name);

/** The id of a metric's glossary entry, for `aria-describedby`. */
export const glossaryEntryId = (name: CatalogMetricName) => `metric-${name}`;

/** "Left knee (degrees)": a metric's catalogue label with its unit. */
export const labelWithUnit = (name: CatalogMetricName) => `${METRIC_CATALOG[name].label} (${METRIC_CATALOG[name].unit})`;

/** A value in its unit: degrees rounded, ratios to two places. */
export function formatMetric(name: CatalogMetricName, value: number | null | undefined): string {
  if (value === null || value === undefined) return '–';
  const { unit } = METRIC_CATALOG[name];
  return unit === 'degrees' ? `${Math.round(value)}${UNIT_SYMBOL[unit]}` : value.toFixed(2);
}

/** "25° to 180°", "0 to 5": the range outside which a value is dropped as a pose error. */
export function plausibleRange(name: CatalogMetricName): string {
  const { unit, bounds } = METRIC_CATALOG[name];
  return `${bounds.min}${UNIT_SYMBOL[unit]} to ${bounds.max}${UNIT_SYMBOL[unit]}`;
}

/** One sentence for a screen reader or a tooltip: meaning, what good looks like, plausible range. */
export function metricExplanation(name: CatalogMetricName): string {
  const { meaning, good } = METRIC_CATALOG[name];
  return `${meaning} Good: ${good} Plausible range: ${plausibleRange(name)}.`;
}

/** Every catalogued metric, in catalogue order. */
export const GLOSSARY = (Object.keys(METRIC_CATALOG) as CatalogMetricName[]).map((name) => ({
  name,
  ...(METRIC_CATALOG[name] as MetricDescription),
}));

/** Why the result is unreliable, in words; a version 1 result only says that it is. */
export function unreliableReasonTexts(result: AnalysisResult): string[] {
  if (result.reliable) return [];
  if (result.schemaVersion === 1 || result.unreliableReasons.length === 0) {
    return ['Few frames showed the whole player clearly; film from head to toe, side-on, in good light.'];
  }
  return result.unreliableReasons.map((code) => UNRELIABLE_REASONS[code]);
}

const MOMENT_NAMES = {
  stance: 'Stance',
  frontFootDown: 'Front foot down',
  maxFrontKneeBend: 'Deepest front-knee bend',
} as const;

export interface MomentRow {
  label: string;
  timestampSeconds: number;
  values: { name: CatalogMetricName; value: string }[];
}

/** The batting moments found in a version 2 result, each with the metric values at that frame. */
export function momentRows(result: AnalysisResult): MomentRow[] {
  if (result.schemaVersion === 1) return [];
  return (Object.keys(MOMENT_NAMES) as (keyof typeof MOMENT_NAMES)[]).flatMap((key) => {
    const moment = result.moments[key];
    if (!moment) return [];
    const values = Object.entries(moment.values)
      .filter((entry): entry is [CatalogMetricName, number] => isCatalogMetric(entry[0]) && typeof entry[1] === 'number')
      .map(([name, value]) => ({ name, value: formatMetric(name, value) }));
    return [{ label: MOMENT_NAMES[key], timestampSeconds: moment.timestampSeconds, values }];
  });
}
