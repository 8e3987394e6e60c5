import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { MINIMUM_NODE, nodeVersionProblem } from '../../../scripts/check-node.mjs';

const root = path.resolve(import.meta.dirname, '../../..');
const script = path.join(root, 'scripts/check-node.mjs');
const rootPackage = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  engines: { node: string };
  scripts: Record<string, string>;
};

/** The system Node of a fresh machine, when it is older than the project needs (Debian 12's is 20). */
function oldSystemNode(): string | undefined {
  for (const candidate of ['/usr/bin/node', '/usr/local/bin/node']) {
    try {
      const version = execFileSync(candidate, ['--version'], { encoding: 'utf8' }).trim();
      if (nodeVersionProblem(version)) return candidate;
    } catch {
      // Not installed there.
    }
  }
  return undefined;
}

describe('scripts/check-node.mjs', () => {
  it('names the version needed, the one found and how to get Node 24 and pnpm 12 for an older Node', () => {
    for (const version of ['20.20.2', 'v22.4.9', '18.0.0', '22.0.0']) {
      const problem = nodeVersionProblem(version, '/usr/bin/node');
      expect(problem, version).toContain('needs Node.js 22.5 or newer');
      expect(problem, version).toContain(`this is Node.js ${version.replace(/^v/, '')} (/usr/bin/node)`);
      expect(problem, version).toContain('npm install --prefix .tools node@24 pnpm@12.21.0');
      expect(problem, version).toContain('export PATH="$PWD/.tools/node_modules/.bin:$PATH"');
    }
    for (const version of ['22.5.0', 'v22.5.1', '22.12.0', '23.0.0', '24.21.0', '25.1.0']) {
      expect(nodeVersionProblem(version), version).toBeUndefined();
    }
  });

  it('agrees with engines.node and guards install, dev and test', () => {
    expect(rootPackage.engines.node).toBe(`>=${MINIMUM_NODE.replace(/\.0$/, '')}`);
    // pnpm only warns about engines: the preinstall hook is what stops an install on an old Node.
    for (const name of ['preinstall', 'dev', 'test']) {
      expect(rootPackage.scripts[name], name).toMatch(/^node (--import \.\/)?scripts\/check-node\.mjs( &&| |$)/);
    }
    // `pnpm dev` preloads the check in the server's own process: nothing sits between pnpm and the server.
    expect(rootPackage.scripts.dev).toMatch(
      /^node --import \.\/scripts\/check-node\.mjs --import tsx apps\/server\/src\/main\.ts$/,
    );
  });

  it('passes silently on this Node', () => {
    const result = spawnSync(process.execPath, [script], { encoding: 'utf8' });
    expect(result).toMatchObject({ status: 0, stdout: '', stderr: '' });
  });

  const oldNode = oldSystemNode();
  it.runIf(oldNode !== undefined)('exits 1 with the message when run by an older system Node', () => {
    const result = spawnSync(oldNode ?? '', [script], { encoding: 'utf8' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('needs Node.js 22.5 or newer');
    expect(result.stderr).toContain(`(${oldNode})`);
  });

  it.runIf(oldNode !== undefined)(
    'stops the server before it loads when preloaded by an older system Node, as `pnpm dev` runs it',
    () => {
      const result = spawnSync(
        oldNode ?? '',
        ['--import', `./${path.relative(root, script)}`, '--import', 'tsx', 'apps/server/src/main.ts'],
        {
          cwd: root,
          encoding: 'utf8',
        },
      );
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('needs Node.js 22.5 or newer');
      expect(result.stderr).not.toContain('sqlite');
    },
  );

  it('lets the program run when preloaded by this Node', () => {
    const result = spawnSync(process.execPath, ['--import', `./${path.relative(root, script)}`, '-e', 'console.log("ran")'], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(result).toMatchObject({ status: 0, stdout: 'ran\n', stderr: '' });
  });
});
