import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';

import { bundleUploadChild } from '../src/bundle-client-child.ts';
import { bundleWorkerChild } from '../src/bundle-worker-child.ts';
import { runLoad } from '../src/load.ts';
import { createPostgresCpuReader } from '../src/postgres-cpu.ts';
import { formatReport } from '../src/report.ts';
import { machineInfo } from '../src/stats.ts';

describe('bench helpers', () => {
  it('turn a one-second autocannon run, with a body and headers per request, into the table', async () => {
    const app = Fastify({ logger: false });
    const seen = new Set<string>();
    app.post('/echo', async (req, reply) => {
      const user = req.headers['x-user'];
      if (typeof user !== 'string' || (req.body as { user?: string }).user !== user) return reply.code(400).send();
      seen.add(user);
      return req.body;
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const { port } = app.server.address() as AddressInfo;
      let n = 0;
      const load = await runLoad({
        url: `http://127.0.0.1:${port}/echo`,
        headers: {},
        connections: 2,
        amount: 200,
        body: () => {
          const user = `u${n++ % 5}`;
          return { body: JSON.stringify({ user }), headers: { 'x-user': user } };
        },
      });
      expect(load.ok).toBe(200);
      expect(load.errors).toBe(0);
      expect([...seen].sort()).toEqual(['u0', 'u1', 'u2', 'u3', 'u4']);

      const table = formatReport({
        date: new Date().toISOString(),
        machine: machineInfo(),
        mode: 'smoke',
        rounds: 1,
        api: [
          {
            scenario: 'echo',
            connections: 2,
            errors: load.errors,
            reqPerSec: load.reqPerSec,
            p50Ms: load.p50Ms,
            p99Ms: load.p99Ms,
            serverCpuMicros: 123,
            postgresCpuMicros: null,
          },
        ],
        ratios: [{ label: 'echo / echo', value: 1, target: '>= 1.5' }],
        size: { rows: [{ label: 'a', declaredBytes: 1, cpuMicros: 10 }], ratio: 1 },
        largeUpload: {
          detail: '1 MiB file',
          ratio: 2,
          rows: [{ mode: 'single PUT', fileBytes: 1, seconds: 1, mbPerSec: 1, peakRssMiB: 90, baselineRssMiB: 60 }],
          twoGib: {
            mode: 'multipart 2 GiB (16 MiB parts, 4 in parallel)',
            fileBytes: 2 * 1024 ** 3,
            seconds: 30,
            mbPerSec: 72,
            peakRssMiB: 95,
            baselineRssMiB: 55,
          },
        },
        worker: null,
        skipped: ['5. worker'],
        notes: ['a note'],
      });
      expect(table).toMatch(/echo\s+2\s+\d+\s+[\d.]+\s+[\d.]+\s+0\s+123\s+n\/a/);
      expect(table).toContain('echo / echo: 1.00 (target >= 1.5)');
      expect(table).toMatch(/single PUT\s+1\.00\s+1\s+90\s+60/);
      expect(table).toContain(
        'multipart 2 GiB (16 MiB parts, 4 in parallel): 30.0 s, 72 MB/s, client peak RSS 95 MiB (target <= 100), 55 MiB at start; client bundled with esbuild, run on plain node',
      );
      expect(table).toContain('not measured in this run:\n  5. worker');
    } finally {
      await app.close();
    }
  });

  it('read no Postgres CPU for a port no cluster listens on', () => {
    expect(createPostgresCpuReader(1)()).toBeUndefined();
  });

  it('print the 2 GiB client-memory row alone, without an empty throughput table, for --only client-memory', () => {
    const table = formatReport({
      date: new Date().toISOString(),
      machine: machineInfo(),
      mode: 'smoke',
      rounds: 1,
      api: null,
      ratios: [],
      size: null,
      largeUpload: {
        detail: 'same emulator endpoint',
        ratio: Number.NaN,
        rows: [],
        twoGib: {
          mode: 'multipart 2 GiB',
          fileBytes: 2 * 1024 ** 3,
          seconds: 16,
          mbPerSec: 134,
          peakRssMiB: 97,
          baselineRssMiB: 58,
        },
      },
      worker: null,
      skipped: [],
      notes: [],
    });
    expect(table).toContain('client peak RSS 97 MiB (target <= 100), 58 MiB at start');
    expect(table).not.toContain('multipart / single PUT');
  });

  it('bundle the upload client into plain JavaScript that node runs without tsx', { timeout: 60_000 }, async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'coach-bench-bundle-'));
    try {
      const script = await bundleUploadChild(dir);
      // Run as the bench runs it; with no settings it gets as far as reading them, which only
      // happens once every import (the client included) loaded on plain node.
      const run = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        execFile(process.execPath, [script], { env: { PATH: process.env.PATH ?? '' } }, (error, _stdout, stderr) =>
          resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stderr }),
        );
      });
      expect(run.stderr).toContain('BENCH_API is required');
      expect(run.code).toBe(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it(
    'bundle the worker child and its pose thread into plain JavaScript that node runs without tsx',
    { timeout: 60_000 },
    async () => {
      const dir = await mkdtemp(path.join(tmpdir(), 'coach-bench-worker-bundle-'));
      try {
        const script = await bundleWorkerChild(path.join(dir, 'out'));
        expect(existsSync(path.join(dir, 'out', 'pose-worker.js'))).toBe(true);
        expect(existsSync(path.join(dir, 'out', 'models', 'movenet-lightning', 'model.json'))).toBe(true);
        // With no settings it gets as far as reading them, once every import loaded on plain node.
        const run = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
          execFile(process.execPath, [script], { env: { PATH: process.env.PATH ?? '' } }, (error, _stdout, stderr) =>
            resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stderr }),
          );
        });
        expect(run.stderr).toContain('BENCH_THREADS is required');
        expect(run.code).toBe(1);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );
});
