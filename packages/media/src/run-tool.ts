import { spawn } from 'node:child_process';
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
  /** Resolves (never rejects) once the child has exited and its pipes have closed. */
  readonly exited: Promise<ToolExit>;
  /** The error from `spawn` itself (binary missing, not executable), if any. */
  spawnError(): Error | undefined;
  stderrTail(): string;
  /** Kills the child if it is still running and waits until it is reaped. */
  kill(): Promise<ToolExit>;
}

export function startTool(tool: ToolName, file: string, args: readonly string[]): ToolProcess {
  const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true });
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

  return {
    pid: child.pid,
    stdin: child.stdin,
    stdout: child.stdout,
    exited,
    spawnError: () => spawnError,
    stderrTail: () => stderr,
    kill: async () => {
      if (!isDone) {
        // SIGKILL, not SIGTERM: ffmpeg handles SIGTERM by trying to flush its
        // output, which blocks forever on a pipe nobody reads any more.
        child.kill('SIGKILL');
        child.stdout.destroy();
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
  const { signal, timeoutMs, input, maxStdoutBytes = 256 * 1024 * 1024 } = options;
  signal?.throwIfAborted();

  const proc = startTool(tool, file, args);
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

/** The last non-empty stderr line: usually ffmpeg's own summary of what went wrong. */
export function lastLine(text: string): string {
  const lines = text.split('\n').map((line) => line.trim());
  return lines.filter((line) => line.length > 0).at(-1) ?? '';
}
