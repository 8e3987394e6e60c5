// `pnpm build`. Makes the folders the container images copy: for the API and the worker, the app's build
// (dist/, see build-app.mjs) plus its production dependencies, installed by `pnpm deploy --prod`
// from the pnpm store (offline when the store has them, as after `pnpm install`). Nothing
// in them needs pnpm, tsx or a dev dependency: `node dist/main.js` runs each (`pnpm start`,
// `pnpm start:worker` and `pnpm db:migrate` run those in .deploy/). An app's dist/ does not
// run in place: pnpm's default layout keeps most of what it imports out of its reach.
//
// node_modules is laid out flat (node-linker=hoisted) because the bundle imports every npm
// package by name from dist/, including those only a workspace package depends on (pg from
// @coach/db, tfjs from @coach/pose), which pnpm's default layout would hide.
//
// Usage: node scripts/deploy-folder.mjs [out-dir]   (default .deploy; makes <out>/server, <out>/worker)
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const out = path.resolve(process.argv[2] ?? path.join(root, '.deploy'));

/** Imports of the bundle that only development reaches (the embedded stack, the web dev server). */
const DEV_ONLY_PACKAGES = new Set(['@coach/local-stack', 'vite']);

const APPS = [
  { name: 'server', filter: '@coach/server', entries: ['main.js', 'migrate.js'] },
  { name: 'worker', filter: '@coach/worker-app', entries: ['main.js', 'healthcheck.js'] },
];

const pnpm = (args) => execFileSync('pnpm', args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });

const started = performance.now();
pnpm(['--filter', '@coach/server', '--filter', '@coach/worker-app', 'build']);
for (const app of APPS) {
  const dir = path.join(out, app.name);
  await rm(dir, { recursive: true, force: true });
  pnpm([
    '--filter',
    app.filter,
    'deploy',
    '--prod',
    '--prefer-offline',
    '--config.node-linker=hoisted',
    '--reporter=silent',
    dir,
  ]);
  checkImportsResolve(dir, app.entries);
}
process.stdout.write(
  `deploy folders in ${path.relative(root, out) || '.'}/{server,worker} in ${Math.round(performance.now() - started)} ms\n`,
);

/** Every npm package the bundle imports must be in the deploy folder, or start-up fails in production. */
function checkImportsResolve(dir, entries) {
  for (const entry of entries) {
    const file = path.join(dir, 'dist', entry);
    if (!existsSync(file)) throw new Error(`${file} is missing: the build did not produce it`);
  }
  const problems = [];
  for (const name of bundlePackages(path.join(dir, 'dist'))) {
    const deployed = existsSync(path.join(dir, 'node_modules', name, 'package.json'));
    if (DEV_ONLY_PACKAGES.has(name)) {
      if (deployed) problems.push(`${name} is a development dependency but was deployed`);
    } else if (!deployed) {
      problems.push(`${name} is imported by the bundle but missing from node_modules`);
    }
  }
  if (problems.length > 0) throw new Error(`${dir}:\n  - ${problems.join('\n  - ')}`);
}

/** The npm packages the built files import, by package name. */
function bundlePackages(distDir) {
  const found = new Set();
  for (const file of readdirSync(distDir).filter((f) => f.endsWith('.js'))) {
    const text = readFileSync(path.join(distDir, file), 'utf8');
    for (const [, specifier] of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*)["']([^"'./][^"']*)["']/g)) {
      if (specifier.startsWith('node:')) continue;
      const parts = specifier.split('/');
      found.add(specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]);
    }
  }
  return found;
}
