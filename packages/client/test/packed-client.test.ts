import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { sql } from '@coach/db';

import { markJobCompleted } from '../../../test/helpers/completed-job.ts';
import { coachA } from '../../../test/helpers/identities.ts';
import { startTestServer, type TestServer } from '../../../test/helpers/server.ts';

const run = promisify(execFile);
const packageDir = path.resolve(import.meta.dirname, '..');
const root = path.resolve(packageDir, '../..');
const consumerSources = path.join(import.meta.dirname, 'packed-consumer');
const tsc = path.join(root, 'node_modules/.bin/tsc');

const MiB = 1024 * 1024;

let server: TestServer;
let dir: string;
let consumer: string;
let token: string;

/**
 * The package as a stranger gets it: `pnpm pack` (which builds it), installed
 * from the tarball into an empty project outside the workspace. The package's
 * dependencies come from pnpm's store, where this repository's install put them;
 * the registry is asked only for what the store lacks (their versions' metadata
 * on a fresh machine, whose frozen install never fetched any).
 */
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'packed-client-'));
  consumer = path.join(dir, 'app');
  const [{ stdout }] = await Promise.all([
    run('pnpm', ['pack', '--pack-destination', dir], { cwd: packageDir, timeout: 60_000 }),
    (async () => {
      server = await startTestServer({
        // Small enough that a 6 MiB file goes in two parts (S3's smallest part is 5 MiB).
        config: { multipartThresholdBytes: 5 * MiB, multipartPartSizeBytes: 5 * MiB },
      });
      token = await server.tokenFor(coachA);
    })(),
  ]);
  const tarball = (await readdir(dir)).find((name) => name.endsWith('.tgz'));
  if (!tarball) throw new Error(`pnpm pack made no tarball:\n${stdout}`);
  await mkdir(consumer);
  await writeFile(path.join(consumer, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  await run('pnpm', ['add', path.join(dir, tarball), '--prefer-offline', '--reporter=silent'], {
    cwd: consumer,
    timeout: 60_000,
  });
  for (const file of ['upload.ts', 'node.mjs', 'react-native.mjs']) {
    await copyFile(path.join(consumerSources, file), path.join(consumer, file));
  }
}, 120_000);

