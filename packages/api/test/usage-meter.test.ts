import { describe, expect, it } from 'vitest';

import { AppError, createUsageMeter } from '@coach/api';

/** A meter on a clock the test moves. */
function meterAt(limits: { mutationsPerMinute: number; signedUrlsPerMinute: number; initiatesPerMinute?: number }) {
  let nowMs = 1_000_000;
  const meter = createUsageMeter({ initiatesPerMinute: 0, ...limits }, () => nowMs);
  return {
    meter,
    advance: (ms: number) => (nowMs += ms),
    refusal: (fn: () => void) => {
      try {
        fn();
        return undefined;
      } catch (error) {
        if (error instanceof AppError) return error;
        throw error;
      }
    },
  };
}

describe('createUsageMeter', () => {
  it('lets a burst up to the limit pass, refuses the next call saying when to retry, and refills with time', () => {
    const { meter, advance, refusal } = meterAt({ mutationsPerMinute: 60, signedUrlsPerMinute: 0 });
    for (let i = 0; i < 60; i++) meter.charge('coach-1', 'mutations', 1);
    const refused = refusal(() => meter.charge('coach-1', 'mutations', 1));
    expect(refused).toMatchObject({ code: 'TOO_MANY_REQUESTS', retryAfterSeconds: 1 });
    expect(refused?.message).toMatch(/limit is 60 a minute.*Try again in 1 s/);
    advance(1_000);
    expect(refusal(() => meter.charge('coach-1', 'mutations', 1))).toBeUndefined();
    expect(refusal(() => meter.charge('coach-1', 'mutations', 1))).toBeDefined();
  });

  it('keeps each user and each kind apart', () => {
    const { meter, refusal } = meterAt({ mutationsPerMinute: 2, signedUrlsPerMinute: 100 });
    meter.charge('coach-1', 'mutations', 2);
    expect(refusal(() => meter.charge('coach-1', 'mutations', 1))).toBeDefined();
    expect(refusal(() => meter.charge('coach-2', 'mutations', 1))).toBeUndefined();
    expect(refusal(() => meter.charge('coach-1', 'signedUrls', 100))).toBeUndefined();
  });

  it('charges links by their number, and lets one call cost at most a full allowance', () => {
    const { meter, advance, refusal } = meterAt({ mutationsPerMinute: 0, signedUrlsPerMinute: 100 });
    meter.charge('coach-1', 'signedUrls', 60);
    const refused = refusal(() => meter.charge('coach-1', 'signedUrls', 60));
    // 40 left, 20 more needed at 100 a minute: 12 s.
    expect(refused?.retryAfterSeconds).toBe(12);
    advance(60_000);
    expect(refusal(() => meter.charge('coach-1', 'signedUrls', 500))).toBeUndefined();
  });

  it('is off at 0', () => {
    const { meter } = meterAt({ mutationsPerMinute: 0, signedUrlsPerMinute: 0 });
    expect(() => {
      for (let i = 0; i < 10_000; i++) meter.charge('coach-1', 'mutations', 1);
    }).not.toThrow();
  });

  it('lets only work that was done pay for initiates: a check takes nothing, a take may overdraw until refilled', () => {
    const { meter, advance, refusal } = meterAt({ mutationsPerMinute: 0, signedUrlsPerMinute: 0, initiatesPerMinute: 2 });
    // Refused uploads (checked, never taken) cost nothing.
    for (let i = 0; i < 5; i++) expect(refusal(() => meter.ensureAvailable('coach-1', 'initiates'))).toBeUndefined();
    // Three calls that were all in flight together succeeded: the allowance is overdrawn by one.
    for (let i = 0; i < 3; i++) meter.take('coach-1', 'initiates', 1);
    const refused = refusal(() => meter.ensureAvailable('coach-1', 'initiates'));
    expect(refused?.code).toBe('TOO_MANY_REQUESTS');
    // Two tokens missing (one overdrawn, one needed) at 2 a minute: 60 s.
    expect(refused?.retryAfterSeconds).toBe(60);
    expect(refused?.message).toMatch(/limit is 2 a minute/);
    expect(refusal(() => meter.ensureAvailable('coach-2', 'initiates'))).toBeUndefined();
    advance(60_000);
    expect(refusal(() => meter.ensureAvailable('coach-1', 'initiates'))).toBeUndefined();
  });
});
