import { readFile } from 'node:fs/promises';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { APP_ROOT } from './support/next-app.ts';

const readScripts = async (dir: string) =>
  (JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;

describe('the Next.js example in CI', () => {
  it('is built by the root `pnpm build` (CI runs it), with next build and telemetry off', async () => {
    const root = await readScripts(path.resolve(APP_ROOT, '../..'));
    expect(root.build).toMatch(/ && pnpm --filter @coach\/next-example build$/);
    const app = await readScripts(APP_ROOT);
    expect(app.build).toBe('NEXT_TELEMETRY_DISABLED=1 next build');
    expect(app.start).toMatch(/^NEXT_TELEMETRY_DISABLED=1 next start/);
  });
});
