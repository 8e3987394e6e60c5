import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

import { describe, expect, it } from 'vitest';

import { METRIC_CATALOG, UNRELIABLE_REASONS } from '@coach/jobs/metric-catalog';

import { sampleResult } from '../../../test/helpers/analysis-result.ts';
import {
  formatMetric,
  GLOSSARY,
  labelWithUnit,
  metricExplanation,
  momentRows,
  unreliableReasonTexts,
  type AnalysisResult,
} from '../src/results/metric-glossary.ts';

const v2 = (overrides: Partial<Extract<AnalysisResult, { schemaVersion: 2 }>> = {}): AnalysisResult => ({
  ...sampleResult(),
  schemaVersion: 2,
  reliable: false,
  unreliableReasons: ['subject-not-followed', 'too-few-confident-frames'],
  subject: { frames: 4, otherFrames: 5, lostFrames: 1, coverage: 0.4, switches: 2 },
  droppedValues: {},
  outlierKeypoints: 0,
  moments: {
    stance: {
      index: 0,
      timestampSeconds: 0.2,
      values: { frontLegAngle: 164.6, stanceWidthToTorso: 0.834, leftElbowAngle: null },
    },
    frontFootDown: null,
    maxFrontKneeBend: { index: 7, timestampSeconds: 1.4, values: { frontLegAngle: 131.2, notInCatalogue: 3 } },
  },
  ...overrides,
});

describe('the metric glossary', () => {
  it('reads a catalogue that imports nothing, so the web bundle gets no server code with it', () => {
    const source = readFileSync(createRequire(import.meta.url).resolve('@coach/jobs/metric-catalog'), 'utf8');
    expect(source).not.toMatch(/^\s*(import|export .* from)\b/m);
  });

  it('lists every catalogued metric with its unit, and explains each with meaning, what good looks like and its range', () => {
    expect(GLOSSARY.map((entry) => entry.name)).toEqual(Object.keys(METRIC_CATALOG));
    expect(labelWithUnit('shoulderTilt')).toBe('Shoulder tilt (degrees)');
    expect(labelWithUnit('headStability')).toBe('Head stability (ratio)');
    const explanation = metricExplanation('shoulderTilt');
    expect(explanation).toContain(METRIC_CATALOG.shoulderTilt.meaning);
    expect(explanation).toContain(METRIC_CATALOG.shoulderTilt.good);
    expect(explanation).toContain('-45° to 45°');
  });

  it('formats degrees whole and ratios to two places, a missing value as a dash', () => {
    expect(formatMetric('frontLegAngle', 131.6)).toBe('132°');
    expect(formatMetric('headStability', 0.0834)).toBe('0.08');
    expect(formatMetric('stanceWidth', null)).toBe('–');
  });

  it('gives the human reason for each code of an unreliable result, a general one for version 1, none when reliable', () => {
    expect(unreliableReasonTexts(v2())).toEqual([
      UNRELIABLE_REASONS['subject-not-followed'],
      UNRELIABLE_REASONS['too-few-confident-frames'],
    ]);
    expect(unreliableReasonTexts(v2({ reliable: true, unreliableReasons: [] }))).toEqual([]);
    expect(unreliableReasonTexts(sampleResult({ reliable: false }))).toHaveLength(1);
    expect(unreliableReasonTexts(sampleResult())).toEqual([]);
  });

  it('lists the batting moments found, with the measured catalogued values at each, and none for version 1', () => {
    expect(momentRows(v2())).toEqual([
      {
        label: 'Stance',
        timestampSeconds: 0.2,
        values: [
          { name: 'frontLegAngle', value: '165°' },
          { name: 'stanceWidthToTorso', value: '0.83' },
        ],
      },
      { label: 'Deepest front-knee bend', timestampSeconds: 1.4, values: [{ name: 'frontLegAngle', value: '131°' }] },
    ]);
    expect(momentRows(sampleResult())).toEqual([]);
  });
});
