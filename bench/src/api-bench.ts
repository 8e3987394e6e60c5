/**
 * Items 1–2 of the bench: upload.initiate and upload.complete of the real
 * server under autocannon, next to the hand-written ceiling, plus initiate
 * with the production limits and storage quota on. Every run also reads the server's and
 * Postgres's CPU, so each row says what one request cost them.
 */
import path from 'node:path';

import { signDevToken } from '@coach/api';

import type { Child } from './child.ts';
import { runLoad, type LoadOptions, type LoadResult } from './load.ts';
import type { ApiRow, RatioLine } from './report.ts';
import type { RunningServer } from './servers.ts';
import { median } from './stats.ts';

export interface ApiBenchSettings {
  rounds: number;
  /** Length of each timed run. */
  seconds: number;
  warmSeconds: number;
  /** Requests per upload.complete run (each on its own uploaded job), per connection count. */
  completeAmount: Record<1 | 50, number>;
  /** Requests per rate-limited initiate run, per connection count. */
  quotaAmount: Record<1 | 50, number>;
  /** upload.complete requests per warm-up run. */
  warmCompletes: number;
}

export interface ApiBenchInput {
  settings: ApiBenchSettings;
  ours: RunningServer;
  /** The same server with the production upload limits. */
  oursWithLimits: RunningServer;
  ceiling: { child: Child; base: string };
  jwtSecret: string;
  postgresCpu: () => number | undefined;
  /** Where to write CPU profiles of one extra run per initiate scenario; none when undefined. */
  profileDir: string | undefined;
  log: (message: string) => void;
}

export interface ApiBenchResult {
  rows: ApiRow[];
  ratios: RatioLine[];
  profiles: { name: string; file: string; requests: number }[];
  raw: Record<string, (LoadResult & { serverCpuMicros: number; postgresCpuMicros: number | null })[]>;
  notes: string[];
}

/** Initiates per user in the rate-limited runs: under both production limits (20 open, 30 a minute). */
const INITIATES_PER_USER = 15;
const SMALL_BYTES = 1_000_000;

const OURS = 'upload.initiate (ours)';
const LIMITS_ON = 'upload.initiate (ours, limits and quota on)';
const LIMITS_OFF_FRESH = 'upload.initiate (ours, limits off, fresh users)';
const STRAIGHTFORWARD = 'upload.initiate (ceiling, straightforward)';
const TUNED_GET_SIGNED_URL = 'upload.initiate (ceiling, tuned, getSignedUrl)';
const TUNED = 'upload.initiate (ceiling, tuned)';

interface Caller {
  token: string;
  sessionId: string;
}

