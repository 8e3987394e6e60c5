import { globSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

const root = path.join(import.meta.dirname, '..');

describe('the worker package', () => {
  it('depends on the job domain, never on the tRPC API (no router built in a worker process)', () => {
    const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
      devDependencies?: Record<string, string>;
    };
    expect(Object.keys({ ...manifest.dependencies, ...manifest.devDependencies })).not.toContain('@coach/api');
    const importers = globSync('{src,test}/**/*.ts', { cwd: root }).filter((file) =>
      /from '@coach\/api[/']/.test(readFileSync(path.join(root, file), 'utf8')),
    );
    expect(importers).toEqual([]);
  });
});
