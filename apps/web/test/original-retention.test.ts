import { describe, expect, it } from 'vitest';

import { originalRetentionText } from '../src/retention/original-retention.ts';

const isoDay = (at: Date) => at.toISOString().slice(0, 10);

describe("what a results page says about the original under the owner's retention policy", () => {
  it('says when a removed original went, and that the analysis stays', () => {
    expect(originalRetentionText({ originalRemovedAt: '2026-12-01T10:00:00.000Z', originalRemovesAt: null }, isoDay)).toBe(
      'The original video was removed on 2026-12-01 under your retention policy; its analysis is kept.',
    );
  });

  it('says when a kept original will go', () => {
    expect(originalRetentionText({ originalRemovedAt: null, originalRemovesAt: '2027-01-04T00:00:00.000Z' }, isoDay)).toBe(
      'The original video will be removed on 2027-01-04 under your retention policy; its analysis will be kept.',
    );
  });

  it('says nothing when the policy keeps it', () => {
    expect(originalRetentionText({ originalRemovedAt: null, originalRemovesAt: null })).toBeNull();
  });
});
