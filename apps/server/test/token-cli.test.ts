import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createTokenVerifier, MAX_HS256_TOKEN_LIFETIME_SECONDS } from '@coach/api';

const run = promisify(execFile);
const CLI = path.resolve(import.meta.dirname, '../src/cli/token.ts');
const TSX = path.resolve(import.meta.dirname, '../node_modules/.bin/tsx');

let dataDir: string;
const secret = randomBytes(32).toString('base64url');

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'token-cli-'));
  await writeFile(path.join(dataDir, 'dev-jwt-secret'), secret);
});
afterAll(() => rm(dataDir, { recursive: true, force: true }));

/** `pnpm run token …` as a person types it, on this test's own dev secret. */
async function token(...args: string[]) {
  const env = { PATH: process.env.PATH, EMBEDDED_DATA_DIR: dataDir };
  try {
    const { stdout } = await run(TSX, [CLI, ...args], { env });
    return { exitCode: 0, stdout: stdout.trim(), stderr: '' };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { exitCode: failed.code, stdout: failed.stdout.trim(), stderr: failed.stderr };
  }
}

describe('pnpm run token', () => {
  it('prints a token with an expiry that the server accepts', async () => {
    const printed = await token('--user', 'coach-123', '--role', 'coach_pro_plus');
    expect(printed.exitCode).toBe(0);
    const claims = JSON.parse(Buffer.from(printed.stdout.split('.')[1] ?? '', 'base64url').toString()) as {
      exp: number;
      iat: number;
    };
    expect(claims.exp - claims.iat).toBe(12 * 3600);
    await expect(createTokenVerifier({ kind: 'hs256', secret })(`Bearer ${printed.stdout}`)).resolves.toMatchObject({
      status: 'authenticated',
    });
  });

  it(`refuses a lifetime over ${MAX_HS256_TOKEN_LIFETIME_SECONDS / 3600} h, or one it cannot read, printing no token`, async () => {
    for (const expires of ['48h', '10y', 'forever']) {
      const printed = await token('--user', 'coach-123', '--role', 'coach_pro_plus', '--expires', expires);
      expect(printed.exitCode).toBe(2);
      expect(printed.stdout).toBe('');
      expect(printed.stderr).toMatch(/--expires/);
    }
  });
});
