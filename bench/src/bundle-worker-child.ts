import { cp, mkdir, rm, symlink } from 'node:fs/promises';
import path from 'node:path';

import { build } from 'esbuild';

const repoRoot = path.resolve(import.meta.dirname, '../..');

/** npm packages that find files beside their own package at run time: left as imports, linked in. */
const LINKED_PACKAGES = [
  ['@tensorflow', 'packages/pose/node_modules/@tensorflow'],
  ['@ffmpeg-installer', 'packages/media/node_modules/@ffmpeg-installer'],
  ['@ffprobe-installer', 'packages/media/node_modules/@ffprobe-installer'],
] as const;

/**
 * Bundles the worker child (bench/src/worker-child.ts with the worker's
 * packages inlined) and the pose threads' entry into plain JavaScript that
 * node runs without tsx, as the worker's production build does
 * (scripts/build-app.mjs: the pose worker's bundle and the models beside the
 * main one), so the measured RSS is the worker's and not a TypeScript
 * compiler's: under tsx, importing `@coach/worker` alone cost ~100 MiB.
 * Unlike the deploy folder, which installs npm packages beside the bundle,
 * the npm packages are bundled too, except those that read files next to
 * their package (tfjs' .wasm files, the ffmpeg binaries), linked from the
 * workspace's install.
 */
export async function bundleWorkerChild(outDir: string): Promise<string> {
  await rm(outDir, { recursive: true, force: true });
  await build({
    entryPoints: {
      'worker-child': path.resolve(import.meta.dirname, 'worker-child.ts'),
      'pose-worker': path.join(repoRoot, 'packages/pose/src/pose-worker.ts'),
    },
    outdir: outDir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22.5',
    // pg's optional native driver is never installed.
    external: [...LINKED_PACKAGES.map(([name]) => `${name}/*`), 'pg-native'],
    // CommonJS packages bundled into ESM still call require.
    banner: {
      js: "import { createRequire as __benchRequire } from 'node:module'; const require = __benchRequire(import.meta.url);",
    },
    logLevel: 'error',
  });
  await cp(path.join(repoRoot, 'packages/pose/models'), path.join(outDir, 'models'), { recursive: true });
  await mkdir(path.join(outDir, 'node_modules'));
  for (const [name, target] of LINKED_PACKAGES) {
    await symlink(path.join(repoRoot, target), path.join(outDir, 'node_modules', name));
  }
  return path.join(outDir, 'worker-child.js');
}
