import { execFileSync } from 'node:child_process';
import { copyFile, readFile, writeFile } from 'node:fs/promises';

import { beforeAll, describe, expect, it } from 'vitest';

import { MediaToolError, NotAVideoError, probeVideo, resolveFfmpeg, type NotAVideoCode } from '../src/index.ts';
import { readRotation } from '../src/probe-video.ts';
import { runTool } from '../src/run-tool.ts';
import { runFfmpeg } from '../src/testing/generate-test-video.ts';
import { generateTestAudio, generateTestVideo } from '../src/testing/index.ts';
import { childPids, waitFor } from './helpers/processes.ts';
import { useTempDir } from './helpers/temp-dir.ts';

const dir = useTempDir();
const clip = { seconds: 2, width: 320, height: 240, fps: 15 };

beforeAll(async () => {
  await Promise.all([
    generateTestVideo({ ...clip, path: dir.path('clip.mp4'), container: 'mp4', withAudio: true }),
    generateTestVideo({ ...clip, path: dir.path('clip.mov'), container: 'mov' }),
    generateTestVideo({ ...clip, path: dir.path('clip.webm'), container: 'webm' }),
    generateTestVideo({ ...clip, path: dir.path('portrait.mp4'), container: 'mp4', rotation: 90 }),
    generateTestVideo({ ...clip, path: dir.path('upside-down.mov'), container: 'mov', rotation: 180 }),
    generateTestAudio({ path: dir.path('voice-memo.m4a'), seconds: 1 }),
    runFfmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=320x240', '-frames:v', '1', dir.path('photo.jpg')]),
  ]);
  // A phone upload cut off halfway: once with the index at the end (ffmpeg's
  // default), once with it first (faststart, as phones and browsers write).
  await runFfmpeg(['-i', dir.path('clip.mp4'), '-c', 'copy', '-movflags', '+faststart', dir.path('faststart.mp4')]);
  for (const name of ['clip.mp4', 'faststart.mp4', 'clip.webm']) {
    const bytes = await readFile(dir.path(name));
    await writeFile(dir.path(`cut-${name}`), bytes.subarray(0, Math.floor(bytes.length / 2)));
  }
  // Written to a pipe, WebM has no duration and an unknown Segment size, like a browser's MediaRecorder upload.
  const { ffmpegPath } = await resolveFfmpeg();
  const streamed = await runTool(
    'ffmpeg',
    ffmpegPath,
    [
      '-v',
      'error',
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=320x240:rate=15:duration=2',
      '-c:v',
      'libvpx',
      '-deadline',
      'realtime',
      '-f',
      'webm',
      'pipe:1',
    ],
    { timeoutMs: 30_000 },
  );
  await writeFile(dir.path('recorded.webm'), streamed.stdout);
  await copyFile(dir.path('photo.jpg'), dir.path('photo-renamed.mp4'));
  await writeFile(dir.path('notes.mp4'), 'Session notes: knees caving on the third set.\n'.repeat(40));
  await writeFile(dir.path('empty.mov'), '');
});

async function rejection(promise: Promise<unknown>): Promise<NotAVideoError> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(NotAVideoError);
  return error as NotAVideoError;
}

