import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

import { MediaToolError } from './errors.ts';
import { runTool, type ToolName } from './run-tool.ts';

export interface FfmpegBinaries {
  ffmpegPath: string;
  ffprobePath: string;
  /** `system`: found on PATH; `npm`: the static builds shipped in @ffmpeg-installer / @ffprobe-installer. */
  source: 'system' | 'npm';
}

/** `-version` answers in milliseconds; a binary that hangs this long is unusable anyway. */
const VERSION_CHECK_TIMEOUT_MS = 10_000;

let cached: Promise<FfmpegBinaries> | undefined;

/**
 * Finds ffmpeg and ffprobe once per process. A system install on PATH wins
 * (it is newer and maintained by the OS); otherwise the binaries shipped in
 * the npm packages are used, so a fresh machine or CI needs nothing but
 * `pnpm install`. A failed lookup is not cached, so a later call can succeed.
 */
export function resolveFfmpeg(): Promise<FfmpegBinaries> {
  // The process's own PATH, where a system ffmpeg is found; not configuration.
  // oxlint-disable-next-line node/no-process-env
  cached ??= detectFfmpeg(process.env.PATH ?? '').catch((error: unknown) => {
    cached = undefined;
    throw error;
  });
  return cached;
}

/** Uncached lookup against an explicit PATH value; exported for tests. */
export async function detectFfmpeg(searchPath: string): Promise<FfmpegBinaries> {
  const [systemFfmpeg, systemFfprobe] = await Promise.all([
    findWorkingBinary('ffmpeg', searchPath),
    findWorkingBinary('ffprobe', searchPath),
  ]);
  // Both or neither: mixing a system ffprobe with the npm ffmpeg would make
  // probe results and decoding disagree in hard-to-debug ways.
  if (systemFfmpeg !== undefined && systemFfprobe !== undefined) {
    return { ffmpegPath: systemFfmpeg, ffprobePath: systemFfprobe, source: 'system' };
  }
  const ffmpegPath = loadNpmBinary('ffmpeg', '@ffmpeg-installer/ffmpeg');
  const ffprobePath = loadNpmBinary('ffprobe', '@ffprobe-installer/ffprobe');
  await Promise.all([assertRuns('ffmpeg', ffmpegPath), assertRuns('ffprobe', ffprobePath)]);
  return { ffmpegPath, ffprobePath, source: 'npm' };
}

async function findWorkingBinary(tool: ToolName, searchPath: string): Promise<string | undefined> {
  const fileName = process.platform === 'win32' ? `${tool}.exe` : tool;
  for (const dir of searchPath.split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, fileName);
    try {
      await access(candidate, constants.X_OK);
    } catch {
      continue;
    }
    if (await runsVersion(tool, candidate)) return candidate;
  }
  return undefined;
}

async function runsVersion(tool: ToolName, file: string): Promise<boolean> {
  try {
    const result = await runTool(tool, file, ['-version'], { timeoutMs: VERSION_CHECK_TIMEOUT_MS });
    return result.exitCode === 0;
  } catch {
    return false;
  }
}

async function assertRuns(tool: ToolName, file: string): Promise<void> {
  if (!(await runsVersion(tool, file))) {
    throw new MediaToolError('FFMPEG_NOT_FOUND', `The bundled ${tool} at ${file} does not run on this machine`, {
      tool,
    });
  }
}

function loadNpmBinary(tool: ToolName, packageName: string): string {
  // Loaded lazily with require: these CommonJS packages throw at import time
  // on unsupported platforms, which must not break importing @coach/media.
  const require = createRequire(import.meta.url);
  try {
    const loaded: unknown = require(packageName);
    if (typeof loaded === 'object' && loaded !== null && 'path' in loaded && typeof loaded.path === 'string') {
      return loaded.path;
    }
    throw new Error(`${packageName} exported no path`);
  } catch (error) {
    throw new MediaToolError(
      'FFMPEG_NOT_FOUND',
      `No ${tool} on PATH and ${packageName} has no binary for ${process.platform}-${process.arch}`,
      // @ffmpeg-installer/ffmpeg throws a bare string, so wrap whatever it was.
      { tool, cause: error instanceof Error ? error : new Error(String(error)) },
    );
  }
}
