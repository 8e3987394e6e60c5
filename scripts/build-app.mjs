// Bundles one app (the package in the current directory) for production: plain JavaScript
// in dist/, run with `node dist/<entry>.js`, no tsx.
//
// esbuild, because it is one well-kept binary that is already in the install (tsx runs on
// it), builds both apps in well under a second, and does only what is needed here: inline the
// workspace packages (TypeScript source, never published) and leave every npm package
// external, resolved at run time from the deploy folder's node_modules (scripts/deploy-folder.mjs).
// Keeping npm packages external avoids bundling what does not bundle cleanly: pg's optional
// native driver, the ffmpeg binary packages' per-platform require, tfjs' .wasm files found
// next to its package.json.
//
// Files the pose package loads at run time are placed next to the bundle, where
// packages/pose/src/shipped-files.ts looks for them: the pool thread's entry (its own bundle)
// and the MoveNet models.
//
// Usage: node ../../scripts/build-app.mjs <name>=<entry.ts>...
import { cp, rm } from 'node:fs/promises';
import path from 'node:path';

import { build } from 'esbuild';

const root = path.resolve(import.meta.dirname, '..');
const entries = Object.fromEntries(process.argv.slice(2).map((arg) => arg.split('=')));
if (Object.keys(entries).length === 0) throw new Error('usage: build-app.mjs <name>=<entry.ts>...');

/** Workspace packages are bundled; everything else imported by name stays an import. */
const externalNpmPackages = {
  name: 'external-npm-packages',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('@coach/') && args.path !== '@coach/local-stack') return undefined;
      // @coach/local-stack (embedded Postgres, S3/SQS) is a development dependency: left as a
      // dynamic import that production never reaches, and absent from the deploy folder.
      return { path: args.path, external: true };
    });
  },
};

const started = performance.now();
await rm('dist', { recursive: true, force: true });
const result = await build({
  entryPoints: { ...entries, 'pose-worker': path.join(root, 'packages/pose/src/pose-worker.ts') },
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22.5',
  sourcemap: true,
  // Stack traces in production logs keep function names.
  keepNames: true,
  plugins: [externalNpmPackages],
  logLevel: 'warning',
  metafile: true,
});
await cp(path.join(root, 'packages/pose/models'), 'dist/models', { recursive: true });

const external = new Set(
  Object.values(result.metafile.outputs).flatMap((output) =>
    output.imports.filter((i) => i.external && !i.path.startsWith('node:')).map((i) => i.path),
  ),
);
const ms = Math.round(performance.now() - started);
process.stdout.write(
  `built ${Object.keys(entries).join(', ')} and pose-worker into ${path.relative(root, path.resolve('dist'))}/ in ${ms} ms; ` +
    `npm imports: ${[...external].sort().join(', ')}\n`,
);
