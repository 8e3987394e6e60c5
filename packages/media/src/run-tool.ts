import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import type { Readable, Writable } from 'node:stream';

import { MediaToolError } from './errors.ts';

export type ToolName = 'ffmpeg' | 'ffprobe';

/** Enough of stderr to explain a failure without holding a chatty tool's whole log. */
const STDERR_TAIL_BYTES = 8 * 1024;

export interface ToolExit {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
}

/** A running ffmpeg/ffprobe child whose end can always be awaited. */
export interface ToolProcess {
  readonly pid: number | undefined;
  readonly stdin: Writable;
  readonly stdout: Readable;
  /** File descriptor 3 of the child (a second output, `pipe:3`), when `startTool` was asked for it. */
  readonly extraOutput: Readable | undefined;
  /** Resolves (never rejects) once the child has exited and its pipes have closed. */
  readonly exited: Promise<ToolExit>;
  /** The error from `spawn` itself (binary missing, not executable), if any. */
  spawnError(): Error | undefined;
  stderrTail(): string;
  /** Kills the child if it is still running and waits until it is reaped. */
  kill(): Promise<ToolExit>;
}

/** What one ffmpeg/ffprobe child may use, whatever the file it reads claims. */
export interface ToolLimits {
  /** Address space (RLIMIT_AS) of the child; an allocation past it fails with ENOMEM. */
  maxMemoryBytes: number;
  /** Added to the child's nice value (0..19), so the API in the same machine or process answers first. */
  niceness: number;
}

/**
 * Applies the limits inside the child before ffmpeg starts, so every thread it
 * creates inherits them: `ulimit -v` (KiB), then `nice`. Either step that the
 * system refuses is skipped rather than failing the analysis.
 */
const LIMIT_WRAPPER =
  'ulimit -v "$1" 2>/dev/null; n="$2"; shift 2; ' +
  'if command -v nice >/dev/null 2>&1; then exec nice -n "$n" "$@"; fi; exec "$@"';
const SHELL = '/bin/sh';
let canWrap: boolean | undefined;

/** The command that runs `file args` under `limits`: through the wrapper on POSIX, directly elsewhere. */
export function limitedCommand(file: string, args: readonly string[], limits: ToolLimits | undefined) {
  canWrap ??= process.platform !== 'win32' && existsSync(SHELL);
  if (limits === undefined || !canWrap) return { file, args };
  const kib = String(Math.max(1, Math.floor(limits.maxMemoryBytes / 1024)));
  return { file: SHELL, args: ['-c', LIMIT_WRAPPER, 'limited-tool', kib, String(limits.niceness), file, ...args] };
}

export function startTool(
  tool: ToolName,
  file: string,
  args: readonly string[],
  limits?: ToolLimits,
  { extraOutput = false }: { extraOutput?: boolean } = {},
): ToolProcess {
  const command = limitedCommand(file, args, limits);
  const child = spawn(command.file, command.args, {
    stdio: extraOutput ? ['pipe', 'pipe', 'pipe', 'pipe'] : ['pipe', 'pipe', 'pipe'],
    windowsHide: true,
    // glibc reserves 64 MiB of address space per thread arena; with a frame thread per
    // core that alone could exhaust the limit on a large machine (4K H.264 with 16
    // threads failed under 1 GiB without this, decoded with it).
    // The child inherits this process's environment, as spawn does by default.
    // oxlint-disable-next-line node/no-process-env
    env: limits === undefined ? process.env : { ...process.env, MALLOC_ARENA_MAX: '2' },
  });
  if (limits !== undefined && command.file === file && child.pid !== undefined) {
    // No shell to apply limits with (Windows): lower the priority at least; threads started later inherit it.
    try {
      os.setPriority(child.pid, limits.niceness);
    } catch {
      // Not permitted here: run at normal priority.
    }
  }
  let spawnError: Error | undefined;
  let stderr = '';
  let isDone = false;

  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text: string) => {
    stderr = (stderr + text).slice(-STDERR_TAIL_BYTES);
  });
  // EPIPE when the tool exits before reading all of its input; the exit status tells the story.
  child.stdin.on('error', () => {});

  const exited = new Promise<ToolExit>((resolve) => {
    child.once('close', (exitCode: number | null, signal: NodeJS.Signals | null) => {
      isDone = true;
      resolve({ exitCode, signal });
    });
    child.once('error', (error) => {
      spawnError ??= error;
      // A failed spawn emits no 'close' of its own on every Node version; a
      // started child that errors (e.g. on kill) still closes normally.
      if (child.pid === undefined) {
        isDone = true;
        resolve({ exitCode: null, signal: null });
      }
    });
  });

  const fd3 = extraOutput ? ((child.stdio[3] as Readable | null) ?? undefined) : undefined;
  return {
    pid: child.pid,
    stdin: child.stdin,
    stdout: child.stdout,
    extraOutput: fd3,
    exited,
    spawnError: () => spawnError,
    stderrTail: () => stderr,
    kill: async () => {
      if (!isDone) {
        // SIGKILL, not SIGTERM: ffmpeg handles SIGTERM by trying to flush its
        // output, which blocks forever on a pipe nobody reads any more.
        child.kill('SIGKILL');
        child.stdout.destroy();
        fd3?.destroy();
      }
      return exited;
    },
  };
}

