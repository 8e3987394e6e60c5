// The two pieces of a JPEG stream out of ffmpeg: its quality scale, and cutting its output apart.

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
