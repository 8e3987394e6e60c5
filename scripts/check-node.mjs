// Stops `pnpm install` and `pnpm dev` on a Node.js older than the project
// needs, saying which version it needs and how to get it. pnpm itself only
// warns about `engines`, and an older Node fails later with errors that do
// not name the version (`ERR_UNKNOWN_BUILTIN_MODULE: node:sqlite`). Written for
// any Node still in use: no syntax or API newer than Node 12.
import { pathToFileURL } from 'url';

/** The oldest Node.js the project runs on (kept equal to `engines.node` in package.json). */
export const MINIMUM_NODE = '22.5.0';

/** How to get a suitable Node and pnpm into the checkout without touching the system (as .ci/run does). */
export const HOW_TO_GET_NODE =
  'npm install --prefix .tools node@24 pnpm@12.21.0\n' +
  '  export PATH="$PWD/.tools/node_modules/.bin:$PATH"\n' +
  'then run the command again (the README says more under "Two commands").';

function parts(version) {
  return String(version)
    .replace(/^v/, '')
    .split('.')
    .map((n) => Number.parseInt(n, 10) || 0);
}

/** Undefined when `version` is recent enough, else the message to print. */
export function nodeVersionProblem(version, executable) {
  const have = parts(version);
  const need = parts(MINIMUM_NODE);
  for (let i = 0; i < 3; i++) {
    if ((have[i] || 0) > need[i]) return undefined;
    if ((have[i] || 0) < need[i]) {
      return (
        'Coach Plus needs Node.js ' +
        MINIMUM_NODE.replace(/\.0$/, '') +
        ' or newer (24 recommended); this is Node.js ' +
        String(version).replace(/^v/, '') +
        (executable ? ' (' + executable + ')' : '') +
        '.\n' +
        'Get Node 24 and pnpm 12 into this checkout, without changing the system:\n  ' +
        HOW_TO_GET_NODE
      );
    }
  }
  return undefined;
}

/** Prints the message and ends the process when this Node is too old; does nothing otherwise. */
function exitIfNodeTooOld() {
  const problem = nodeVersionProblem(process.versions.node, process.execPath);
  if (problem) {
    process.stderr.write('\n' + problem + '\n\n');
    process.exit(1);
  }
}

// Run as a script (`node scripts/check-node.mjs`) or preloaded ahead of the program
// (`node --import ./scripts/check-node.mjs …`, which `pnpm dev` uses to keep one process
// between pnpm and the server, so Ctrl-C reaches nothing that could end it differently).
const invokedDirectly = process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href;
const preloaded = process.execArgv.some(
  (arg, i, all) => arg.endsWith('check-node.mjs') && (all[i - 1] || arg).startsWith('--import'),
);
if (invokedDirectly || preloaded) exitIfNodeTooOld();
