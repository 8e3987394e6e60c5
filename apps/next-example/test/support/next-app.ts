import { execFile, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

export const APP_ROOT = path.resolve(import.meta.dirname, '../..');
const NEXT = path.join(APP_ROOT, 'node_modules/.bin/next');

/**
 * The environment `next build` and `next start` run with: production (the test
 * runner's NODE_ENV=test would give React's development build), no telemetry,
 * the build in `distDir` (relative to the app) so tests never race `pnpm build`
 * over `.next`, and browser source maps, which the chunk check reads.
 */
function nextEnv(distDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NODE_ENV: 'production',
    NEXT_TELEMETRY_DISABLED: '1',
    NEXT_DIST_DIR: distDir,
    NEXT_BROWSER_SOURCE_MAPS: '1',
    ...extra,
  };
}

/** `next build` in its own process, as CI runs it. */
export async function buildNextApp(distDir: string): Promise<void> {
  await promisify(execFile)(NEXT, ['build'], { cwd: APP_ROOT, env: nextEnv(distDir), maxBuffer: 16 * 1024 * 1024 });
}

export interface RunningNextApp {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** `next start` (production mode) on a free loopback port the server picks itself, ready once it says where it listens. */
export async function startNextApp(distDir: string, env: Record<string, string>): Promise<RunningNextApp> {
  const child = spawn(NEXT, ['start', '--port', '0', '--hostname', '127.0.0.1'], {
    cwd: APP_ROOT,
    env: nextEnv(distDir, env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const listening = /- Local:\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (listening?.[1] && output.includes('Ready')) resolve(listening[1]);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`next start exited with ${code}:\n${output}`)));
  });
  return { url, port: Number(new URL(url).port), stop: () => stopChild(child) };
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}
