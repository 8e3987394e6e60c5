import { spawn, type ChildProcess } from 'node:child_process';
import { pathToFileURL } from 'node:url';

export interface Child {
  readonly pid: number;
  /** The first stdout line that matched `readyLine`. */
  readonly readyMatch: RegExpMatchArray;
  /** The child's own CPU time (user + system), in microseconds, read over IPC. */
  cpuMicros(): Promise<number>;
  /** Starts V8's CPU profiler in the child (see cpu-probe.ts). */
  startProfile(): Promise<void>;
  /** Stops it and writes the profile to `file` (a .cpuprofile, readable by Chrome DevTools). */
  stopProfile(file: string): Promise<void>;
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

  /** Sends `message` and resolves with the first answer that `pick` accepts. */
  const ask = <T>(message: unknown, pick: (answer: object) => T | undefined): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const onMessage = (answer: unknown) => {
        const picked = answer && typeof answer === 'object' ? pick(answer) : undefined;
        if (picked !== undefined) {
          proc.off('message', onMessage);
          resolve(picked);
        }
      };
      proc.on('message', onMessage);
      if (!proc.send(message as object)) {
        proc.off('message', onMessage);
        reject(new Error(`${options.label}: IPC channel closed`));
      }
    });
  const profiled = async (message: { profile: 'start' | 'stop'; file?: string }) => {
    const answer = await ask(message, (a) => ('profiled' in a && a.profiled === message.profile ? a : undefined));
    if ('error' in answer) throw new Error(`${options.label}: profiler ${message.profile} failed: ${String(answer.error)}`);
  };

  return {
    pid: proc.pid ?? 0,
    readyMatch,
    cpuMicros: () => ask('cpu', (a) => ('cpuMicros' in a ? Number(a.cpuMicros) : undefined)),
    startProfile: () => profiled({ profile: 'start' }),
    stopProfile: (file) => profiled({ profile: 'stop', file }),
    async stop(graceMs = 15_000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
