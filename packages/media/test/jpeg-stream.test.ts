import { describe, expect, it } from 'vitest';

import { JpegSplitter } from '../src/jpeg-stream.ts';

describe('JpegSplitter', () => {
  // SOI, a comment segment whose payload holds FF D9, SOS (empty header), stuffed FF 00, a restart marker, fill, EOI.
  const image = (fill: number) =>
    Buffer.from([
      0xff,
      0xd8,
      0xff,
      0xfe,
      0x00,
      0x04,
      0xff,
      0xd9,
      0xff,
      0xda,
      0x00,
      0x02,
      fill,
      0xff,
      0x00,
      0xff,
      0xd3,
      0x11,
      0xff,
      0xff,
      0xd9,
    ]);

  it('cuts images at their end marker only, whatever the chunking', () => {
    const stream = Buffer.concat([image(1), image(2), image(3)]);
    for (const size of [1, 2, 5, stream.length]) {
      const splitter = new JpegSplitter();
      const out: Buffer[] = [];
      for (let i = 0; i < stream.length; i += size) out.push(...splitter.push(stream.subarray(i, i + size)));
      expect(out.map((b) => b.toString('hex'))).toEqual([image(1), image(2), image(3)].map((b) => b.toString('hex')));
    }
  });
});
