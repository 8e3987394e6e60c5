import { existsSync } from 'node:fs';
import { mkdtemp, rm, utimes } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { HEARTBEAT_MAX_AGE_MS, isHeartbeatFresh, startHeartbeat } from '../src/heartbeat.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'heartbeat-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('the worker heartbeat', () => {
  it('is fresh while beating, stale once older than the limit, and gone once stopped', async () => {
    const file = path.join(dir, 'beat');
    expect(isHeartbeatFresh(file)).toBe(false);
    const heartbeat = await startHeartbeat(file);
    const now = Date.now();
    expect(isHeartbeatFresh(file, now)).toBe(true);

    // A process whose timers stopped running: its last beat ages past the limit.
    const lastBeat = new Date(now - HEARTBEAT_MAX_AGE_MS - 1_000);
    await utimes(file, lastBeat, lastBeat);
    expect(isHeartbeatFresh(file, now)).toBe(false);
    expect(isHeartbeatFresh(file, lastBeat.getTime() + HEARTBEAT_MAX_AGE_MS)).toBe(true);

    await heartbeat.stop();
    expect(existsSync(file)).toBe(false);
    expect(isHeartbeatFresh(file)).toBe(false);
  });
});
