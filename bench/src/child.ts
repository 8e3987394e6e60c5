import { spawn, type ChildProcess } from 'node:child_process';
import { pathToFileURL } from 'node:url';

export interface Child {
  readonly pid: number;
  /** The first stdout line that matched `readyLine`. */
  readonly readyMatch: RegExpMatchArray;
  /** The child's own CPU time (user + system), in microseconds, read over IPC. */
  cpuMicros(): Promise<number>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
  stop(graceMs?: number): Promise<void>;
}

export interface StartChildOptions {
  /** Script to run under tsx (absolute path). */
  script: string;
  cwd: string;
  env: Record<string, string>;
  /** A stdout line that says the child is ready; its match is returned. */
  readyLine: RegExp;
  nodeArgs?: string[];
  timeoutMs?: number;
  label: string;
}

const cpuProbe = pathToFileURL(new URL('./cpu-probe.ts', import.meta.url).pathname).href;

/**
 * Starts a TypeScript entry point under tsx in its own process, with the CPU
 * probe preloaded and an IPC channel, and waits for its ready line.
 */
export async function startChild(options: StartChildOptions): Promise<Child> {
  const proc: ChildProcess = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), '--import', 'tsx', '--import', cpuProbe, options.script],
    {
      cwd: options.cwd,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    },
  );
  let stderr = '';
  proc.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-8000);
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));

  const readyMatch = await new Promise<RegExpMatchArray>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`${options.label} did not start in time.\n${stderr}`));
    }, options.timeoutMs ?? 60_000);
    const onData = (chunk: string) => {
      out += chunk;
      for (const line of out.split('\n')) {
        const match = options.readyLine.exec(line);
        if (match) {
          clearTimeout(timer);
          proc.stdout?.off('data', onData);
          // Keep draining stdout so a chatty child never blocks on a full pipe.
          proc.stdout?.resume();
          resolve(match);
          return;
        }
      }
    };
    proc.stdout?.setEncoding('utf8').on('data', onData);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${options.label} exited with code ${code} before it was ready.\n${stderr}`));
    });
  });

  return {
    pid: proc.pid ?? 0,
    readyMatch,
    cpuMicros: () =>
      new Promise<number>((resolve, reject) => {
        const onMessage = (message: unknown) => {
          if (message && typeof message === 'object' && 'cpuMicros' in message) {
            proc.off('message', onMessage);
            resolve(Number(message.cpuMicros));
          }
        };
        proc.on('message', onMessage);
        if (!proc.send('cpu')) reject(new Error(`${options.label}: IPC channel closed`));
      }),
    async stop(graceMs = 15_000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
