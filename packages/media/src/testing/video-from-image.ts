import { MediaToolError } from '../errors.ts';
import { resolveFfmpeg } from '../resolve-ffmpeg.ts';
import { runTool } from '../run-tool.ts';
import { runFfmpeg } from './generate-test-video.ts';

export interface VideoFromImageOptions {
  /** Any still image ffmpeg reads (JPEG, PNG, ...). EXIF orientation is not applied. */
  imagePath: string;
  /** Output .mp4 file. */
  path: string;
  seconds: number;
  fps: number;
  /** Output width; height follows the photo's aspect ratio. Default 640. */
  width?: number | undefined;
}

/**
 * Turns a still photo (e.g. of a person) into a short H.264 mp4 that slowly
 * zooms in by 12% while panning left to right, so every frame differs a
 * little, as in a real hand-held clip, while the subject stays in view.
 */
export async function videoFromImage(options: VideoFromImageOptions): Promise<string> {
  const { imagePath, path, seconds, fps, width = 640 } = options;
  const image = await imageSize(imagePath);
  const outWidth = 2 * Math.round(width / 2);
  const outHeight = 2 * Math.round((outWidth * image.height) / image.width / 2);
  const frames = Math.max(1, Math.round(seconds * fps));

  // zoompan works on whole pixels; zooming into a 2x copy halves the jitter.
  const zoom = `1+0.12*on/${frames}`;
  const filter = [
    `scale=${2 * outWidth}:${2 * outHeight}`,
    'setsar=1',
    `zoompan=z='${zoom}':x='(iw-iw/zoom)*on/${frames}':y='(ih-ih/zoom)/2':d=1:s=${outWidth}x${outHeight}:fps=${fps}`,
  ].join(',');
  await runFfmpeg([
    '-loop',
    '1',
    '-framerate',
    String(fps),
    '-i',
    imagePath,
    '-vf',
    filter,
    '-frames:v',
    String(frames),
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-crf',
    '20',
    '-pix_fmt',
    'yuv420p',
    '-movflags',
    '+faststart',
    '-f',
    'mp4',
    path,
  ]);
  return path;
}

async function imageSize(imagePath: string): Promise<{ width: number; height: number }> {
  const { ffprobePath } = await resolveFfmpeg();
  const result = await runTool(
    'ffprobe',
    ffprobePath,
    ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height', '-of', 'csv=p=0:s=x', imagePath],
    { timeoutMs: 20_000 },
  );
  const [width, height] = result.stdout.toString('utf8').trim().split('x').map(Number);
  if (result.exitCode !== 0 || !width || !height) {
    throw new MediaToolError('TOOL_FAILED', `Could not read the size of image ${imagePath}`, {
      tool: 'ffprobe',
      exitCode: result.exitCode,
      stderr: result.stderr,
    });
  }
  return { width, height };
}
