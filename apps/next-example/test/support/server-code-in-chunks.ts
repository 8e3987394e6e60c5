import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Modules that must never reach a browser: the database and AWS clients, and
 * the workspace packages that hold server code. Matched against the module
 * paths in each chunk's source map, which name every file bundled into it.
 */
const SERVER_MODULES: readonly { name: string; pattern: RegExp }[] = [
  { name: 'kysely', pattern: /\/node_modules\/kysely\// },
  { name: 'pg', pattern: /\/node_modules\/(?:pg|pg-[a-z-]+|pgpass)\// },
  { name: 'the AWS SDK', pattern: /\/node_modules\/(?:@aws-sdk|@smithy|@aws-crypto)\// },
  {
    name: 'a server package of this workspace',
    pattern: /\/packages\/(?:api|db|aws|jobs|worker|media|pose|telemetry|local-stack)\//,
  },
];

/** A Node built-in imported by its `node:` name, in whatever form the bundler left it (`from`, `import()`, `require`). */
const NODE_BUILTIN = /["'`]node:[a-z_]+(?:\/[a-z_]+)?["'`]/g;

/** Names that would only be in the code text if those libraries were (a backstop for chunks without maps). */
const SERVER_NAMES = /@aws-sdk\/|\bkysely\b/g;

export interface ChunkFinding {
  chunk: string;
  problem: string;
}

/** What in one chunk (its code and its source map's JSON) is server code. */
export function findServerCode(chunk: string, code: string, sourceMap: string | undefined): ChunkFinding[] {
  const findings: ChunkFinding[] = [];
  for (const [match] of code.matchAll(NODE_BUILTIN)) findings.push({ chunk, problem: `imports the Node built-in ${match}` });
  for (const [match] of code.matchAll(SERVER_NAMES)) findings.push({ chunk, problem: `contains "${match}"` });
  // Next ships a few prebuilt chunks (its polyfills) without maps: their text is all there is to read.
  const sources = sourceMap === undefined ? [] : mapSources(sourceMap);
  for (const server of SERVER_MODULES) {
    // The first module of each kind names it; the rest would only repeat it.
    const source = sources.find((s) => server.pattern.test(s));
    if (source) findings.push({ chunk, problem: `bundles ${server.name}: ${source}` });
  }
  return findings;
}

/** Every module path a source map names, in a plain map or in an index map's sections (Turbopack writes those). */
export function mapSources(sourceMap: string): string[] {
  const map = JSON.parse(sourceMap) as { sources?: string[]; sections?: { map: { sources?: string[] } }[] };
  return [...(map.sources ?? []), ...(map.sections ?? []).flatMap((section) => section.map.sources ?? [])];
}

/** Every browser chunk of a build (`<distDir>/static/chunks/**\/*.js`) with its source map, if it has one. */
export async function browserChunks(distDir: string): Promise<{ chunk: string; code: string; sourceMap?: string }[]> {
  const dir = path.join(distDir, 'static/chunks');
  const files = (await readdir(dir, { recursive: true })).filter((file) => file.endsWith('.js'));
  return Promise.all(
    files.map(async (file) => {
      const code = await readFile(path.join(dir, file), 'utf8');
      const mapFile = /\/\/# sourceMappingURL=(\S+\.map)\s*$/.exec(code)?.[1];
      const sourceMap = mapFile ? await readFile(path.join(dir, path.dirname(file), mapFile), 'utf8') : undefined;
      return { chunk: file, code, sourceMap };
    }),
  );
}
