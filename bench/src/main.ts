/**
 * `pnpm bench [--quick] [--cpu-prof] [--rounds N]`: the real API server
 * (NODE_ENV=production, in its own process) on embedded Postgres and the
 * S3/SQS emulator (in its own process), loaded with autocannon on loopback,
 * next to a hand-written ceiling server doing the same work. Prints a table
 * and writes bench/results/latest.json.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { DeleteObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { signDevToken } from '@coach/api';
import { findFreePort, startLocalPostgres } from '@coach/local-stack';

import { startChild, type Child } from './child.ts';
import { runLoad, type LoadResult } from './load.ts';
import { summarizeProfile } from './profile.ts';
import { formatReport, NOT_YET_MEASURED, type ApiRow, type BenchReport, type SizeRow } from './report.ts';
import { machineInfo, median } from './stats.ts';

const { values: args } = parseArgs({
  // `pnpm bench -- --quick` passes a lone `--` through.
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: {
    quick: { type: 'boolean', default: false },
    'cpu-prof': { type: 'boolean', default: false },
    rounds: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  process.stdout.write('pnpm bench [--quick] [--cpu-prof] [--rounds N]\n');
  process.exit(0);
}

const MIB = 1024 ** 2;
const GIB = 1024 ** 3;
const settings = args.quick
  ? { mode: 'quick', rounds: 1, seconds: 2, completeAmount: { 1: 200, 50: 1000 }, largeBytes: 256 * MIB, sizeRounds: 5, warmSeconds: 1 }
  : { mode: 'default', rounds: 3, seconds: 5, completeAmount: { 1: 1000, 50: 5000 }, largeBytes: GIB, sizeRounds: 9, warmSeconds: 3 };
const rounds = args.rounds ? Math.max(1, Number(args.rounds)) : settings.rounds;
const SMALL_BYTES = 1_000_000;

const benchDir = path.resolve(import.meta.dirname, '..');
const repoRoot = path.resolve(benchDir, '..');
const resultsDir = path.join(benchDir, 'results');
const profileDir = path.join(resultsDir, 'profiles');
const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);

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
  const profNodeArgs = (name: string) =>
    args['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${name}.cpuprofile`] : [];
  if (args['cpu-prof']) {
    rmSync(profileDir, { recursive: true, force: true });
    mkdirSync(profileDir, { recursive: true });
  }

  log('starting embedded Postgres and the emulator');
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'coach-bench-'));
  cleanups.push(async () => rmSync(tmp, { recursive: true, force: true }));
  const pg = await startLocalPostgres({ dataDir: path.join(tmp, 'postgres'), persistent: false, database: 'coach_bench' });
  cleanups.push(() => pg.stop());
  const awsChild = await startChild({
    label: 'emulator',
    script: path.join(benchDir, 'src/aws-child.ts'),
    cwd: benchDir,
    env: {},
    readyLine: /^(\{"ready":true.*\})$/,
  });
  cleanups.push(() => awsChild.stop());
  const aws = JSON.parse(awsChild.readyMatch[1] ?? '{}') as { endpoint: string; bucket: string; queueUrl: string; dlqUrl: string };

  const secret = randomBytes(32).toString('hex');
  const serverPort = await findFreePort();
  log('starting the API server (NODE_ENV=production, worker not in process)');
  const server = await startChild({
    label: 'API server',
    script: path.join(repoRoot, 'apps/server/src/main.ts'),
    cwd: path.join(repoRoot, 'apps/server'),
    nodeArgs: profNodeArgs('server'),
    readyLine: /Coach Plus API listening on (http:\/\/\S+)/,
    env: {
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(serverPort),
      LOG_LEVEL: 'warn',
      DATABASE_URL: pg.url,
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL: aws.endpoint,
      AWS_ACCESS_KEY_ID: 'bench',
      AWS_SECRET_ACCESS_KEY: 'bench',
      S3_COACH_VIDEOS_BUCKET: aws.bucket,
      SQS_VIDEO_ANALYSIS_QUEUE_URL: aws.queueUrl,
      SQS_VIDEO_ANALYSIS_DLQ_URL: aws.dlqUrl,
      WORKER_IN_PROCESS: 'false',
      CORS_ORIGINS: 'http://bench.invalid',
      AUTH_JWT_SECRET: secret,
      // Single PUTs up to 5 GiB, so the size item compares two single-PUT uploads.
      MULTIPART_THRESHOLD_BYTES: String(5 * GIB),
      // Per-user quotas off (0 = no limit): one bench user makes thousands of uploads a minute.
      RATE_LIMIT_INITIATES_PER_MINUTE: '0',
      MAX_OPEN_UPLOADS: '0',
    },
  });
  cleanups.push(() => server.stop());
  const api = `http://127.0.0.1:${serverPort}/trpc`;

  const ceilingPort = await findFreePort();
  const ceiling = await startChild({
    label: 'ceiling server',
    script: path.join(benchDir, 'src/ceiling-server.ts'),
    cwd: benchDir,
    nodeArgs: profNodeArgs('ceiling'),
    readyLine: /ceiling listening on (\S+)/,
    env: {
      BENCH_PORT: String(ceilingPort),
      BENCH_DATABASE_URL: pg.url,
      BENCH_AWS_ENDPOINT: aws.endpoint,
      BENCH_BUCKET: aws.bucket,
      BENCH_JWT_SECRET: secret,
    },
  });
  cleanups.push(() => ceiling.stop());
  const ceilingUrl = `http://127.0.0.1:${ceilingPort}/initiate`;

  const token = await signDevToken(secret, { userId: 'bench-coach', role: 'coach_pro_plus', expiresIn: '6h' });
  const headers = { authorization: `Bearer ${token}` };
  const call = async <T>(url: string, input: unknown): Promise<T> => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify(input),
    });
    const body = (await response.json()) as { result?: { data: T } } & T;
    if (!response.ok) throw new Error(`${url} answered ${response.status}: ${JSON.stringify(body)}`);
    return body.result ? body.result.data : body;
  };
  const { sessionId } = await call<{ sessionId: string }>(`${api}/sessions.create`, { title: 'bench', playerIds: ['p1'] });
  const initiateBody = JSON.stringify({ sessionId, contentType: 'video/mp4', sizeBytes: SMALL_BYTES });

  // Both servers must answer the same shape before their speeds are compared.
  const oursSample = await call<Record<string, unknown>>(`${api}/upload.initiate`, JSON.parse(initiateBody));
  const ceilingSample = await call<Record<string, unknown>>(ceilingUrl, JSON.parse(initiateBody));
  const keys = (o: Record<string, unknown>) => Object.keys(o).sort().join(',');
  if (keys(oursSample) !== keys(ceilingSample)) {
    throw new Error(`ceiling answers ${keys(ceilingSample)}, ours ${keys(oursSample)}`);
  }

  type Uploaded = { jobId: string };
  const uploadTiny = async (): Promise<string> => {
    const init = await call<{ jobId: string; presignedUrl: string; headers: Record<string, string> }>(
      `${api}/upload.initiate`,
      { sessionId, contentType: 'video/mp4', sizeBytes: 16 },
    );
    const put = await fetch(init.presignedUrl, { method: 'PUT', headers: init.headers, body: Buffer.alloc(16) });
    if (!put.ok) throw new Error(`PUT answered ${put.status}`);
    return init.jobId;
  };
  const WARM_COMPLETES = 200;
  const needed = rounds * (settings.completeAmount[1] + settings.completeAmount[50]) + 2 * WARM_COMPLETES + 500;
  log(`preparing ${needed} uploaded jobs for upload.complete`);
  const jobIds: string[] = [];
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (jobIds.length < needed) jobIds.push(await uploadTiny());
    }),
  );
  let nextJob = 0;
  let reusedJobs = 0;
  const completeBody = () => {
    if (nextJob >= jobIds.length) reusedJobs += 1;
    const id = jobIds[nextJob++ % jobIds.length] as string;
    return JSON.stringify({ jobId: id } satisfies Uploaded);
  };

  type Scenario = { name: string; connections: 1 | 50; run: () => Promise<LoadResult> };
  const scenarios: Scenario[] = [];
  for (const connections of [1, 50] as const) {
    const timed = { connections, durationSeconds: settings.seconds, headers };
    scenarios.push(
      { name: 'upload.initiate (ours)', connections, run: () => runLoad({ ...timed, url: `${api}/upload.initiate`, body: initiateBody }) },
      { name: 'upload.initiate (ceiling)', connections, run: () => runLoad({ ...timed, url: ceilingUrl, body: initiateBody }) },
      {
        name: 'upload.complete (ours)',
        connections,
        run: () =>
          runLoad({ connections, headers, amount: settings.completeAmount[connections], url: `${api}/upload.complete`, body: completeBody }),
      },
    );
  }

  log('warming up');
  for (const s of scenarios) {
    if (s.name.includes('complete')) {
      await runLoad({ connections: s.connections, headers, amount: WARM_COMPLETES, url: `${api}/upload.complete`, body: completeBody });
    }
    else await runLoad({ connections: s.connections, headers, durationSeconds: settings.warmSeconds, url: s.name.includes('ceiling') ? ceilingUrl : `${api}/upload.initiate`, body: initiateBody });
  }

  const results = new Map<Scenario, LoadResult[]>(scenarios.map((s) => [s, []]));
  for (let round = 0; round < rounds; round++) {
    // Alternate who goes first, so drift on a shared machine favours neither.
    const order = round % 2 === 0 ? scenarios : [...scenarios].reverse();
    for (const s of order) {
      log(`round ${round + 1}/${rounds}: ${s.name} at ${s.connections} conn`);
      results.get(s)?.push(await s.run());
    }
  }

  const apiRows: ApiRow[] = scenarios.map((s) => {
    const runs = results.get(s) ?? [];
    return {
      scenario: s.name,
      connections: s.connections,
      reqPerSec: median(runs.map((r) => r.reqPerSec)),
      p50Ms: median(runs.map((r) => r.p50Ms)),
      p99Ms: median(runs.map((r) => r.p99Ms)),
      errors: runs.reduce((sum, r) => sum + r.errors, 0),
    };
  });
  const initiateRatio = ([1, 50] as const).map((connections) => {
    const ours = results.get(scenarios.find((s) => s.connections === connections && s.name === 'upload.initiate (ours)') as Scenario) ?? [];
    const ceil = results.get(scenarios.find((s) => s.connections === connections && s.name === 'upload.initiate (ceiling)') as Scenario) ?? [];
    return { connections, ratio: median(ours.map((r, i) => r.reqPerSec / (ceil[i]?.reqPerSec ?? Number.NaN))) };
  });

  log(`size independence: ${formatBytes(SMALL_BYTES)} vs ${formatBytes(settings.largeBytes)}, ${settings.sizeRounds} rounds`);
  const size = await measureSizeIndependence({ api, call, sessionId, server, aws, largeBytes: settings.largeBytes, rounds: settings.sizeRounds });

  await ceiling.stop();
  await server.stop();
  const notes = [
    'ours = apps/server/src/main.ts under tsx (the product has no bundled build), NODE_ENV=production, LOG_LEVEL=warn, worker and upload quotas off',
    'ceiling = bench/src/ceiling-server.ts: Fastify + jose (pre-imported key) + zod + one pg INSERT ... SELECT + getSignedUrl, no tRPC, no layering',
    'ratio ours/ceiling = median over rounds of (ours req/s / ceiling req/s) measured back to back; > 1 means ours is faster',
    `upload.complete runs on distinct uploaded jobs (${settings.completeAmount[1]} / ${settings.completeAmount[50]} requests per round at 1 / 50 conn)` +
      (reusedJobs > 0 ? `; ${reusedJobs} requests reused a completed job` : ''),
    `client, servers, Postgres and emulator share this machine's ${os.availableParallelism()} cores`,
  ];
  if (args['cpu-prof']) notes.push('profiled run (--cpu-prof): absolute figures and ratios are skewed by the profiler');

  const report: BenchReport = {
    date: new Date().toISOString(),
    machine: machineInfo(),
    mode: `${settings.mode}${args['cpu-prof'] ? ' + cpu-prof' : ''}, ${settings.seconds} s per timed run, ${Math.round((Date.now() - started) / 1000)} s total`,
    rounds,
    api: apiRows,
    initiateRatio,
    size,
    notMeasured: NOT_YET_MEASURED,
    notes,
  };
  const table = formatReport(report);
  process.stdout.write(`\n${table}\n`);
  writeFileSync(path.join(resultsDir, 'latest.json'), `${JSON.stringify({ ...report, raw: Object.fromEntries(scenarios.map((s) => [`${s.name} @${s.connections}`, results.get(s)])) }, null, 2)}\n`);
  log(`wrote ${path.relative(repoRoot, path.join(resultsDir, 'latest.json'))}`);

  if (args['cpu-prof']) {
    for (const file of readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile'))) {
      process.stdout.write(`\nwhere the time goes: ${file} (self time by package, idle excluded)\n`);
      process.stdout.write(`${summarizeProfile(path.join(profileDir, file))}\n`);
    }
  }
}

/**
 * Server CPU (read over IPC, µs) for initiate + complete of one single-PUT
 * upload, small and large alternately; the PUT itself goes to the emulator's
 * process and is not counted. Each object is deleted after its round.
 */
