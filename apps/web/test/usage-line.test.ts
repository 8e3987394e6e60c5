import { describe, expect, it } from 'vitest';

import { usageLine } from '../src/usage/usage-line.ts';

describe('the storage line the web app shows', () => {
  it('names the used bytes against the quota, and what unfinished uploads hold', () => {
    expect(usageLine({ usedBytes: 1_234_000_000, reservedBytes: 300_000_000, quotaBytes: 50_000_000_000 })).toBe(
      'Storage: 1.2 GB of 50.0 GB used (300 MB held by unfinished uploads)',
    );
  });

  it('leaves out the held bytes when no upload is unfinished', () => {
    expect(usageLine({ usedBytes: 4_500_000, reservedBytes: 0, quotaBytes: 1_000_000_000 })).toBe(
      'Storage: 4.5 MB of 1.0 GB used',
    );
  });

  it('says "no limit" when the owner has no quota', () => {
    expect(usageLine({ usedBytes: 0, reservedBytes: 0, quotaBytes: null })).toBe('Storage: 0 B used, no limit');
    expect(usageLine({ usedBytes: 2_000, reservedBytes: 10_000_000, quotaBytes: null })).toBe(
      'Storage: 2.0 KB used, no limit (10.0 MB held by unfinished uploads)',
    );
  });
});
