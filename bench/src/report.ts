import { median, type MachineInfo } from './stats.ts';

export interface ApiRow {
  /** e.g. `upload.initiate (ours)` */
  scenario: string;
  connections: number;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Summed over every round. */
  errors: number;
  /** Server process CPU per 2xx answer (µs). */
  serverCpuMicros: number;
  /** Postgres cluster CPU per 2xx answer (µs); null where /proc cannot be read. */
  postgresCpuMicros: number | null;
}

export interface RatioLine {
  label: string;
  value: number;
  /** e.g. `>= 1.5`, printed next to the value. */
  target?: string;
}

export interface SizeRow {
  label: string;
  declaredBytes: number;
  cpuMicros: number;
}

export interface LargeUploadRow {
  mode: string;
  fileBytes: number;
  seconds: number;
  mbPerSec: number;
  peakRssMiB: number;
  /** RSS of the client process before it started the upload. */
  baselineRssMiB: number;
}

export interface WorkerRow {
  threads: number;
  /** Frames encoded as JPEGs and stored, as `includeFrames` asks. */
  includeFrames: boolean;
  /** CPU of the analysing process and its ffmpeg children during the analysis. */
  cpuSeconds: number;
  /** The ffmpeg children's part of it (decoding, and encoding when frames are stored). */
  ffmpegCpuSeconds: number;
  frames: number;
  reliableFrames: number;
  seconds: number;
  framesPerSec: number;
  /** Analysis time ÷ video duration. */
  realTimeFactor: number;
  peakRssMiB: number;
  poolStartSeconds: number;
  timingsMs: Record<string, number>;
}

export interface BenchReport {
  date: string;
  machine: MachineInfo;
  mode: string;
  rounds: number;
  api: ApiRow[] | null;
  ratios: RatioLine[];
  size: { rows: SizeRow[]; ratio: number; raw?: Record<string, number[]> } | null;
  largeUpload: {
    rows: LargeUploadRow[];
    ratio: number;
    detail: string;
    /** One multipart upload of a 2 GiB file: the client's peak RSS, which must not grow with the file. */
    twoGib?: LargeUploadRow;
  } | null;
  worker: {
    clip: { seconds: number; width: number; height: number; fps: number; model: string };
    rows: WorkerRow[];
    /** Median seconds with frames stored ÷ without, both on two pose threads. */
    framesRatio: number;
    /** The same for CPU seconds (process and ffmpeg), which other load on the machine disturbs less. */
    framesCpuRatio: number;
    /** GET /healthz from another process, every 20 ms, while the analysis with frames ran in the server's process. */
    healthz: HealthzLatency;
  } | null;
  /** Sections left out of this run (`--only`). */
  skipped: string[];
  notes: string[];
}