describe('probeVideo', () => {
  it.each([
    ['mp4', 'h264'],
    ['mov', 'h264'],
    ['webm', 'vp8'],
  ])('reads a generated .%s', async (container, codec) => {
    const probe = await probeVideo(dir.path(`clip.${container}`));
    expect(probe).toMatchObject({
      width: 320,
      height: 240,
      displayWidth: 320,
      displayHeight: 240,
      rotation: 0,
      codec,
      hasVideo: true,
      videoStreamIndex: 0,
    });
    expect(probe.durationSeconds).toBeCloseTo(2, 1);
    expect(probe.frameRate).toBeCloseTo(15, 5);
  });

  it('notices the audio track', async () => {
    expect((await probeVideo(dir.path('clip.mp4'))).hasAudio).toBe(true);
    expect((await probeVideo(dir.path('clip.mov'))).hasAudio).toBe(false);
  });

  it('works out the duration of a live-recorded WebM that does not state it', async () => {
    const probe = await probeVideo(dir.path('recorded.webm'));
    expect(probe).toMatchObject({ codec: 'vp8', width: 320, height: 240 });
    expect(probe.durationSeconds).toBeCloseTo(2, 1);
  });

  it('reports the display rotation of a portrait phone video', async () => {
    const probe = await probeVideo(dir.path('portrait.mp4'));
    expect(probe).toMatchObject({ rotation: 90, width: 320, height: 240, displayWidth: 240, displayHeight: 320 });
  });

  it('reports a 180 degree rotation without swapping the display size', async () => {
    const probe = await probeVideo(dir.path('upside-down.mov'));
    expect(probe).toMatchObject({ rotation: 180, displayWidth: 320, displayHeight: 240 });
  });

  it.each<[string, NotAVideoCode]>([
    ['photo-renamed.mp4', 'NOT_A_VIDEO'],
    ['photo.jpg', 'NOT_A_VIDEO'],
    ['notes.mp4', 'NOT_A_VIDEO'],
    ['empty.mov', 'NOT_A_VIDEO'],
    ['voice-memo.m4a', 'NO_VIDEO_STREAM'],
    ['cut-clip.mp4', 'UNREADABLE_VIDEO'],
    ['cut-faststart.mp4', 'UNREADABLE_VIDEO'],
    ['cut-clip.webm', 'UNREADABLE_VIDEO'],
  ])('rejects %s with %s', async (name, code) => {
    const error = await rejection(probeVideo(dir.path(name)));
    expect(error.code).toBe(code);
    expect(error.details).toBeTruthy();
  });

  it('gives a coach-readable message with no tool output or paths in it', async () => {
    const error = await rejection(probeVideo(dir.path('cut-clip.mp4')));
    expect(error.message).toMatch(/could not be read/);
    expect(error.message).not.toMatch(/ffprobe|moov|Invalid data|\//);
    expect(error.details).toMatch(/moov atom not found/);
  });

  it('lets a missing file fail as ENOENT, not as a coach-facing error', async () => {
    await expect(probeVideo(dir.path('missing.mp4'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses a path that is not a regular file instead of blocking on it', async () => {
    const fifo = dir.path('upload.fifo');
    execFileSync('mkfifo', [fifo]);
    await expect(probeVideo(fifo)).rejects.toThrow(/Not a regular file/);
  });

  it('rejects at once with an already-aborted signal', async () => {
    const error: unknown = await probeVideo(dir.path('clip.mp4'), { signal: AbortSignal.abort() }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'AbortError' });
  });
});

// probeVideo's time limit and abort run through runTool; ffprobe opening a
// FIFO that nobody writes blocks forever, a stand-in for a stuck read.
describe('runTool (under probeVideo)', () => {
  it('kills the tool when it runs past the timeout', async () => {
    const fifo = dir.path('stuck.fifo');
    execFileSync('mkfifo', [fifo]);
    const { ffprobePath } = await resolveFfmpeg();
    const started = Date.now();
    const error: unknown = await runTool('ffprobe', ffprobePath, [fifo], { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MediaToolError);
    expect(error).toMatchObject({ code: 'TIMEOUT', tool: 'ffprobe' });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(childPids('ffprobe')).toEqual([]);
  });

  it('kills the tool on abort and rethrows the abort reason', async () => {
    const fifo = dir.path('stuck-abort.fifo');
    execFileSync('mkfifo', [fifo]);
    const { ffprobePath } = await resolveFfmpeg();
    const controller = new AbortController();
    const running = runTool('ffprobe', ffprobePath, [fifo], { timeoutMs: 30_000, signal: controller.signal });
    await waitFor(() => childPids('ffprobe')[0]);
    controller.abort();
    await expect(running).rejects.toMatchObject({ name: 'AbortError' });
    expect(childPids('ffprobe')).toEqual([]);
  });
});

describe('readRotation', () => {
  const matrix = (rotation: number) => ({ side_data_list: [{ side_data_type: 'Display Matrix', rotation }] });

  it.each([
    [-90, 90],
    [90, 270],
    [180, 180],
    [-180, 180],
    [0, 0],
    [-89.99, 90],
  ])('turns display-matrix rotation %d (counter-clockwise) into %d clockwise', (ccw, expected) => {
    expect(readRotation(matrix(ccw))).toBe(expected);
  });

  it('falls back to the rotate tag older ffprobe versions print', () => {
    expect(readRotation({ tags: { rotate: '90' } })).toBe(90);
    expect(readRotation({ tags: { rotate: '270' } })).toBe(270);
    expect(readRotation({ tags: { language: 'und' } })).toBe(0);
    expect(readRotation({})).toBe(0);
  });

  it('trusts the display matrix over the tag', () => {
    expect(readRotation({ ...matrix(-90), tags: { rotate: '0' } })).toBe(90);
  });
});
