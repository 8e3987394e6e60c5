import { describe, expect, it } from 'vitest';

import { findDuplicate, sameSelection } from '../src/upload/upload-selection.ts';

const file = new File([new Uint8Array(1234)], 'nets.mp4', { type: 'video/mp4' });
const job = (status: string, sizeBytes: number | null, declaredSizeBytes: number | null = sizeBytes) => ({
  status,
  sizeBytes,
  declaredSizeBytes,
});

describe('findDuplicate', () => {
  it('finds a kept video of the same size, by stored size or else the declared one', () => {
    expect(findDuplicate([job('completed', 99), job('completed', 1234)], file)).toEqual(job('completed', 1234));
    expect(findDuplicate([job('awaiting_upload', null, 1234)], file)).toBeDefined();
    expect(findDuplicate([job('failed', 1234)], file)).toBeDefined();
  });

  it('ignores uploads that hold no video: cancelled, refused or expired', () => {
    expect(findDuplicate([job('aborted', null, 1234), job('rejected', 1234), job('expired', null, 1234)], file)).toBeUndefined();
    expect(findDuplicate([], file)).toBeUndefined();
  });
});

describe('sameSelection', () => {
  const selection = { file, sessionId: 's1', sampleFps: 10, includeFrames: true };
  it('is the very same chosen file with the same options', () => {
    expect(sameSelection(selection, { ...selection })).toBe(true);
    expect(sameSelection(selection, { ...selection, sampleFps: 5 })).toBe(false);
    expect(sameSelection(selection, { ...selection, includeFrames: false })).toBe(false);
    expect(sameSelection(selection, { ...selection, sessionId: 's2' })).toBe(false);
    // An equal file chosen again is a new choice (it asks first when the session has it).
    expect(sameSelection(selection, { ...selection, file: new File([new Uint8Array(1234)], 'nets.mp4') })).toBe(false);
  });
});
