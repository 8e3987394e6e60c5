import { readFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../../..');

/**
 * Every version of every `@trpc/*` package the lockfile resolves, by package.
 * Read from the package keys (`'@trpc/client@11.22.1':`) and the peer suffixes
 * that repeat them (`(@trpc/server@11.22.1(…))`), so a second copy shows up
 * wherever pnpm records it.
 */
function trpcVersions(lockfile: string): Map<string, Set<string>> {
  const versions = new Map<string, Set<string>>();
  for (const [, name, version] of lockfile.matchAll(/(@trpc\/[a-z0-9-]+)@(\d+\.\d+\.\d+[0-9A-Za-z.+-]*)/g)) {
    if (!name || !version) continue;
    let set = versions.get(name);
    if (!set) versions.set(name, (set = new Set()));
    set.add(version);
  }
  return versions;
}

describe('tRPC versions in the workspace', () => {
  // tRPC's client, server and React Query packages share internal types and wire details that
  // only one release at a time is tested with: the server and every client must move together.
  it('the lockfile resolves one version of tRPC, the same for every @trpc/* package', () => {
    const versions = trpcVersions(readFileSync(path.join(root, 'pnpm-lock.yaml'), 'utf8'));
    expect([...versions.keys()].sort()).toEqual(['@trpc/client', '@trpc/server', '@trpc/tanstack-react-query']);
    const all = new Set([...versions.values()].flatMap((set) => [...set]));
    expect(
      [...all],
      `tRPC versions found: ${JSON.stringify(Object.fromEntries([...versions].map(([n, s]) => [n, [...s]])))}`,
    ).toHaveLength(1);
  });

  it('notices a second version, as in the lockfile before the versions were aligned', () => {
    const excerpt = [
      "  '@trpc/server@11.25.2':",
      "  '@trpc/tanstack-react-query@11.22.1(@tanstack/react-query@5.108.0)(@trpc/client@11.25.2(@trpc/server@11.25.2(fastify@5.12.8)))':",
    ].join('\n');
    const versions = trpcVersions(excerpt);
    expect([...(versions.get('@trpc/server') ?? [])]).toEqual(['11.25.2']);
    expect([...(versions.get('@trpc/tanstack-react-query') ?? [])]).toEqual(['11.22.1']);
    expect(new Set([...versions.values()].flatMap((set) => [...set])).size).toBe(2);
  });
});
