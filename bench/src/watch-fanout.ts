/**
 * One user holds many `jobs.watch` streams on one job while the job's progress
 * changes ten times a second; another user calls `sessions.list` meanwhile.
 * Prints that user's latency (with no streams open, then with them) and how
 * many times Postgres read the job per change. `--cap` sets
 * MAX_WATCH_STREAMS_PER_USER (the product's default, 20, unless given; 0: no
 * cap), so the streams over it are refused. Everything runs on loopback:
 * embedded Postgres, the emulator, and the real API (`apps/server/src/main.ts`,
 * NODE_ENV=production) in its own process. Bounded: at most 3,000 streams,
 * 30 s of updates.
 *
 *   pnpm --filter @coach/bench exec tsx src/watch-fanout.ts [--streams 1500] [--seconds 10] [--cap 20]
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

import pg from 'pg';

import { signDevToken } from '@coach/api';
import { createClient } from '@coach/client';
import { startLocalPostgres } from '@coach/local-stack';

import { startApiServer, startEmulator } from './servers.ts';
import { machineInfo, percentile } from './stats.ts';

const { values } = parseArgs({
  options: {
    streams: { type: 'string', default: '1500' },
    seconds: { type: 'string', default: '10' },
    cap: { type: 'string', default: '20' },
  },
});
const streams = Math.min(3000, Math.max(1, Number(values.streams)));
const seconds = Math.min(30, Math.max(1, Number(values.seconds)));
const UPDATES_PER_SECOND = 10;
const CALL_EVERY_MS = 50;

const log = (message: string) => process.stderr.write(`[watch-fanout] ${message}\n`);
const cleanups: (() => Promise<unknown>)[] = [];
const tmp = await mkdtemp(path.join(os.tmpdir(), 'watch-fanout-'));
cleanups.push(() => rm(tmp, { recursive: true, force: true }));

try {
  const emulator = await startEmulator();
  cleanups.push(() => emulator.child.stop());
  const db = await startLocalPostgres({ dataDir: path.join(tmp, 'postgres'), persistent: false, database: 'coach_watch' });
  cleanups.push(() => db.stop());
  const secret = randomBytes(32).toString('hex');
  const server = await startApiServer({
    label: 'API server',
    databaseUrl: db.url,
    aws: emulator.aws,
    jwtSecret: secret,
    settings: { MAX_WATCH_STREAMS_PER_USER: String(values.cap), RATE_LIMIT_INITIATES_PER_MINUTE: '0', MAX_OPEN_UPLOADS: '0' },
  });
  cleanups.push(() => server.child.stop());

  const watcherToken = await signDevToken(secret, { userId: 'watcher', role: 'coach_pro_plus', expiresIn: '1h' });
  const otherToken = await signDevToken(secret, { userId: 'other', role: 'coach_pro_plus', expiresIn: '1h' });
  const watcher = createClient({ url: server.api, token: watcherToken });
  const other = createClient({ url: server.api, token: otherToken });

  const { sessionId } = await watcher.sessions.create.mutate({ title: 'fan-out', playerIds: [] });
  const upload = await watcher.upload.initiate.mutate({ sessionId, sizeBytes: 8 });
  if (!upload.presignedUrl) throw new Error('expected a single-PUT upload');
  const put = await fetch(upload.presignedUrl, { method: 'PUT', headers: upload.headers, body: new Uint8Array(8) });
  if (!put.ok) throw new Error(`PUT answered ${put.status}`);
  await watcher.upload.complete.mutate({ jobId: upload.jobId });
  await other.sessions.create.mutate({ title: 'other', playerIds: [] });

  /** `sessions.list` by the other user every 50 ms for `ms`; latencies in ms. */
  const sampleLatency = async (ms: number) => {
    const samples: number[] = [];
    const end = Date.now() + ms;
    while (Date.now() < end) {
      const started = performance.now();
      await other.sessions.list.query({ limit: 20 });
      samples.push(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, CALL_EVERY_MS));
    }
    return samples;
  };
  const summary = (samples: number[]) =>
    `p50 ${percentile(samples, 50).toFixed(1)} ms, p95 ${percentile(samples, 95).toFixed(1)} ms, max ${Math.max(...samples).toFixed(1)} ms (${samples.length} calls)`;

  const admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  cleanups.push(() => admin.end());
  /** Reads of the jobs table (index and sequential scans), as Postgres counts them. */
  const jobTableScans = async () => {
    // Backends flush their statistics once idle for 10 s at the latest.
    await new Promise((resolve) => setTimeout(resolve, 12_000));
    const { rows } = await admin.query<{ scans: string }>(
      `select coalesce(idx_scan, 0) + coalesce(seq_scan, 0) as scans from pg_stat_user_tables where relname = 'video_analysis_jobs'`,
    );
    return Number(rows[0]?.scans ?? 0);
  };

  log(`baseline: no streams, ${seconds} s`);
  const baseline = await sampleLatency(seconds * 1000);

  log(`opening ${streams} streams on one job`);
  const input = encodeURIComponent(JSON.stringify({ jobId: upload.jobId }));
  const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  let events = 0;
  let refused = 0;
  const requests: http.ClientRequest[] = [];
  let opened = 0;
  await new Promise<void>((resolve, reject) => {
    for (let i = 0; i < streams; i++) {
      const request = http.get(
        `${server.api}/jobs.watch?input=${input}`,
        { agent, headers: { accept: 'text/event-stream', authorization: `Bearer ${watcherToken}` } },
        (response) => {
          let firstEvent = true;
          let atLineStart = true;
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => {
            // A data event is the only one with an `id:` line; chunks may split lines anywhere.
            let ids = 0;
            chunk.split('\n').forEach((line, index, lines) => {
              if ((index > 0 || atLineStart) && line.startsWith('id: ')) ids += 1;
              if (index === lines.length - 1) atLineStart = line === '';
            });
            events += ids;
            const isRefusal = chunk.includes('serialized-error');
            if (isRefusal) refused += 1;
            if (firstEvent && (ids > 0 || isRefusal)) {
              firstEvent = false;
              if (++opened === streams) resolve();
            }
          });
        },
      );
      request.on('error', reject);
      requests.push(request);
    }
  });
  log(`${opened} streams answered (${refused} refused)`);

  const scansBefore = await jobTableScans();
  const eventsBefore = events;
  let updates = 0;
  const updater = setInterval(() => {
    updates += 1;
    void admin.query(
      `update video_analysis_jobs set status = 'processing', progress_percent = $2, lease_token = gen_random_uuid(),
         lease_expires_at = now() + interval '1 minute', updated_at = now() where id = $1`,
      [upload.jobId, updates % 100],
    );
  }, 1000 / UPDATES_PER_SECOND);
  log(`${UPDATES_PER_SECOND} progress updates a second for ${seconds} s, sampling the other user's latency`);
  const loaded = await sampleLatency(seconds * 1000);
  clearInterval(updater);
  const scans = (await jobTableScans()) - scansBefore;
  const delivered = events - eventsBefore;
  for (const request of requests) request.destroy();

  const machine = machineInfo();
  process.stdout.write(
    [
      `machine: ${machine.cores} cores, ${machine.cpuModel}, Node ${machine.node}, load average ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
      `other user's sessions.list, no streams: ${summary(baseline)}`,
      `other user's sessions.list, ${streams - refused} of ${streams} streams open on one job (cap ${values.cap}), ${UPDATES_PER_SECOND} updates/s: ${summary(loaded)}`,
      // Each UPDATE finds its row by index too: one scan per update is the update's own.
      `job updates: ${updates}; reads of the job: ${scans - updates} (${((scans - updates) / updates).toFixed(1)} per update); events delivered: ${delivered} (${(delivered / updates).toFixed(0)} per update)`,
      '',
    ].join('\n'),
  );
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
}
