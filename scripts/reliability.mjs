// Runs the reliability scenarios (every *.reliability.test.ts) and prints the
// figures each one recorded as one table, then the plain "N passed, N failed,
// N skipped" line CI reads.
//
//   pnpm test:reliability                 CI scale (what every `pnpm test` runs)
//   pnpm test:reliability --full          full scale
//   pnpm test:reliability --write-doc     also rewrite the table in docs/reliability.md
//   pnpm test:reliability <text…>         only scenario files whose path contains one of these; other flags go to vitest
//
// Fails when a test fails, when no scenario recorded figures, or when a row
// shows a lost or duplicated job, or a 5xx the scenario did not cause on purpose
// (`expected5xx`); each such row counts as one failure in the closing line.
import { existsSync, globSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { root, runVitest, summaryLine } from './vitest-run.mjs';

const DOC = path.join(root, 'docs', 'reliability.md');
const START = '<!-- reliability-table:start -->';
const END = '<!-- reliability-table:end -->';

const argv = process.argv.slice(2);
const full = argv.includes('--full');
const writeDoc = argv.includes('--write-doc');
const passThrough = argv.filter((a) => a !== '--full' && a !== '--write-doc' && a !== '--');
const filters = passThrough.filter((a) => !a.startsWith('-'));
const flags = passThrough.filter((a) => a.startsWith('-'));
const scale = full ? 'full' : 'ci';

const outDir = path.join(root, 'test-results', 'reliability');
mkdirSync(outDir, { recursive: true });
const startedAt = new Date();
const loadAtStart = Math.round(os.loadavg()[0] * 10) / 10;
const reportFile = path.join(outDir, `run-${startedAt.toISOString().replace(/[:.]/g, '-')}-${process.pid}.jsonl`);
writeFileSync(reportFile, '');

// Vitest ORs its filters, so the scenario files are chosen here and passed by path.
const scenarioFiles = globSync('**/*.reliability.test.ts', { cwd: root, exclude: (name) => name === 'node_modules' })
  .filter((file) => filters.length === 0 || filters.some((f) => file.includes(f)))
  .sort();
if (scenarioFiles.length === 0) {
  console.error(`No *.reliability.test.ts file matches ${filters.join(', ')}.`);
  console.log(`\n${summaryLine({ passed: 0, failed: 1, skipped: 0 })}`);
  process.exit(1);
}

const result = runVitest([...scenarioFiles, ...flags], {
  env: { RELIABILITY_SCALE: scale, RELIABILITY_REPORT_FILE: reportFile },
});

const rows = readFileSync(reportFile, 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => JSON.parse(line));

/** Why a row is a failure, or undefined. */
function breach(row) {
  const reasons = [];
  if (row.lost > 0) reasons.push(`${row.lost} lost`);
  if (row.duplicated > 0) reasons.push(`${row.duplicated} duplicated`);
  if (row.http5xx > 0 && row.expected5xx !== true) reasons.push(`${row.http5xx} unexpected 5xx`);
  return reasons.length > 0 ? reasons.join(', ') : undefined;
}
const breaches = rows.flatMap((row) => {
  const why = breach(row);
  return why ? [`${row.scenario}: ${why}`] : [];
});

const files = (result.json?.testResults ?? []).map((file) => ({
  file: path.relative(root, file.name),
  status: file.status,
  seconds: Math.round((file.endTime - file.startTime) / 100) / 10,
}));

const COLUMNS = [
  ['scenario', (r) => r.scenario],
  ['scale', (r) => r.scale],
  ['requests', (r) => r.requests],
  ['jobs', (r) => r.jobs],
  ['messages', (r) => r.messages],
  ['results', (r) => r.results],
  ['lost', (r) => r.lost],
  ['duplicated', (r) => r.duplicated],
  ['5xx', (r) => (r.expected5xx ? `${r.http5xx} (expected)` : r.http5xx)],
  ['notes', (r) => r.notes ?? ''],
];
const cells = rows.map((row) => COLUMNS.map(([, get]) => String(get(row))));

function terminalTable() {
  const widths = COLUMNS.map(([title], i) =>
    Math.max(title.length, ...cells.map((c) => (i === COLUMNS.length - 1 ? 0 : c[i].length))),
  );
  const line = (values) => values.map((v, i) => (i === values.length - 1 ? v : v.padEnd(widths[i]))).join('  ');
  return [line(COLUMNS.map(([title]) => title)), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

function markdownTable() {
  const escape = (v) => v.replace(/\|/g, '\\|');
  return [
    `| ${COLUMNS.map(([title]) => title).join(' | ')} |`,
    `| ${COLUMNS.map(() => '---').join(' | ')} |`,
    ...cells.map((c) => `| ${c.map(escape).join(' | ')} |`),
  ].join('\n');
}

const machine = {
  cores: os.cpus().length,
  cpu: os.cpus()[0]?.model?.trim() ?? 'unknown',
  node: process.version,
  platform: `${os.platform()} ${os.arch()}`,
  // Throughput figures depend on what else the machine was doing.
  loadAverageAtStart: loadAtStart,
};
const failed = result.failed + breaches.length + (rows.length === 0 ? 1 : 0);
const summary = { passed: result.passed, failed, skipped: result.skipped };

console.log(`\nReliability scenarios at ${scale} scale (${machine.cores} cores, Node ${machine.node})\n`);
console.log(rows.length > 0 ? terminalTable() : '(no scenario recorded figures)');
if (files.length > 0) {
  console.log('\nDuration by file:');
  for (const f of files)
    console.log(`  ${f.seconds.toFixed(1).padStart(6)} s  ${f.file}${f.status === 'passed' ? '' : ` (${f.status})`}`);
}
for (const b of breaches) console.error(`breach: ${b}`);
if (rows.length === 0) console.error('No scenario recorded figures: were any reliability files selected?');

writeFileSync(
  path.join(outDir, 'latest.json'),
  `${JSON.stringify({ date: startedAt.toISOString(), scale, machine, tests: { passed: result.passed, failed: result.failed, skipped: result.skipped }, breaches, files, rows }, null, 2)}\n`,
);

if (writeDoc) {
  if (!existsSync(DOC)) throw new Error(`${path.relative(root, DOC)} does not exist`);
  const doc = readFileSync(DOC, 'utf8');
  const start = doc.indexOf(START);
  const end = doc.indexOf(END);
  if (start < 0 || end < start) throw new Error(`${path.relative(root, DOC)} has no ${START} … ${END} section`);
  const section = [
    START,
    `Run of ${startedAt.toISOString().slice(0, 10)} at \`${scale}\` scale on ${machine.cores} cores (${machine.cpu}, load average ${machine.loadAverageAtStart} at the start), Node ${machine.node}, ${machine.platform}: ${summaryLine(summary)}.`,
    '',
    markdownTable(),
    '',
    `Time per file: ${files.map((f) => `\`${f.file}\` ${f.seconds.toFixed(1)} s`).join(', ')}.`,
    END,
  ].join('\n');
  writeFileSync(DOC, doc.slice(0, start) + section + doc.slice(end + END.length));
  console.log(`\nWrote the table to ${path.relative(root, DOC)}.`);
}

console.log(`\n${summaryLine(summary)}`);
process.exit(failed > 0 ? 1 : 0);
