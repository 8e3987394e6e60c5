import { describe, expect, it } from 'vitest';

import { AwsMisconfiguredError } from '@coach/aws';
import { PermanentAnalysisError } from '@coach/worker';

import { decideSettlement, type SettlementFacts } from '../src/job/settlement.ts';

const facts = (f: Partial<SettlementFacts>): SettlementFacts => ({
  stopReason: undefined,
  error: new Error('ffmpeg crashed'),
  receiveCount: 1,
  maxReceives: 5,
  maxJobSeconds: 600,
  backoffBaseSeconds: 10,
  backoffMaxSeconds: 300,
  ...f,
});

describe('decideSettlement', () => {
  it('writes nothing once the lease is lost, and releases at shutdown for another worker at once', () => {
    expect(decideSettlement(facts({ stopReason: 'lease-lost' }))).toEqual({ kind: 'abandon' });
    expect(decideSettlement(facts({ stopReason: 'shutdown' }))).toEqual({ kind: 'release', delaySeconds: 0, reason: 'shutdown' });
  });

  it('fails for good past the deadline or for a video that cannot be analysed', () => {
    expect(decideSettlement(facts({ stopReason: 'deadline' }))).toMatchObject({
      kind: 'fail',
      permanent: true,
      failure: { code: 'ANALYSIS_TIME_LIMIT' },
    });
    const error = new PermanentAnalysisError('NOT_A_VIDEO', 'not a video');
    expect(decideSettlement(facts({ error }))).toEqual({
      kind: 'fail',
      permanent: true,
      failure: { code: 'NOT_A_VIDEO', message: 'not a video' },
    });
  });

  it('releases a job that met a missing or refused bucket as an outage, never as the video missing', () => {
    const error = new AwsMisconfiguredError({ kind: 'bucket', name: 'coach-videos' }, 'missing');
    expect(decideSettlement(facts({ error }))).toEqual({ kind: 'release', delaySeconds: 10, reason: 'outage' });
  });

  it('retries a transient failure with a doubling, capped backoff, and fails it on the last delivery', () => {
    expect(decideSettlement(facts({ receiveCount: 1 }))).toEqual({ kind: 'release', delaySeconds: 10, reason: 'retry' });
    expect(decideSettlement(facts({ receiveCount: 3 }))).toEqual({ kind: 'release', delaySeconds: 40, reason: 'retry' });
    expect(decideSettlement(facts({ receiveCount: 4, backoffMaxSeconds: 60 }))).toMatchObject({ delaySeconds: 60 });
    expect(decideSettlement(facts({ receiveCount: 5 }))).toMatchObject({
      kind: 'fail',
      permanent: false,
      failure: { code: 'ANALYSIS_RETRIES_EXHAUSTED' },
    });
  });
});
