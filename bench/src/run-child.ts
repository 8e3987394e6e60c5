import { spawn } from 'node:child_process';

/**
 * Runs a TypeScript script under tsx in its own process to completion and
 * returns the JSON object it printed last on stdout: the way the bench
 * measures a client or the worker with its own peak RSS.
 */
export async function runChildToEnd<T>(options: {
  label: string;
  script: string;
  cwd: string;
  env: Record<string, string>;
  timeoutMs: number;
}): Promise<T> {
  const proc = spawn(process.execPath, ['--import', 'tsx', options.script], {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  proc.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-8000)));
  const timer = setTimeout(() => proc.kill('SIGKILL'), options.timeoutMs);
  const code = await new Promise<number | null>((resolve) => proc.once('exit', (exitCode) => resolve(exitCode)));
  clearTimeout(timer);
  const last = stdout.trim().split('\n').at(-1) ?? '';
  if (code !== 0 || !last.startsWith('{')) {
    throw new Error(`${options.label} exited with code ${code}.\n${stderr}${stdout.slice(-2000)}`);
  }
  return JSON.parse(last) as T;
}