export interface RunToolOptions {
  signal?: AbortSignal | undefined;
  /** The child is killed and `MediaToolError('TIMEOUT')` thrown after this long. */
  timeoutMs: number;
  /** Written to the child's stdin, which is then closed. */
  input?: Uint8Array | undefined;
  /** Guards memory against a tool that prints far more than expected. */
  maxStdoutBytes?: number | undefined;
  limits?: ToolLimits | undefined;
}

export interface ToolResult extends ToolExit {
  stdout: Buffer;
  stderr: string;
}

/**
 * Runs a tool to completion and buffers its output. A non-zero exit is
 * returned, not thrown, because callers classify failures differently
 * (ffprobe's "invalid data" means "not a video"). Abort rethrows the signal's
 * reason; both abort and timeout kill the child before returning.
 */
export async function runTool(
  tool: ToolName,
  file: string,
  args: readonly string[],
  options: RunToolOptions,
): Promise<ToolResult> {
  const { signal, timeoutMs, input, maxStdoutBytes = 256 * 1024 * 1024, limits } = options;
  signal?.throwIfAborted();

  const proc = startTool(tool, file, args, limits);
  const chunks: Buffer[] = [];
  let stdoutBytes = 0;
  let failure: 'timeout' | 'too-much-output' | undefined;

  proc.stdout.on('data', (chunk: Buffer) => {
    stdoutBytes += chunk.length;
    if (stdoutBytes > maxStdoutBytes) {
      failure ??= 'too-much-output';
      void proc.kill();
      return;
    }
    chunks.push(chunk);
  });
  const onAbort = () => void proc.kill();
  signal?.addEventListener('abort', onAbort, { once: true });
  const timer = setTimeout(() => {
    failure ??= 'timeout';
    void proc.kill();
  }, timeoutMs);

  if (input === undefined) proc.stdin.end();
  else proc.stdin.end(input);

  try {
    const exit = await proc.exited;
    signal?.throwIfAborted();
    const stderr = proc.stderrTail();
    const spawnError = proc.spawnError();
    if (spawnError !== undefined) {
      throw new MediaToolError('TOOL_FAILED', `${tool} could not be started`, { tool, stderr, cause: spawnError });
    }
    if (failure === 'timeout') {
      throw new MediaToolError('TIMEOUT', `${tool} did not finish within ${timeoutMs} ms`, { tool, stderr });
    }
    if (failure === 'too-much-output') {
      throw new MediaToolError('TOOL_FAILED', `${tool} printed more than ${maxStdoutBytes} bytes`, { tool, stderr });
    }
    return { ...exit, stdout: Buffer.concat(chunks), stderr };
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * Whether a failed child ran out of its memory allowance: ffmpeg reports
 * ENOMEM as "Cannot allocate memory"; an allocation that cannot report it
 * aborts the process.
 */
export function ranOutOfMemory(exit: ToolExit, stderr: string): boolean {
  return /cannot allocate memory|out of memory|bad_alloc/i.test(stderr) || exit.signal === 'SIGABRT' || exit.signal === 'SIGSEGV';
}

/** The last non-empty stderr line: usually ffmpeg's own summary of what went wrong. */
export function lastLine(text: string): string {
  const lines = text.split('\n').map((line) => line.trim());
  return lines.filter((line) => line.length > 0).at(-1) ?? '';
}