afterAll(async () => {
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('@coach/client, packed and installed outside the workspace', () => {
  it('ships built JavaScript and one declaration file that names no server package', async () => {
    const installed = path.join(consumer, 'node_modules/@coach/client');
    const manifest = JSON.parse(await readFile(path.join(installed, 'package.json'), 'utf8')) as {
      private?: boolean;
      exports: Record<string, unknown>;
      dependencies: Record<string, string>;
    };
    expect(manifest.private).toBeUndefined();
    expect(manifest.exports['.']).toMatchObject({ types: './dist/index.d.ts', default: './dist/index.js' });
    expect(Object.keys(manifest.dependencies).sort()).toEqual(['@trpc/client', '@trpc/server', 'eventsource', 'zod']);
    const files = await readdir(path.join(installed, 'dist'));
    expect(files.filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))).toEqual([]);
    const declarations = await readFile(path.join(installed, 'dist/index.d.ts'), 'utf8');
    const imported = [...declarations.matchAll(/(?:from |import\()["']([^"']+)["']/g)].map((match) =>
      (match[1] ?? '').split('/').slice(0, 2).join('/'),
    );
    expect(new Set(imported)).toEqual(new Set(['@trpc/server', '@trpc/client', 'zod']));
    expect(declarations).not.toMatch(/\bKysely\b|\bNodeJS\.|: Buffer\b|\bContext\b/);
  });

  it('type-checks with default compiler settings and no Node types', async () => {
    // skipLibCheck as every project template sets it (tsc --init, Vite, Next.js, Expo): tRPC's
    // own declarations name Node's http module and ES2026's Disposable, so no tRPC client
    // compiles without it. It does not hide a broken type of ours: the first test reads what
    // the declarations import, and upload.ts expects an error that an `any` would not give.
    await writeFile(
      path.join(consumer, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { strict: true, module: 'nodenext', noEmit: true, skipLibCheck: true },
        files: ['upload.ts'],
      }),
    );
    // Nothing in the project brings Node's types: everything upload.ts uses comes from the DOM
    // library and the package.
    await expect(readdir(path.join(consumer, 'node_modules/@types'))).rejects.toThrow(/ENOENT/);
    const checked = await run(tsc, ['-p', consumer], { cwd: consumer, timeout: 60_000 }).then(
      () => 'ok',
      (error: unknown) => (error as { stdout: string }).stdout,
    );
    expect(checked).toBe('ok');
  });

  it("has declarations that compile under the consumer's settings: every error without skipLibCheck is in tRPC's own files", async () => {
    await writeFile(
      path.join(consumer, 'tsconfig.strict-libs.json'),
      JSON.stringify({
        compilerOptions: { strict: true, module: 'nodenext', noEmit: true, skipLibCheck: false },
        files: ['upload.ts'],
      }),
    );
    const output = await run(tsc, ['-p', path.join(consumer, 'tsconfig.strict-libs.json')], { cwd: consumer }).then(
      () => '',
      (error: unknown) => (error as { stdout: string }).stdout,
    );
    const errors = output.split('\n').filter((line) => /error TS\d+/.test(line));
    expect(errors.filter((line) => !line.includes('/@trpc/server/dist/'))).toEqual([]);
  });

  it('uploads a file path from Node, and follows the job over jobs.watch until it completes', async () => {
    const video = path.join(dir, 'clip.mp4');
    await writeFile(video, randomBytes(300_000));
    const lines = await runConsumer(['node.mjs', server.trpcUrl, token, video], async (event) => {
      if (event.event !== 'uploaded' || typeof event.jobId !== 'string') return;
      // The worker's part, done here: what the stream must then report.
      const { rows } = await sql<{ s3_key: string }>`select s3_key from video_analysis_jobs where id = ${event.jobId}`.execute(
        server.db,
      );
      await markJobCompleted(server.db, { jobId: event.jobId, s3Key: rows[0]?.s3_key ?? '', frameCount: 0 });
    });
    expect(lines.find((line) => line.event === 'uploaded')).toMatchObject({ status: 'queued' });
    expect(lines.at(-1)).toMatchObject({ event: 'done', status: 'completed' });
    expect(String(lines.at(-1)?.module)).toMatch(/node_modules\/@coach\/client\/dist\/index\.js$/);
  });

  it("uploads in parts through a fetch limited as React Native's is, from the build its bundler picks", async () => {
    const size = 6 * MiB;
    const lines = await runConsumer(['--conditions=react-native', 'react-native.mjs', server.trpcUrl, token, String(size)]);
    const done = lines.at(-1);
    expect(done).toMatchObject({ event: 'done', status: 'queued', cancel: 'AbortError: The upload was cancelled.' });
    expect(String(done?.module)).toMatch(/node_modules\/@coach\/client\/dist\/index\.browser\.js$/);
    // Every storage PUT sent a Blob, part by part: no stream body anywhere.
    expect(done?.puts).toEqual([
      { method: 'PUT', body: 'Blob', size: 5 * MiB },
      { method: 'PUT', body: 'Blob', size: 1 * MiB },
    ]);
  });
});

type ConsumerEvent = Record<string, unknown> & { event?: string };

/**
 * Runs one of the consumer's scripts with Node (which strips upload.ts's types),
 * answering each JSON line it prints as it arrives; resolves with them all once
 * it exits 0.
 */
function runConsumer(args: string[], onLine?: (event: ConsumerEvent) => Promise<void>): Promise<ConsumerEvent[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: consumer, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: ConsumerEvent[] = [];
    const pending: Promise<void>[] = [];
    let stderr = '';
    let buffered = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      for (let end = buffered.indexOf('\n'); end >= 0; end = buffered.indexOf('\n')) {
        const event = JSON.parse(buffered.slice(0, end)) as ConsumerEvent;
        buffered = buffered.slice(end + 1);
        lines.push(event);
        if (onLine) pending.push(onLine(event));
      }
    });
    const timer = setTimeout(() => child.kill(), 45_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      Promise.all(pending).then(() => {
        if (code === 0) resolve(lines);
        else reject(new Error(`node ${args.join(' ')} exited ${code}:\n${stderr}\n${JSON.stringify(lines)}`));
      }, reject);
    });
  });
}
