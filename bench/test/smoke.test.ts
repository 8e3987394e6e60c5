import type { AddressInfo } from 'node:net';

import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';

import { runLoad } from '../src/load.ts';
import { formatReport, NOT_YET_MEASURED } from '../src/report.ts';
import { machineInfo } from '../src/stats.ts';

describe('bench helpers', () => {
  it('turn a one-second autocannon run into the table', async () => {
    const app = Fastify({ logger: false });
    app.post('/echo', async (req) => req.body);
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const { port } = app.server.address() as AddressInfo;
      const load = await runLoad({
        url: `http://127.0.0.1:${port}/echo`,
        headers: {},
        connections: 2,
        durationSeconds: 1,
        body: () => JSON.stringify({ n: Math.random() }),
      });
      expect(load.ok).toBeGreaterThan(0);
      expect(load.errors).toBe(0);
      const table = formatReport({
        date: new Date().toISOString(),
        machine: machineInfo(),
        mode: 'smoke',
        rounds: 1,
        api: [{ scenario: 'echo', connections: 2, errors: load.errors, reqPerSec: load.reqPerSec, p50Ms: load.p50Ms, p99Ms: load.p99Ms }],
        initiateRatio: [{ connections: 2, ratio: 1 }],
        size: { rows: [{ label: 'a', declaredBytes: 1, cpuMicros: 10 }], ratio: 1 },
        notMeasured: NOT_YET_MEASURED,
        notes: [],
      });
      expect(table).toMatch(/echo\s+2\s+\d+/);
      expect(table).toContain('TODO not yet measured');
    } finally {
      await app.close();
    }
  });
});
