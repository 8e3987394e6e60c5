import { describe, expect, it } from 'vitest';

import { videoContentTypeOf } from '@coach/client';

import { openFileAsBlob } from '../src/upload/node-file.browser.ts';

describe('videoContentTypeOf', () => {
  it('takes the MIME type a browser gives a picked file, else its extension', () => {
    expect(videoContentTypeOf(new File(['x'], 'nets.bin', { type: 'video/quicktime' }))).toBe('video/quicktime');
    expect(videoContentTypeOf(new File(['x'], 'NETS.MP4'))).toBe('video/mp4');
    expect(videoContentTypeOf(new File(['x'], 'clip.3gp', { type: 'application/octet-stream' }))).toBe('video/3gpp');
    expect(videoContentTypeOf('match.webm')).toBe('video/webm');
  });

  it('answers undefined for anything the API would not accept as a video', () => {
    expect(videoContentTypeOf(new File(['notes'], 'notes.txt', { type: 'text/plain' }))).toBeUndefined();
    expect(videoContentTypeOf(new File(['x'], 'clip.avi', { type: 'video/x-msvideo' }))).toBeUndefined();
    expect(videoContentTypeOf(new Blob(['x']))).toBeUndefined();
  });
});

describe('file paths outside Node', () => {
  it('are refused with a message that says what to pass instead (the non-node condition of #node-file)', async () => {
    await expect(openFileAsBlob('/videos/clip.mp4')).rejects.toThrow(/only Node can open.*File or Blob/);
  });
});
