import path from 'node:path';

import { build } from 'esbuild';

/**
 * Bundles the upload child (bench/src/upload-child.ts with `@coach/client`
 * inlined) into one plain JavaScript file that node runs without tsx, so the
 * measured RSS is the client's and not a TypeScript compiler's.
 *
 * Built the way an app that ships the client for node would build it: one
 * self-contained ESM bundle for the node platform, npm packages included
 * (@trpc/client, eventsource: pure JavaScript, they bundle cleanly), so the
 * file runs from anywhere with no node_modules beside it. The `node`
 * condition picks the client's file-path reader (`#node-file`).
 */
export async function bundleUploadChild(outDir: string): Promise<string> {
  const outfile = path.join(outDir, 'upload-child.mjs');
  await build({
    entryPoints: [path.resolve(import.meta.dirname, 'upload-child.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22.5',
    minify: true,
    logLevel: 'warning',
  });
  return outfile;
}
