import { once } from 'node:events';
import { createWriteStream } from 'node:fs';

/**
 * Writes `head` as a JSON object whose last member, `frames`, is an array filled one element at a
 * time from `frames`: a long clip's per-frame data (~25 KB a frame) is never one string in memory.
 */
export async function writeFramesDocument(file: string, head: Record<string, unknown>, frames: Iterable<unknown>): Promise<void> {
  const out = createWriteStream(file);
  const failed = new Promise<never>((_, reject) => out.once('error', reject));
  failed.catch(() => {}); // raced below
  const write = async (text: string) => {
    if (!out.write(text)) await Promise.race([once(out, 'drain'), failed]);
  };
  const opening = JSON.stringify({ ...head, frames: [] }).slice(0, -2); // drop the empty array's "]}"
  await write(opening);
  let first = true;
  for (const frame of frames) {
    await write((first ? '' : ',') + JSON.stringify(frame));
    first = false;
  }
  await write(']}');
  out.end();
  await Promise.race([once(out, 'finish'), failed]);
}
