import { describe, expect, it } from 'vitest';

import { formatBytes, formatDuration } from '../src/upload/format.ts';
import { TransferRate } from '../src/upload/transfer-rate.ts';

function clocked() {
  let now = 0;
  const rate = new TransferRate(5_000, () => now);
  return { rate, at: (ms: number, bytes: number) => ((now = ms), rate.record(bytes)) };
}

describe('TransferRate', () => {
  it('knows no speed until half a second of samples, then measures bytes over time', () => {
    const { rate, at } = clocked();
    at(0, 0);
    at(400, 400_000);
    expect(rate.bytesPerSecond()).toBeNull();
    expect(rate.etaSeconds(1_000)).toBeNull();
    at(1_000, 1_000_000);
    expect(rate.bytesPerSecond()).toBe(1_000_000);
    expect(rate.etaSeconds(3_000_000)).toBe(3);
    expect(rate.etaSeconds(0)).toBe(0);
  });

  it('follows the link as it is now: a stall shows as a falling speed, then no ETA', () => {
    const { rate, at } = clocked();
    for (let s = 0; s <= 10; s++) at(s * 1_000, s * 2_000_000);
    expect(rate.bytesPerSecond()).toBe(2_000_000);
    // No new bytes for 3 s: the 5 s window holds 2 s of transfer.
    for (let s = 11; s <= 13; s++) at(s * 1_000, 20_000_000);
    expect(rate.bytesPerSecond()).toBe(800_000);
    for (let s = 14; s <= 20; s++) at(s * 1_000, 20_000_000);
    expect(rate.bytesPerSecond()).toBe(0);
    expect(rate.etaSeconds(1)).toBeNull();
  });
});

describe('upload figures', () => {
  it('reads like a phone shows sizes and times', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(93_400)).toBe('93.4 KB');
    expect(formatBytes(11 * 1024 * 1024)).toBe('11.5 MB');
    expect(formatBytes(250_000_000)).toBe('250 MB');
    expect(formatDuration(0.4)).toBe('under a second');
    expect(formatDuration(42)).toBe('42 s');
    expect(formatDuration(75)).toBe('1 min 15 s');
    expect(formatDuration(3_725)).toBe('1 h 2 min');
  });
});
