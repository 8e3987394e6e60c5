// Runs the whole suite and ends with a plain "N passed, N failed, N skipped"
// line, which CI reads (vitest's own summary is not in a form it recognises).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const report = path.join(root, 'test-results', 'vitest.json');
mkdirSync(path.dirname(report), { recursive: true });

const vitest = path.join(root, 'node_modules', '.bin', 'vitest');
const run = spawnSync(
  vitest,
  ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...process.argv.slice(2)],
  { cwd: root, stdio: 'inherit' },
);

let summary;
try {
  const json = JSON.parse(readFileSync(report, 'utf8'));
  const skipped = json.numPendingTests + json.numTodoTests;
  summary = `${json.numPassedTests} passed, ${json.numFailedTests} failed, ${skipped} skipped`;
  // A file that fails to load, or a failing global setup, has no failed test but fails the run.
  const failed = json.numFailedTests || (run.status === 0 ? 0 : Math.max(1, json.numFailedTestSuites));
  summary = `${json.numPassedTests} passed, ${failed} failed, ${skipped} skipped`;
} catch {
  summary = '0 passed, 1 failed';
}
console.log(`\n${summary}`);
process.exit(run.status ?? 1);