export async function runApiBench(input: ApiBenchInput): Promise<ApiBenchResult> {
  const { settings, ours, oursWithLimits, ceiling, log } = input;
  const call = async <T>(url: string, token: string, body: unknown): Promise<T> => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const json = (await response.json()) as { result?: { data: T } } & T;
    if (!response.ok) throw new Error(`${url} answered ${response.status}: ${JSON.stringify(json)}`);
    return json.result ? json.result.data : json;
  };
  const newCaller = async (api: string, userId: string): Promise<Caller> => {
    const token = await signDevToken(input.jwtSecret, { userId, role: 'coach_pro_plus', expiresIn: '6h' });
    const { sessionId } = await call<{ sessionId: string }>(`${api}/sessions.create`, token, {
      title: 'bench',
      playerIds: ['p1'],
    });
    return { token, sessionId };
  };

  const main = await newCaller(ours.api, 'bench-coach');
  const headers = { authorization: `Bearer ${main.token}` };
  const initiateBody = JSON.stringify({ sessionId: main.sessionId, contentType: 'video/mp4', sizeBytes: SMALL_BYTES });
  const ceilings = {
    straightforward: `${ceiling.base}/initiate/straightforward`,
    tunedGetSignedUrl: `${ceiling.base}/initiate/tuned-get-signed-url`,
    tuned: `${ceiling.base}/initiate/tuned`,
  };

  // Every server must answer the same shape, with URLs signed the same way, before speeds are compared.
  type Initiated = Record<string, unknown> & { presignedUrl: string };
  const samples = {
    ours: await call<Initiated>(`${ours.api}/upload.initiate`, main.token, JSON.parse(initiateBody)),
    withLimits: await call<Initiated>(`${oursWithLimits.api}/upload.initiate`, main.token, JSON.parse(initiateBody)),
    straightforward: await call<Initiated>(ceilings.straightforward, main.token, JSON.parse(initiateBody)),
    tunedGetSignedUrl: await call<Initiated>(ceilings.tunedGetSignedUrl, main.token, JSON.parse(initiateBody)),
    tuned: await call<Initiated>(ceilings.tuned, main.token, JSON.parse(initiateBody)),
  };
  const shape = (o: Initiated) => {
    const url = new URL(o.presignedUrl);
    return [
      Object.keys(o).sort().join(','),
      [...url.searchParams.keys()].sort().join(','),
      url.searchParams.get('X-Amz-SignedHeaders'),
    ].join(' | ');
  };
  for (const [name, sample] of Object.entries(samples)) {
    if (shape(sample) !== shape(samples.ours)) throw new Error(`${name} answers ${shape(sample)}, ours ${shape(samples.ours)}`);
  }

  // Jobs with their bytes stored, so each upload.complete does the full work once.
  const uploadTiny = async (): Promise<string> => {
    const init = await call<{ jobId: string; presignedUrl: string; headers: Record<string, string> }>(
      `${ours.api}/upload.initiate`,
      main.token,
      { sessionId: main.sessionId, contentType: 'video/mp4', sizeBytes: 16 },
    );
    const put = await fetch(init.presignedUrl, { method: 'PUT', headers: init.headers, body: Buffer.alloc(16) });
    if (!put.ok) throw new Error(`PUT answered ${put.status}`);
    return init.jobId;
  };
  const needed =
    settings.rounds * (settings.completeAmount[1] + settings.completeAmount[50]) +
    2 * settings.warmCompletes +
    (input.profileDir ? settings.completeAmount[50] : 0) +
    100;
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
    return JSON.stringify({ jobId: jobIds[nextJob++ % jobIds.length] });
  };

  // Fresh-user runs: users each under both limits, none reused across runs (warm-ups, measured
  // rounds, and the profiled run at 50 connections); the same workload against the server with
  // limits and against the one without, so their ratio is the limits' cost alone.
  const quotaRequests = (settings.rounds + 1) * (settings.quotaAmount[1] + settings.quotaAmount[50]) + settings.quotaAmount[50];
  const quotaUserCount = Math.ceil(quotaRequests / INITIATES_PER_USER) + 4;
  const freshUsers = async (api: string, prefix: string) => {
    log(`preparing ${quotaUserCount} users for the fresh-user runs on ${prefix}`);
    const users: Caller[] = [];
    let nextUserId = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (nextUserId < quotaUserCount) {
          const id = nextUserId++;
          users.push(await newCaller(api, `${prefix}-${id}`));
        }
      }),
    );
    let nextUser = 0;
    return (amount: number) => {
      const count = Math.ceil(amount / INITIATES_PER_USER);
      const picked = users.slice(nextUser, nextUser + count);
      nextUser += count;
      if (picked.length < count) throw new Error(`ran out of fresh bench users (${prefix})`);
      let k = 0;
      return () => {
        const user = picked[k++ % picked.length] as Caller;
        return {
          body: JSON.stringify({ sessionId: user.sessionId, contentType: 'video/mp4', sizeBytes: SMALL_BYTES }),
          headers: { authorization: `Bearer ${user.token}` },
        };
      };
    };
  };
  const limitedBodies = await freshUsers(oursWithLimits.api, 'bench-limited');
  const unlimitedBodies = await freshUsers(ours.api, 'bench-unlimited');

  interface Scenario {
    name: string;
    connections: 1 | 50;
    server: Child;
    load: (mode: 'warm' | 'measure') => LoadOptions;
  }
  const scenarios: Scenario[] = [];
  for (const connections of [1, 50] as const) {
    const freshUserLoad =
      (api: string, bodies: typeof limitedBodies) =>
      (mode: 'warm' | 'measure'): LoadOptions => {
        const amount = mode === 'warm' ? Math.min(settings.quotaAmount[connections], 100) : settings.quotaAmount[connections];
        return { url: `${api}/upload.initiate`, headers: {}, connections, amount, body: bodies(amount) };
      };
    const timed =
      (url: string) =>
      (mode: 'warm' | 'measure'): LoadOptions => ({
        url,
        headers,
        connections,
        body: initiateBody,
        durationSeconds: mode === 'warm' ? settings.warmSeconds : settings.seconds,
      });
    scenarios.push(
      { name: OURS, connections, server: ours.child, load: timed(`${ours.api}/upload.initiate`) },
      { name: LIMITS_ON, connections, server: oursWithLimits.child, load: freshUserLoad(oursWithLimits.api, limitedBodies) },
      { name: LIMITS_OFF_FRESH, connections, server: ours.child, load: freshUserLoad(ours.api, unlimitedBodies) },
      { name: STRAIGHTFORWARD, connections, server: ceiling.child, load: timed(ceilings.straightforward) },
      { name: TUNED_GET_SIGNED_URL, connections, server: ceiling.child, load: timed(ceilings.tunedGetSignedUrl) },
      { name: TUNED, connections, server: ceiling.child, load: timed(ceilings.tuned) },
      {
        name: 'upload.complete (ours)',
        connections,
        server: ours.child,
        load: (mode) => ({
          url: `${ours.api}/upload.complete`,
          headers,
          connections,
          amount: mode === 'warm' ? Math.max(settings.warmCompletes, 2 * connections) : settings.completeAmount[connections],
          body: completeBody,
        }),
      },
    );
  }

  const measure = async (s: Scenario, mode: 'warm' | 'measure') => {
    const pg0 = input.postgresCpu();
    const cpu0 = await s.server.cpuMicros();
    const result = await runLoad(s.load(mode));
    const cpu1 = await s.server.cpuMicros();
    const pg1 = input.postgresCpu();
    const perRequest = (micros: number) => micros / Math.max(1, result.ok);
    return {
      ...result,
      serverCpuMicros: perRequest(cpu1 - cpu0),
      postgresCpuMicros: pg0 === undefined || pg1 === undefined ? null : perRequest(pg1 - pg0),
    };
  };

  log('warming up');
  for (const s of scenarios) await measure(s, 'warm');

  const results = new Map<Scenario, Awaited<ReturnType<typeof measure>>[]>(scenarios.map((s) => [s, []]));
  for (let round = 0; round < settings.rounds; round++) {
    // Alternate who goes first, so drift on a shared machine favours nobody.
    const order = round % 2 === 0 ? scenarios : [...scenarios].reverse();
    for (const s of order) {
      log(`round ${round + 1}/${settings.rounds}: ${s.name} at ${s.connections} conn`);
      results.get(s)?.push(await measure(s, 'measure'));
    }
  }

  const runsOf = (name: string, connections: number) =>
    results.get(scenarios.find((s) => s.name === name && s.connections === connections) as Scenario) ?? [];
  const rows: ApiRow[] = scenarios.map((s) => {
    const runs = results.get(s) ?? [];
    const pgRuns = runs.map((r) => r.postgresCpuMicros).filter((v): v is number => v !== null);
    return {
      scenario: s.name,
      connections: s.connections,
      reqPerSec: median(runs.map((r) => r.reqPerSec)),
      p50Ms: median(runs.map((r) => r.p50Ms)),
      p99Ms: median(runs.map((r) => r.p99Ms)),
      errors: runs.reduce((sum, r) => sum + r.errors, 0),
      serverCpuMicros: median(runs.map((r) => r.serverCpuMicros)),
      postgresCpuMicros: pgRuns.length > 0 ? median(pgRuns) : null,
    };
  });
  /** Median over rounds of a / b req/s, each pair measured in the same round. */
  const ratio = (a: string, b: string, connections: number) => {
    const x = runsOf(a, connections);
    const y = runsOf(b, connections);
    return median(x.map((r, i) => r.reqPerSec / (y[i]?.reqPerSec ?? Number.NaN)));
  };
  const ratios: RatioLine[] = [];
  for (const connections of [1, 50]) {
    ratios.push({
      label: `upload.initiate ours / ceiling (straightforward) req/s at ${connections} conn`,
      value: ratio(OURS, STRAIGHTFORWARD, connections),
      target: '>= 1.5',
    });
  }
  for (const [name, short] of [
    [TUNED_GET_SIGNED_URL, 'tuned, getSignedUrl'],
    [TUNED, 'tuned'],
  ] as const) {
    for (const connections of [1, 50]) {
      ratios.push({
        label: `upload.initiate ours / ceiling (${short}) req/s at ${connections} conn`,
        value: ratio(OURS, name, connections),
      });
    }
  }
  /** Median over rounds of b's CPU per request / a's (server or Postgres): > 1 means a costs less. */
  const cpuRatio = (a: string, b: string, connections: number, of: 'serverCpuMicros' | 'postgresCpuMicros') => {
    const x = runsOf(a, connections);
    const y = runsOf(b, connections);
    return median(x.map((r, i) => (y[i]?.[of] ?? Number.NaN) / (r[of] ?? Number.NaN)));
  };
  for (const connections of [1, 50]) {
    ratios.push({
      label: `upload.initiate server CPU per request, ceiling (straightforward) / ours, at ${connections} conn`,
      value: cpuRatio(OURS, STRAIGHTFORWARD, connections, 'serverCpuMicros'),
    });
  }
  for (const connections of [1, 50]) {
    ratios.push({
      label: `upload.initiate Postgres CPU per request, ceiling (straightforward) / ours, at ${connections} conn`,
      value: cpuRatio(OURS, STRAIGHTFORWARD, connections, 'postgresCpuMicros'),
    });
  }
  for (const connections of [1, 50]) {
    ratios.push({
      label: `upload.initiate limits and quota on / off (one user, fixed body) req/s at ${connections} conn`,
      value: ratio(LIMITS_ON, OURS, connections),
    });
  }
  for (const connections of [1, 50]) {
    ratios.push({
      label: `upload.initiate limits and quota on / off, same fresh-user workload, req/s at ${connections} conn`,
      value: ratio(LIMITS_ON, LIMITS_OFF_FRESH, connections),
      target: '>= 0.85',
    });
  }

  const profiles: ApiBenchResult['profiles'] = [];
  if (input.profileDir) {
    // One extra run per scenario at 50 connections, profiled alone; the figures above stay unprofiled.
    for (const s of scenarios.filter((x) => x.connections === 50)) {
      const file = path.join(input.profileDir, `${s.name.replace(/[^a-zA-Z0-9.]+/g, '-').replace(/-+$/, '')}.cpuprofile`);
      log(`profiling ${s.name} at 50 conn`);
      await s.server.startProfile();
      const result = await runLoad(s.load('measure'));
      await s.server.stopProfile(file);
      profiles.push({ name: s.name, file, requests: result.ok });
    }
  }

  const notes = [
    `upload.complete runs on distinct uploaded jobs (${settings.completeAmount[1]} / ${settings.completeAmount[50]} requests per round at 1 / 50 conn)` +
      (reusedJobs > 0 ? `; ${reusedJobs} requests reused a completed job` : ''),
    `limits and quota on = the production defaults (30 initiates a minute per user, 20 open uploads and 50 GiB per owner); it and "limits off, fresh users" (the server without limits) send ${settings.quotaAmount[1]} / ${settings.quotaAmount[50]} requests per run spread over fresh users making ${INITIATES_PER_USER} each (a token and an owner each, a body built per request); the other initiate rows use one user, one owner and one token and a fixed body, with no limit and no quota (usage still counted; ours verifies a token's signature once and keeps the result for up to 60 s; the ceiling verifies every request)`,
    'cpu us/req = CPU time of the server process (srv) and of the whole Postgres cluster (pg) per 2xx answer, read around each run',
  ];
  const raw = Object.fromEntries(scenarios.map((s) => [`${s.name} @${s.connections}`, results.get(s) ?? []]));
  return { rows, ratios, profiles, raw, notes };
}
