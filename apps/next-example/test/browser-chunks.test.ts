import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { APP_ROOT, buildNextApp } from './support/next-app.ts';
import { browserChunks, findServerCode, mapSources } from './support/server-code-in-chunks.ts';

let distDir: string;

beforeAll(async () => {
  distDir = path.relative(APP_ROOT, await mkdtemp(path.join(APP_ROOT, '.next-chunks-')));
  await buildNextApp(distDir);
}, 180_000);

afterAll(async () => {
  if (distDir) await rm(path.join(APP_ROOT, distDir), { recursive: true, force: true });
});

describe('the Next.js example’s browser chunks', () => {
  it('hold no server code: no Node built-ins, no kysely, pg or AWS SDK, no server package of the workspace', async () => {
    const chunks = await browserChunks(path.join(APP_ROOT, distDir));
    const findings = chunks.flatMap((c) => findServerCode(c.chunk, c.code, c.sourceMap));
    expect(findings).toEqual([]);
    // The check saw the client code it guards: the typed client and the upload are in the chunks, by their maps.
    const sources = chunks.flatMap((c) => (c.sourceMap ? mapSources(c.sourceMap) : []));
    expect(sources.some((s) => s.includes('/packages/client/src/upload/'))).toBe(true);
    expect(sources.some((s) => s.includes('/apps/next-example/src/upload/upload-panel.tsx'))).toBe(true);
  });

  it('the check names each kind of server code it finds', () => {
    const map = (sources: string[]) => JSON.stringify({ version: 3, sections: [{ offset: {}, map: { sources } }] });
    const found = findServerCode(
      'bad.js',
      'let f=e.r("node:fs");import("node:stream/web");new S3Client;/*@aws-sdk/client-s3*/',
      map([
        'turbopack:///[project]/node_modules/.pnpm/kysely@0.29.9/node_modules/kysely/dist/esm/index.js',
        'turbopack:///[project]/node_modules/.pnpm/pg@8.23.1/node_modules/pg/lib/client.js',
        'turbopack:///[project]/node_modules/.pnpm/pg-protocol@1.0.0/node_modules/pg-protocol/dist/index.js',
        'turbopack:///[project]/node_modules/.pnpm/@smithy+core@3.41.0/node_modules/@smithy/core/dist-es/index.js',
        'turbopack:///[project]/packages/db/src/index.ts',
        'turbopack:///[project]/packages/client/src/index.ts',
      ]),
    );
    expect(found.map((f) => f.problem)).toEqual([
      'imports the Node built-in "node:fs"',
      'imports the Node built-in "node:stream/web"',
      'contains "@aws-sdk/"',
      expect.stringMatching(/^bundles kysely: /),
      expect.stringMatching(/^bundles pg: .*\/pg\/lib/),
      expect.stringMatching(/^bundles the AWS SDK: /),
      expect.stringMatching(/^bundles a server package of this workspace: .*packages\/db/),
    ]);
  });
});
