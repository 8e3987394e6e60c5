// Runs the whole suite and ends with a plain "N passed, N failed, N skipped"
// line, which CI reads (vitest's own summary is not in a form it recognises).
import { runVitest, summaryLine } from './vitest-run.mjs';

const result = runVitest(process.argv.slice(2));
console.log(`\n${summaryLine(result)}`);
process.exit(result.failed > 0 ? 1 : 0);
