import { spawn } from 'node:child_process';

/**
 * Runs a script in its own process to completion and returns the JSON object
 * it printed last on stdout: the way the bench measures a client or the
 * worker with its own peak RSS. TypeScript runs under tsx; a `.mjs`/`.js`
 * bundle runs on plain node, as a consumer's build would.
 */
export async function runChildToEnd<T>(options: {
  label: string;
  script: string;
  cwd: string;
  env: Record<string, string>;
  timeoutMs: number;
  /** Each stdout line as it arrives, for children that report progress (the last line is still the result). */
  onLine?: (line: string) => void;
}): Promise<T> {
  const plainJs = /\.(m?js)$/.test(options.script);
  const proc = spawn(process.execPath, plainJs ? [options.script] : ['--import', 'tsx', options.script], {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let pending = '';
  proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    if (!options.onLine) return;
    const lines = (pending + chunk).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) options.onLine(line);
  });
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
