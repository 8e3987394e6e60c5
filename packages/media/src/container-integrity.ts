import type { FileHandle } from 'node:fs/promises';

import { ascii, readUint32 } from './bytes.ts';
import { EBML_SEGMENT_ID, readVint } from './ebml.ts';
import type { ContainerKind } from './sniff-container.ts';

/** A fragmented MP4 has two boxes per fragment; this covers hours of one-second fragments. */
const MAX_TOP_LEVEL_BOXES = 100_000;

/**
 * Finds a cut-off upload that ffprobe accepts. An MP4 written with its index
 * first ("faststart", what phones and browsers upload) probes fine when its
 * tail is missing, and decoding then silently stops early. The container's
 * own sizes give it away: a top-level box (or the Matroska Segment) that
 * claims to end past the end of the file. Returns what is wrong, or
 * `undefined` if the structure fits the file.
 */
export async function findTruncation(file: FileHandle, kind: ContainerKind): Promise<string | undefined> {
  const { size: fileSize } = await file.stat();
  return kind === 'webm' || kind === 'matroska' ? checkEbml(file, fileSize) : checkIsoBmff(file, fileSize);
}

async function checkIsoBmff(file: FileHandle, fileSize: number): Promise<string | undefined> {
  const header = new Uint8Array(16);
  let offset = 0;
  for (let boxes = 0; offset < fileSize && boxes < MAX_TOP_LEVEL_BOXES; boxes++) {
    const { bytesRead } = await file.read(header, 0, 16, offset);
    if (bytesRead < 8) return `box header cut off at byte ${offset} of ${fileSize}`;
    const type = ascii(header, 4, 4);
    let size = readUint32(header, 0);
    if (size === 0) return undefined; // "extends to the end of the file"
    if (size === 1) {
      if (bytesRead < 16) return `box header cut off at byte ${offset} of ${fileSize}`;
      size = readUint32(header, 8) * 2 ** 32 + readUint32(header, 12);
    }
    if (size < 8) return `invalid size ${size} for box '${type}' at byte ${offset}`;
    if (offset + size > fileSize) {
      return `'${type}' box at byte ${offset} needs ${size} bytes but the file ends ${fileSize - offset} bytes later`;
    }
    offset += size;
  }
  return undefined;
}

async function checkEbml(file: FileHandle, fileSize: number): Promise<string | undefined> {
  const head = new Uint8Array(128);
  const { bytesRead } = await file.read(head, 0, head.length, 0);
  const bytes = head.subarray(0, bytesRead);
  const headerSize = readVint(bytes, 4, false);
  if (headerSize === undefined || !Number.isFinite(headerSize.value)) return undefined;
  const segmentAt = 4 + headerSize.length + headerSize.value;
  const id = readVint(bytes, segmentAt, true);
  if (id?.value !== EBML_SEGMENT_ID) return undefined;
  const size = readVint(bytes, segmentAt + id.length, false);
  // Live recordings (MediaRecorder) write an unknown size: nothing to check against.
  if (size === undefined || !Number.isFinite(size.value)) return undefined;
  const end = segmentAt + id.length + size.length + size.value;
  return end > fileSize ? `Segment needs ${end} bytes but the file has ${fileSize}` : undefined;
}
