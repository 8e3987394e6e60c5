/**
 * `pnpm bench [--quick] [--cpu-prof] [--rounds N] [--only api,size,large,client-memory,worker]`:
 * the real API server (NODE_ENV=production, in its own process) on embedded
 * Postgres and the S3/SQS emulator (in its own process), loaded with
 * autocannon on loopback next to a hand-written ceiling server doing the same
 * work; CPU per upload against object size; large uploads single vs
 * multipart; the worker's analysis speed. Prints a table and writes
 * bench/results/latest.json.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { signDevToken } from '@coach/api';
import { startLocalPostgres } from '@coach/local-stack';

import { runApiBench, type ApiBenchResult } from './api-bench.ts';
import { runClientMemoryBench, runLargeUploadBench } from './large-upload-bench.ts';
import { createPostgresCpuReader } from './postgres-cpu.ts';
import { summarizeProfile } from './profile.ts';
import { formatReport, type BenchReport } from './report.ts';
import { migrateDatabase, startApiServer, startCeilingServer, startEmulator, type RunningServer } from './servers.ts';
import { measureSizeIndependence } from './size-bench.ts';
import { formatBytes, machineInfo } from './stats.ts';
import { runWorkerBench } from './worker-bench.ts';

const SECTIONS = {
  api: '1-2. API throughput and latency, ours vs the ceiling, limits and quota on and off',
  size: '3. server CPU per upload vs object size',
  large: '4. large uploads: parallel multipart vs single PUT of the same file, then the 2 GiB client-memory row',
  'client-memory': "4. the 2 GiB client-memory row alone: uploadVideo's peak RSS (bundled client on plain node)",
  worker: '5. worker: frames/s and real-time factor, one vs two pose threads, frames stored vs not, /healthz p99 meanwhile',
} as const;
type Section = keyof typeof SECTIONS;

const { values: args } = parseArgs({
  // `pnpm bench -- --quick` passes a lone `--` through.
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: {
    quick: { type: 'boolean', default: false },
    'cpu-prof': { type: 'boolean', default: false },
    rounds: { type: 'string' },
    only: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  process.stdout.write(`pnpm bench [--quick] [--cpu-prof] [--rounds N] [--only ${Object.keys(SECTIONS).join(',')}]\n`);
  process.exit(0);
}

const MIB = 1024 ** 2;
const GIB = 1024 ** 3;
const settings = args.quick
  ? {
      mode: 'quick',
      rounds: 1,
      seconds: 1.5,
      warmSeconds: 0.5,
      completeAmount: { 1: 60, 50: 300 },
      quotaAmount: { 1: 100, 50: 300 },
      warmCompletes: 100,
      sizeLargeBytes: 128 * MIB,
      sizeRounds: 8,
      uploadBytes: 80 * MIB,
      uploadRounds: 1,
      clipSeconds: 10,
    }
  : {
      mode: 'default',
      rounds: 3,
      seconds: 5,
      warmSeconds: 1,
      completeAmount: { 1: 300, 50: 1500 },
      quotaAmount: { 1: 1000, 50: 3000 },
      warmCompletes: 200,
      sizeLargeBytes: GIB,
      sizeRounds: 40,
      uploadBytes: 256 * MIB,
      uploadRounds: 3,
      clipSeconds: 60,
    };
const rounds = args.rounds ? Math.max(1, Number(args.rounds)) : settings.rounds;
const only = new Set((args.only ?? Object.keys(SECTIONS).join(',')).split(',').map((s) => s.trim()));
for (const name of only)
  if (!(name in SECTIONS)) throw new Error(`--only: unknown section ${name}; use ${Object.keys(SECTIONS).join(',')}`);
const selected = (section: Section) => only.has(section);

const benchDir = path.resolve(import.meta.dirname, '..');
const repoRoot = path.resolve(benchDir, '..');
const resultsDir = path.join(benchDir, 'results');
const profileDir = path.join(resultsDir, 'profiles');
const t0 = Date.now();
const log = (message: string) => process.stderr.write(`[bench +${Math.round((Date.now() - t0) / 1000)}s] ${message}\n`);

const cleanups: (() => Promise<void>)[] = [];
const cleanup = async () => {
  for (const fn of cleanups.reverse()) await fn().catch(() => {});
};
process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));

try {
  await main();
} catch (error) {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
} finally {
  await cleanup();
}

async function main() {
  const started = Date.now();
  mkdirSync(resultsDir, { recursive: true });
  if (args['cpu-prof']) {
    rmSync(profileDir, { recursive: true, force: true });
    mkdirSync(profileDir, { recursive: true });
  }
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'coach-bench-'));
  cleanups.push(async () => rmSync(tmp, { recursive: true, force: true }));

  log('starting the emulator');
  const emulator = await startEmulator();
  cleanups.push(() => emulator.child.stop());
  const { aws } = emulator;

  const needsApi = selected('api') || selected('size') || selected('large') || selected('client-memory');
  const secret = randomBytes(32).toString('hex');
  let pgUrl = '';
  let postgresCpu: () => number | undefined = () => undefined;
  const servers: { ours?: RunningServer; withLimits?: RunningServer } = {};
  if (needsApi) {
    log('starting embedded Postgres');
    const pg = await startLocalPostgres({ dataDir: path.join(tmp, 'postgres'), persistent: false, database: 'coach_bench' });
    cleanups.push(() => pg.stop());
    pgUrl = pg.url;
    await migrateDatabase(pgUrl);
    postgresCpu = createPostgresCpuReader(pg.port);
    log('starting the API servers (NODE_ENV=production, worker not in process)');
    servers.ours = await startApiServer({
      label: 'API server',
      databaseUrl: pgUrl,
      aws,
      jwtSecret: secret,
      settings: {
        // Single PUTs up to 5 GiB, so the size item compares two single-PUT uploads.
        MULTIPART_THRESHOLD_BYTES: String(5 * GIB),
        // Per-user limits off (0 = no limit): one bench user makes thousands of uploads a minute.
        RATE_LIMIT_INITIATES_PER_MINUTE: '0',
        MAX_OPEN_UPLOADS: '0',
        STORAGE_QUOTA_BYTES: '0',
        RATE_LIMIT_MUTATIONS_PER_MINUTE: '0',
        RATE_LIMIT_SIGNED_URLS_PER_MINUTE: '0',
      },
    });
    cleanups.push(() => servers.ours?.child.stop() ?? Promise.resolve());
  }
  if (selected('api') || selected('large') || selected('client-memory')) {
    // Production defaults: limits and storage quota on, multipart above 64 MiB in 16 MiB parts.
    servers.withLimits = await startApiServer({
      label: 'API server (limits on)',
      databaseUrl: pgUrl,
      aws,
      jwtSecret: secret,
      settings: {},
    });
    cleanups.push(() => servers.withLimits?.child.stop() ?? Promise.resolve());
  }

  const report: BenchReport = {
    date: new Date().toISOString(),
    machine: machineInfo(),
    mode: '',
    rounds,
    api: null,
    ratios: [],
    size: null,
    largeUpload: null,
    worker: null,
    skipped: Object.entries(SECTIONS)
      .filter(([name]) => !selected(name as Section))
      .map(([, what]) => what),
    notes: [],
  };
  const raw: Record<string, unknown> = {};

  let api: ApiBenchResult | undefined;
  if (selected('api') && servers.ours && servers.withLimits) {
    log('starting the ceiling server');
    const ceiling = await startCeilingServer({ databaseUrl: pgUrl, aws, jwtSecret: secret });
    cleanups.push(() => ceiling.child.stop());
    api = await runApiBench({
      settings: {
        rounds,
        seconds: settings.seconds,
        warmSeconds: settings.warmSeconds,
        completeAmount: settings.completeAmount,
        quotaAmount: settings.quotaAmount,
        warmCompletes: settings.warmCompletes,
      },
      ours: servers.ours,
      oursWithLimits: servers.withLimits,
      ceiling,
      jwtSecret: secret,
      postgresCpu,
      profileDir: args['cpu-prof'] ? profileDir : undefined,
      log,
    });
    await ceiling.child.stop();
    report.api = api.rows;
    report.ratios = api.ratios;
    report.notes.push(
      'ours = apps/server/src/main.ts under tsx (the product has no bundled build), NODE_ENV=production, LOG_LEVEL=warn, worker not in process',
      'ceilings = bench/src/ceiling-server.ts, Fastify + jose + zod + pg + the AWS SDK, no tRPC, no layering: straightforward = jose given the secret bytes, read the session then insert, getSignedUrl; tuned = key imported once, one prepared INSERT ... SELECT, and getSignedUrl or the presigner ours uses (S3RequestPresigner, key-object HMACs)',
      'ratio = median over rounds of (a req/s / b req/s) measured back to back; > 1 means a is faster',
      ...api.notes,
    );
    raw.api = api.raw;
  }

  if (selected('size') && servers.ours) {
    log(`size independence: ${formatBytes(1_000_000)} vs ${formatBytes(settings.sizeLargeBytes)}, ${settings.sizeRounds} rounds`);
    const token = await signDevToken(secret, { userId: 'bench-size', role: 'coach_pro_plus', expiresIn: '6h' });
    const call = async <T>(url: string, input: unknown): Promise<T> => {
      const response = await fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(input),
      });
      const body = (await response.json()) as { result?: { data: T } };
      if (!response.ok || !body.result) throw new Error(`${url} answered ${response.status}: ${JSON.stringify(body)}`);
      return body.result.data;
    };
    const { sessionId } = await call<{ sessionId: string }>(`${servers.ours.api}/sessions.create`, {
      title: 'size',
      playerIds: ['p1'],
    });
    report.size = await measureSizeIndependence({
      api: servers.ours.api,
      call,
      sessionId,
      server: servers.ours.child,
      aws,
      largeBytes: settings.sizeLargeBytes,
      rounds: settings.sizeRounds,
    });
  }

  if ((selected('large') || selected('client-memory')) && servers.ours && servers.withLimits) {
    const token = await signDevToken(secret, { userId: 'bench-large', role: 'coach_pro_plus', expiresIn: '6h' });
    const created = await fetch(`${servers.ours.api}/sessions.create`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'large', playerIds: [] }),
    });
    const createdBody = (await created.json()) as { result?: { data: { sessionId: string } } };
    const result = createdBody.result;
    if (!result) throw new Error(`sessions.create answered ${created.status}: ${JSON.stringify(createdBody)}`);
    const where = 'same emulator endpoint, client bundled with esbuild and run on plain node in its own process';
    const detail = selected('large') ? `${formatBytes(settings.uploadBytes)} file, ${where}` : where;
    if (selected('large')) log(`large uploads: ${formatBytes(settings.uploadBytes)}, ${settings.uploadRounds} round(s)`);
    const large = selected('large')
      ? await runLargeUploadBench({
          fileBytes: settings.uploadBytes,
          rounds: settings.uploadRounds,
          singleApi: servers.ours.api,
          multipartApi: servers.withLimits.api,
          multipartLabel: '16 MiB parts, 4 in parallel',
          token,
          sessionId: result.data.sessionId,
          aws,
          workDir: tmp,
          log,
        })
      : { rows: [], ratio: Number.NaN, raw: {} };
    const twoGib = await runClientMemoryBench({
      fileBytes: 2 * GIB,
      multipartApi: servers.withLimits.api,
      multipartLabel: '16 MiB parts, 4 in parallel',
      token,
      sessionId: result.data.sessionId,
      aws,
      workDir: tmp,
      log,
    });
    report.largeUpload = { rows: large.rows, ratio: large.ratio, detail, twoGib };
    raw.largeUpload = { ...large.raw, twoGib };
    report.notes.push(
      "large uploads: @coach/client uploadVideo from a file path (read from disk a range at a time); peak RSS = the client process's high-water mark (VmHWM); the emulator keeps objects in memory and answers from the same machine (the 2 GiB row: the emulator process holds the whole object, about 2 GiB, until it is deleted after the run)",
    );
  }
  await servers.withLimits?.child.stop();
  await servers.ours?.child.stop();

  if (selected('worker')) {
    const worker = await runWorkerBench({
      clipSeconds: settings.clipSeconds,
      rounds,
      aws,
      cacheDir: path.join(resultsDir, 'clips'),
      log,
    });
    report.worker = worker;
    report.notes.push(
      "worker: createVideoAnalyzer (download from the emulator, probe, ffmpeg frames at 10 fps scaled to 640 px, MoveNet on a pose pool, metrics stored) after one 1 s warm-up clip, bundled with esbuild and run on plain node as the worker's build runs; peak RSS = the process's high-water mark, pose threads included, ffmpeg (a process of its own) not",
    );
  }

  report.notes.push(`client, servers, Postgres and emulator share this machine's ${os.availableParallelism()} cores`);
  report.mode = `${settings.mode}${args['cpu-prof'] ? ' + cpu-prof' : ''}, ${settings.seconds} s per timed run, ${Math.round((Date.now() - started) / 1000)} s total`;

  const table = formatReport(report);
  process.stdout.write(`\n${table}\n`);
  writeFileSync(path.join(resultsDir, 'latest.json'), `${JSON.stringify({ ...report, raw }, null, 2)}\n`);
  log(`wrote ${path.relative(repoRoot, path.join(resultsDir, 'latest.json'))}`);

  for (const profile of api?.profiles ?? []) {
    process.stdout.write(`\nwhere the time goes: ${profile.name} at 50 conn (${path.relative(repoRoot, profile.file)})\n`);
    process.stdout.write(`${summarizeProfile(profile.file, { requests: profile.requests })}\n`);
  }
}
