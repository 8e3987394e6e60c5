import { readFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { JOB_FAILURE_CODES } from '@coach/jobs';

describe('job failure codes', () => {
  it('are each documented in the README, where clients look them up', () => {
    const readme = readFileSync(path.join(import.meta.dirname, '../../../README.md'), 'utf8');
    const undocumented = JOB_FAILURE_CODES.filter((code) => !readme.includes(`\`${code}\``));
    expect(undocumented).toEqual([]);
  });
});