async function measureSizeIndependence(p: {
  api: string;
  call: <T>(url: string, input: unknown) => Promise<T>;
  sessionId: string;
  server: Child;
  aws: { endpoint: string; bucket: string };
  largeBytes: number;
  rounds: number;
}): Promise<{ rows: SizeRow[]; ratio: number; raw: Record<string, number[]> }> {
  const s3 = new S3Client({
    region: 'us-east-1',
    endpoint: p.aws.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  });
  const bodies = new Map<number, Buffer>([
    [SMALL_BYTES, Buffer.alloc(SMALL_BYTES, 1)],
    [SMALL_BYTES + 1, Buffer.alloc(SMALL_BYTES + 1, 1)],
    [p.largeBytes, Buffer.alloc(p.largeBytes, 1)],
  ]);
  type Started = { bytes: number; jobId: string; s3Key: string; cpu: number };
  const initiate = async (bytes: number): Promise<Started & { presignedUrl: string; headers: Record<string, string> }> => {
    const c0 = await p.server.cpuMicros();
    const init = await p.call<{ jobId: string; presignedUrl: string; headers: Record<string, string>; s3Key: string }>(
      `${p.api}/upload.initiate`,
      { sessionId: p.sessionId, contentType: 'video/mp4', sizeBytes: bytes },
    );
    return { ...init, bytes, cpu: (await p.server.cpuMicros()) - c0 };
  };
  const complete = async (upload: Started): Promise<number> => {
    const c0 = await p.server.cpuMicros();
    const done = await p.call<{ status: string }>(`${p.api}/upload.complete`, { jobId: upload.jobId });
    const cpu = (await p.server.cpuMicros()) - c0;
    if (done.status !== 'queued') throw new Error(`upload.complete answered status ${done.status}`);
    await s3.send(new DeleteObjectCommand({ Bucket: p.aws.bucket, Key: upload.s3Key }));
    return upload.cpu + cpu;
  };
  // One round: initiate both, PUT both, complete both, in alternating order, so the
  // two uploads share the same idle gaps and cache state (a large PUT elsewhere on
  // the machine evicts the server's caches; that must not be charged to one size).
  const round = async (order: number[]): Promise<Map<number, number>> => {
    const started = [];
    for (const bytes of order) started.push(await initiate(bytes));
    for (const upload of started) {
      const put = await fetch(upload.presignedUrl, { method: 'PUT', headers: upload.headers, body: bodies.get(upload.bytes) });
      if (!put.ok) throw new Error(`PUT of ${upload.bytes} bytes answered ${put.status}`);
    }
    const cpu = new Map<number, number>();
    for (const upload of started) cpu.set(upload.bytes, await complete(upload));
    return cpu;
  };
  for (let i = 0; i < 10; i++) await round([SMALL_BYTES, SMALL_BYTES + 1]);
  const samples = new Map<number, number[]>([
    [SMALL_BYTES, []],
    [p.largeBytes, []],
  ]);
  for (let r = 0; r < p.rounds; r++) {
    const cpu = await round(r % 2 === 0 ? [SMALL_BYTES, p.largeBytes] : [p.largeBytes, SMALL_BYTES]);
    for (const [bytes, micros] of cpu) samples.get(bytes)?.push(micros);
  }
  s3.destroy();
  const raw = Object.fromEntries([...samples].map(([bytes, micros]) => [String(bytes), micros]));
  const small = median(samples.get(SMALL_BYTES) ?? []);
  const large = median(samples.get(p.largeBytes) ?? []);
  return {
    rows: [
      { label: `${formatBytes(SMALL_BYTES)} declared`, declaredBytes: SMALL_BYTES, cpuMicros: small },
      { label: `${formatBytes(p.largeBytes)} declared`, declaredBytes: p.largeBytes, cpuMicros: large },
    ],
    ratio: large / small,
    raw,
  };
}

function formatBytes(bytes: number): string {
  if (bytes >= GIB) return `${bytes / GIB} GiB`;
  if (bytes >= MIB && bytes % MIB === 0) return `${bytes / MIB} MiB`;
  return `${bytes / 1e6} MB`;
}
