import type { MachineInfo } from './stats.ts';

export interface ApiRow {
  /** e.g. `upload.initiate (ours)` */
  scenario: string;
  connections: number;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Summed over every round. */
  errors: number;
}

export interface SizeRow {
  label: string;
  declaredBytes: number;
  cpuMicros: number;
}

export interface BenchReport {
  date: string;
  machine: MachineInfo;
  mode: string;
  rounds: number;
  api: ApiRow[];
  /** ours ÷ ceiling req/s of upload.initiate, per connection count (median of per-round ratios). */
  initiateRatio: { connections: number; ratio: number }[];
  size: { rows: SizeRow[]; ratio: number; raw?: Record<string, number[]> } | null;
  notMeasured: string[];
  notes: string[];
}

export const NOT_YET_MEASURED = [
  '4. large uploads: parallel multipart vs single PUT of the same file (MB/s, client peak RSS)',
  '5. worker: frames/s and real-time factor for a 60 s 1280x720 clip at 10 fps, one vs two threads, peak RSS',
];

const pad = (value: string, width: number) => value.padStart(width);
const fixed = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');

/** The terminal table: every figure is a median over the rounds, every ratio from this same run. */
export function formatReport(report: BenchReport): string {
  const m = report.machine;
  const lines = [
    `Coach Plus bench, ${report.date}, ${report.mode}, median of ${report.rounds} round(s)`,
    `machine: ${m.cores} cores (${m.cpuModel}), ${m.memoryGiB} GiB, Node ${m.node}, ${m.platform}`,
    '',
    `${'scenario'.padEnd(30)}${pad('conns', 6)}${pad('req/s', 9)}${pad('p50 ms', 9)}${pad('p99 ms', 9)}${pad('errors', 8)}`,
  ];
  for (const row of report.api) {
    lines.push(
      `${row.scenario.padEnd(30)}${pad(String(row.connections), 6)}${pad(fixed(row.reqPerSec, 0), 9)}` +
        `${pad(fixed(row.p50Ms, 2), 9)}${pad(fixed(row.p99Ms, 2), 9)}${pad(String(row.errors), 8)}`,
    );
  }
  lines.push('');
  for (const { connections, ratio } of report.initiateRatio) {
    lines.push(`upload.initiate ours/ceiling req/s at ${connections} conn: ${fixed(ratio, 2)} (target >= 1.5)`);
  }
  if (report.size) {
    lines.push('');
    lines.push('server CPU per upload (initiate + complete, single PUT):');
    for (const row of report.size.rows) lines.push(`  ${row.label.padEnd(28)}${pad(fixed(row.cpuMicros, 0), 8)} us`);
    lines.push(`  ratio large/small: ${fixed(report.size.ratio, 3)} (target <= 1.05)`);
  }
  lines.push('');
  lines.push('TODO not yet measured:');
  for (const item of report.notMeasured) lines.push(`  ${item}`);
  for (const note of report.notes) lines.push(`note: ${note}`);
  return lines.join('\n');
}
