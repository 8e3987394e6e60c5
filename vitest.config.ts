import { globSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { defineConfig, type TestUserConfig } from 'vitest/config';

const root = import.meta.dirname;

/** What every run shares, whole suite or one package. */
const shared: TestUserConfig = {
  // One Postgres cluster and one emulator serve every file; each file gets its own database.
  globalSetup: [path.join(root, 'test/global-setup.ts')],
  pool: 'forks',
  testTimeout: 30_000,
  hookTimeout: 60_000,
};

/** A workspace package's name, which is also its vitest project's name (`vitest --project @coach/db`). */
const packageName = (dir: string): string =>
  (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name: string }).name;

/**
 * The config each package's own `vitest.config.ts` re-exports, so `pnpm test`
 * in a package folder runs that package's tests alone, the global setup
 * starting Postgres and the emulator for that run.
 */
export function packageConfig(dir: string) {
  return defineConfig({ test: { ...shared, name: packageName(dir), root: dir, include: ['test/**/*.test.ts'] } });
}

// Every package with a `test` folder is one inline project. Inline projects
// inherit this config except its global setup, which vitest runs once for the
// whole run and whose `provide`d values every project's `inject` sees; listing
// the package configs instead would start one Postgres and emulator per package.
const packageDirs = globSync(['packages/*/test', 'apps/*/test', 'bench/test', 'infra/test'], { cwd: root })
  .map((dir) => path.dirname(dir))
  .sort((a, b) => a.localeCompare(b));

export default defineConfig({
  test: {
    ...shared,
    projects: packageDirs.map((dir) => ({
      test: { name: packageName(path.join(root, dir)), include: [`${dir}/test/**/*.test.ts`] },
    })),
  },
});
