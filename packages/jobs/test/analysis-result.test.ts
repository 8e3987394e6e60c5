import { readFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { METRIC_CATALOG, parseStoredResult, UNRELIABLE_REASONS, type AnalysisResultV2 } from '@coach/jobs';

import { sampleResult } from '../../../test/helpers/analysis-result.ts';

const v2 = (): AnalysisResultV2 => ({
  ...sampleResult(),
  schemaVersion: 2,
  reliable: false,
  unreliableReasons: ['subject-not-followed'],
  subject: { frames: 4, otherFrames: 5, lostFrames: 1, coverage: 0.4, switches: 2 },
  droppedValues: { shoulderTilt: 1 },
  outlierKeypoints: 3,
  moments: {
    stance: { index: 0, timestampSeconds: 0, values: { frontLegAngle: 165, leftElbowAngle: null } },
    frontFootDown: null,
    maxFrontKneeBend: null,
  },
});

describe('parseStoredResult', () => {
  it('reads results stored before subject tracking (version 1) and after it (version 2)', () => {
    const onInvalid = (issues: string[]) => expect.fail(issues.join('; '));
    expect(parseStoredResult(JSON.parse(JSON.stringify(sampleResult())), onInvalid)?.schemaVersion).toBe(1);
    expect(parseStoredResult(JSON.parse(JSON.stringify(v2())), onInvalid)).toEqual(v2());
  });

  it('reports a version 2 result with an unknown unreliable reason instead of passing it on', () => {
    const issues: string[] = [];
    const stored = { ...v2(), unreliableReasons: ['because'] };
    expect(parseStoredResult(stored, (found) => issues.push(...found))).toBeNull();
    expect(issues.join()).toMatch(/unreliableReasons/);
  });
});

describe('METRIC_CATALOG', () => {
  it('gives every metric a unit, a meaning, what good looks like and non-empty bounds', () => {
    for (const [name, description] of Object.entries(METRIC_CATALOG)) {
      expect(description.meaning.length, name).toBeGreaterThan(20);
      expect(description.good.length, name).toBeGreaterThan(20);
      expect(description.bounds.max, name).toBeGreaterThan(description.bounds.min);
    }
    expect(Object.keys(UNRELIABLE_REASONS)).toEqual(['too-few-confident-frames', 'subject-not-followed']);
  });

  it("is the text of the README's Metrics section", () => {
    const readme = readFileSync(path.join(import.meta.dirname, '../../../README.md'), 'utf8');
    for (const [name, d] of Object.entries(METRIC_CATALOG)) {
      expect(readme, name).toContain(
        `| ${d.label} (\`${name}\`) | ${d.unit} | ${d.meaning} | ${d.good} | ${d.bounds.min} to ${d.bounds.max} |`,
      );
    }
    for (const [code, text] of Object.entries(UNRELIABLE_REASONS)) expect(readme).toContain(`- \`${code}\`: ${text}`);
  });
});
