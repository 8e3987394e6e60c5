import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { videoFromImage } from '@coach/media/testing';

import { testPhotoPath } from './test-photo.ts';

/**
 * A real clip of a person (1 s, 10 fps) grown to `sizeBytes` with a trailing
 * MP4 `free` box, which every MP4 reader skips: a file large enough to go up
 * in several multipart parts that still analyses to `completed` in seconds.
 */
export async function paddedClipOfPerson(sizeBytes: number): Promise<Uint8Array> {
  const dir = await mkdtemp(path.join(tmpdir(), 'padded-clip-'));
  try {
    const clip = await readFile(
      await videoFromImage({ imagePath: testPhotoPath(), path: path.join(dir, 'clip.mp4'), seconds: 1, fps: 10 }),
    );
    const padding = sizeBytes - clip.byteLength;
    if (padding < 8) throw new Error(`the clip alone is ${clip.byteLength} bytes, over ${sizeBytes}`);
    const bytes = new Uint8Array(sizeBytes);
    bytes.set(clip);
    const box = new DataView(bytes.buffer, clip.byteLength, 8);
    box.setUint32(0, padding);
    bytes.set(new TextEncoder().encode('free'), clip.byteLength + 4);
    return bytes;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
