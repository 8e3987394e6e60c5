import type { RgbImage } from './encode-jpeg.ts';
import { MediaToolError } from './errors.ts';
import { resolveFfmpeg } from './resolve-ffmpeg.ts';
import { lastLine, startTool, type ToolLimits, type ToolProcess } from './run-tool.ts';

export interface JpegEncoderOptions {
  /** Every frame given to `encode` has this size. */
  width: number;
  height: number;
  /** 1 (smallest) to 100 (best), like most image tools. */
  quality: number;
  limits?: ToolLimits | undefined;
}

/** One ffmpeg that turns a sequence of same-size RGB24 frames into JPEGs, in order. */
export interface JpegEncoder {
  /** Resolves with this frame's JPEG; frames may be queued without waiting for earlier ones. */
  encode(frame: RgbImage): Promise<Buffer>;
  /** Finishes the queued frames and ends ffmpeg; a failure rejects the pending `encode` calls too. */
  close(): Promise<void>;
  /** Stops at once: pending `encode` calls reject. */
  abort(): Promise<void>;
}

interface Pending {
  resolve(jpeg: Buffer): void;
  reject(error: Error): void;
}

/**
 * Starts one ffmpeg for a whole job's stored frames instead of one process per
 * frame (which cost ~40 ms of start-up each and, run 32 at a time, starved the
 * API). Frames go in on stdin as rawvideo; JPEGs come out back to back on
 * stdout and are cut apart by their markers, in the order frames went in.
 */
export async function startJpegEncoder(options: JpegEncoderOptions): Promise<JpegEncoder> {
  const { width, height, quality, limits } = options;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new RangeError(`Frame size must be positive integers, got ${width}x${height}`);
  }
  if (!(quality >= 1 && quality <= 100)) throw new RangeError(`quality must be 1-100, got ${quality}`);
  const { ffmpegPath } = await resolveFfmpeg();
  const proc: ToolProcess = startTool(
    'ffmpeg',
    ffmpegPath,
    [
      '-hide_banner',
      '-nostdin',
      '-loglevel',
      'error',
      '-protocol_whitelist',
      'pipe',
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
      '-video_size',
      `${width}x${height}`,
      // Frames are encoded as they arrive: no probing ahead, each JPEG flushed at once.
      '-probesize',
      '32',
      '-analyzeduration',
      '0',
      '-i',
      'pipe:0',
      '-pix_fmt',
      'yuvj420p',
      '-q:v',
      String(qscale(quality)),
      '-flush_packets',
      '1',
      '-f',
      'mjpeg',
      'pipe:1',
    ],
    limits,
  );

  const pending: Pending[] = [];
  const splitter = new JpegSplitter();
  let failure: Error | undefined;
  const fail = (error: Error) => {
    failure ??= error;
    for (const p of pending.splice(0)) p.reject(failure);
  };
  proc.stdout.on('data', (chunk: Buffer) => {
    for (const jpeg of splitter.push(chunk)) {
      const next = pending.shift();
      if (next) next.resolve(jpeg);
    }
  });
  const ended = proc.exited.then((exit) => {
    const spawnError = proc.spawnError();
    const stderr = proc.stderrTail();
    if (spawnError !== undefined) {
      fail(new MediaToolError('TOOL_FAILED', 'ffmpeg could not be started', { tool: 'ffmpeg', stderr, cause: spawnError }));
    } else if (pending.length > 0) {
      const reason = lastLine(stderr) || `exit ${exit.exitCode ?? exit.signal}`;
      fail(
        new MediaToolError('TOOL_FAILED', `Could not encode JPEG: ${reason}`, {
          tool: 'ffmpeg',
          exitCode: exit.exitCode,
          stderr,
        }),
      );
    }
  });

  return {
    encode(frame) {
      if (frame.width !== width || frame.height !== height || frame.data.length !== width * height * 3) {
        return Promise.reject(
          new RangeError(`Frame is ${frame.width}x${frame.height}; this encoder takes ${width}x${height} RGB24`),
        );
      }
      if (failure) return Promise.reject(failure);
      return new Promise<Buffer>((resolve, reject) => {
        pending.push({ resolve, reject });
        proc.stdin.write(frame.data);
      });
    },
    async close() {
      proc.stdin.end();
      await ended;
      if (failure) throw failure;
    },
    async abort() {
      fail(new Error('JPEG encoder stopped'));
      await proc.kill();
    },
  };
}

/** Maps 1-100 onto mjpeg's qscale, where 2 is best and 31 worst. */
export function qscale(quality: number): number {
  return Math.round(31 - ((quality - 1) * 29) / 99);
}

/**
 * Cuts a stream of baseline JPEGs apart. Marker segments are skipped by their
 * length (their payload may hold any byte); in entropy-coded data 0xFF is
 * always followed by 0x00 (stuffing) or a restart marker, so the first other
 * marker there is the end of the image.
 */
export class JpegSplitter {
  private buffer: Buffer = Buffer.alloc(0);
  /** Where scanning resumes in `buffer`, so no byte is read twice. */
  private cursor = 0;
  private inScan = false;

  push(chunk: Buffer): Buffer[] {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const images: Buffer[] = [];
    for (;;) {
      const end = this.findEnd();
      if (end === undefined) break;
      images.push(this.buffer.subarray(0, end));
      this.buffer = this.buffer.subarray(end);
      this.cursor = 0;
      this.inScan = false;
    }
    return images;
  }

  /** The offset just past this image's EOI marker, or undefined until more bytes arrive. */
  private findEnd(): number | undefined {
    const b = this.buffer;
    if (this.cursor === 0) {
      if (b.length < 2) return undefined;
      if (b[0] !== 0xff || b[1] !== 0xd8) throw new Error('JPEG stream out of sync: no start-of-image marker');
      this.cursor = 2;
    }
    let i = this.cursor;
    while (!this.inScan) {
      if (i + 4 > b.length) return this.pause(i);
      const marker = b[i + 1] ?? 0;
      const length = b.readUInt16BE(i + 2);
      if (b[i] !== 0xff) throw new Error('JPEG stream out of sync: expected a marker');
      if (i + 2 + length > b.length) return this.pause(i);
      i += 2 + length;
      if (marker === 0xda) this.inScan = true;
    }
    for (; i + 1 < b.length; i++) {
      if (b[i] !== 0xff) continue;
      const next = b[i + 1] ?? 0;
      // Stuffing, restart markers and fill bytes before a marker stay inside the scan.
      if (next === 0x00 || next === 0xff || (next >= 0xd0 && next <= 0xd7)) continue;
      if (next === 0xd9) return i + 2;
      // Another marker between scans (progressive or multi-scan JPEG): read its segment.
      this.inScan = false;
      this.cursor = i;
      return this.findEnd();
    }
    return this.pause(i);
  }

  private pause(at: number): undefined {
    this.cursor = at;
    return undefined;
  }
}