export interface HealthzLatency {
  samples: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

const pad = (value: string, width: number) => value.padStart(width);
const fixed = (value: number | null, digits: number) =>
  value !== null && Number.isFinite(value) ? value.toFixed(digits) : 'n/a';

/** The terminal table: every figure is a median over the rounds, every ratio from this same run. */
export function formatReport(report: BenchReport): string {
  const m = report.machine;
  const lines = [
    `Coach Plus bench, ${report.date}, ${report.mode}, median of ${report.rounds} round(s)`,
    `machine: ${m.cores} cores (${m.cpuModel}), ${m.memoryGiB} GiB, Node ${m.node}, ${m.platform}`,
  ];
  if (report.api) {
    lines.push(
      '',
      '1-2. API under autocannon on loopback                            cpu us/req',
      `${'scenario'.padEnd(46)}${pad('conns', 6)}${pad('req/s', 7)}${pad('p50 ms', 8)}${pad('p99 ms', 8)}${pad('errors', 7)}${pad('srv', 6)}${pad('pg', 6)}`,
    );
    for (const row of report.api) {
      lines.push(
        `${row.scenario.padEnd(46)}${pad(String(row.connections), 6)}${pad(fixed(row.reqPerSec, 0), 7)}` +
          `${pad(fixed(row.p50Ms, 2), 8)}${pad(fixed(row.p99Ms, 2), 8)}${pad(String(row.errors), 7)}` +
          `${pad(fixed(row.serverCpuMicros, 0), 6)}${pad(fixed(row.postgresCpuMicros, 0), 6)}`,
      );
    }
  }
  if (report.ratios.length > 0) {
    lines.push('');
    for (const r of report.ratios) lines.push(`${r.label}: ${fixed(r.value, 2)}${r.target ? ` (target ${r.target})` : ''}`);
  }
  if (report.size) {
    lines.push('', '3. server CPU per upload (initiate + complete; objects filled by server-side copy):');
    for (const row of report.size.rows) lines.push(`  ${row.label.padEnd(28)}${pad(fixed(row.cpuMicros, 0), 8)} us`);
    lines.push(`  ratio large/small: ${fixed(report.size.ratio, 3)} (target <= 1.05)`);
  }
  if (report.largeUpload) {
    const { rows, ratio, detail, twoGib } = report.largeUpload;
    lines.push('', `4. large upload with uploadVideo, ${detail}:`);
    // `--only client-memory` measures the 2 GiB row alone.
    if (rows.length > 0) {
      lines.push(`  ${'mode'.padEnd(40)}${pad('seconds', 9)}${pad('MB/s', 8)}${pad('peak RSS MiB', 14)}${pad('(at start)', 12)}`);
      for (const row of rows) {
        lines.push(
          `  ${row.mode.padEnd(40)}${pad(fixed(row.seconds, 2), 9)}${pad(fixed(row.mbPerSec, 0), 8)}` +
            `${pad(fixed(row.peakRssMiB, 0), 14)}${pad(fixed(row.baselineRssMiB, 0), 12)}`,
        );
      }
      lines.push(`  multipart / single PUT MB/s: ${fixed(ratio, 2)}`);
    }
    if (twoGib) {
      lines.push(
        `  ${twoGib.mode}: ${fixed(twoGib.seconds, 1)} s, ${fixed(twoGib.mbPerSec, 0)} MB/s, ` +
          `client peak RSS ${fixed(twoGib.peakRssMiB, 0)} MiB (target <= 100), ${fixed(twoGib.baselineRssMiB, 0)} MiB at start; client bundled with esbuild, run on plain node`,
      );
    }
  }
  if (report.worker) {
    const { clip, rows, framesRatio, framesCpuRatio, healthz } = report.worker;
    lines.push(
      '',
      `5. worker analysis of a ${clip.seconds} s ${clip.width}x${clip.height} clip at ${clip.fps} fps, MoveNet ${clip.model}:`,
    );
    lines.push(
      `  ${'pose threads'.padEnd(14)}${pad('stored', 7)}${pad('frames', 8)}${pad('seconds', 9)}${pad('frames/s', 10)}${pad('real-time factor', 18)}` +
        `${pad('peak RSS MiB', 14)}${pad('pose ms/frame', 15)}${pad('CPU s', 8)}${pad('ffmpeg CPU s', 14)}`,
    );
    for (const row of rows) {
      const poseMs = row.timingsMs.poseMs;
      lines.push(
        `  ${String(row.threads).padEnd(14)}${pad(row.includeFrames ? 'yes' : 'no', 7)}${pad(String(row.frames), 8)}${pad(fixed(row.seconds, 2), 9)}` +
          `${pad(fixed(row.framesPerSec, 1), 10)}${pad(fixed(row.realTimeFactor, 3), 18)}${pad(fixed(row.peakRssMiB, 0), 14)}` +
          `${pad(fixed(poseMs === undefined ? null : poseMs / row.frames, 1), 15)}${pad(fixed(row.cpuSeconds, 1), 8)}${pad(fixed(row.ffmpegCpuSeconds, 1), 14)}`,
      );
    }
    // Issue #15's goals: at 10 fps on 2 threads with frames stored.
    const twoThreads = rows.filter((row) => row.threads === 2);
    const storedRtf = twoThreads.filter((row) => row.includeFrames).map((row) => row.realTimeFactor);
    lines.push(
      `  real-time factor, 2 threads, frames stored (median): ${fixed(storedRtf.length > 0 ? median(storedRtf) : null, 3)} (target <= 0.15); ` +
        `peak RSS, 2 threads (highest): ${fixed(Math.max(...twoThreads.map((row) => row.peakRssMiB)), 0)} MiB (target <= 400)`,
    );
    lines.push(
      `  frames stored / not stored (2 threads, medians): ${fixed(framesRatio, 3)} in time, ${fixed(framesCpuRatio, 3)} in CPU (target <= 1.15)`,
    );
    lines.push(
      `  /healthz in the same process during the analysis with frames: p50 ${fixed(healthz.p50Ms, 1)} ms, ` +
        `p99 ${fixed(healthz.p99Ms, 1)} ms, max ${fixed(healthz.maxMs, 1)} ms (${healthz.samples} requests)`,
    );
  }
  if (report.skipped.length > 0) {
    lines.push('', 'not measured in this run:');
    for (const item of report.skipped) lines.push(`  ${item}`);
  }
  lines.push('');
  for (const note of report.notes) lines.push(`note: ${note}`);
  return lines.join('\n');
}
