import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';

import { describe, expect, it } from 'vitest';

import { sniffContainer } from '../src/index.ts';
import { runFfmpeg } from '../src/testing/generate-test-video.ts';
import { generateTestAudio, generateTestVideo } from '../src/testing/index.ts';
import { useTempDir } from './helpers/temp-dir.ts';

/** First 48 bytes of files the bundled ffmpeg wrote (testsrc2, H.264/VP8), so these tests need no ffmpeg. */
const HEADERS = {
  mp4: '000000206674797069736f6d0000020069736f6d69736f32617663316d70343100000008667265650001f1c96d646174',
  mov: '000000146674797071742020000002007174202000000008776964650001f1c96d646174000002540605ffff50dc45e9',
  webm: '1a45dfa3010000000000001f4286810142f7810142f2810442f381084282847765626d42878102428581021853806701',
  threeGp: '0000002066747970336770360000010069736f6d69736f326176633133677036000000086672656500008cb86d646174',
  mkv: '1a45dfa301000000000000234286810142f7810142f2810442f381084282886d6174726f736b61428781044285810218',
  m4a: '00000018667479704d3441200000020069736f6d69736f320000000866726565000022da6d646174de02004c61766335',
  jpeg: 'ffd8ffe000104a46494600010200000100010000fffe00104c61766335382e34322e31303000ffdb0043000808080908',
};

const hex = (text: string) => Uint8Array.from(Buffer.from(text, 'hex'));

/** An `ftyp` box as phones and cameras write it. */
function ftyp(major: string, ...compatible: string[]): Uint8Array {
  const brands = [major, '\0\0\0\0', ...compatible].join('');
  const box = Buffer.alloc(8 + brands.length);
  box.writeUInt32BE(box.length, 0);
  box.write(`ftyp${brands}`, 4, 'latin1');
  return Uint8Array.from(box);
}

describe('sniffContainer', () => {
  it.each([
    ['mp4', HEADERS.mp4, 'mp4'],
    ['mov', HEADERS.mov, 'quicktime'],
    ['webm', HEADERS.webm, 'webm'],
    ['3gp', HEADERS.threeGp, '3gp'],
    ['mkv', HEADERS.mkv, 'matroska'],
  ] as const)('recognises an ffmpeg %s header', (_name, header, expected) => {
    expect(sniffContainer(hex(header))).toBe(expected);
  });

  it.each([
    ['iPhone .mov', ftyp('qt  ', 'qt  '), 'quicktime'],
    ['Android .mp4', ftyp('mp42', 'isom', 'mp42'), 'mp4'],
    ['Android .3gp', ftyp('3gp4', 'isom', '3gp4'), '3gp'],
    ['vendor brand with iso compatibility', ftyp('XYZW', 'isom', 'avc1'), 'mp4'],
    ['HEIC photo', ftyp('heic', 'mif1', 'heic'), undefined],
    ['AVIF photo', ftyp('avif', 'avif', 'mif1', 'miaf'), undefined],
    ['vendor brand that is a HEIF photo', ftyp('XYZW', 'mif1', 'isom'), undefined],
    ['unknown brands only', ftyp('XYZW', 'ABCD'), undefined],
  ] as const)('classifies an %s ftyp box', (_name, header, expected) => {
    expect(sniffContainer(header)).toBe(expected);
  });

  it('recognises an old QuickTime file that starts with its moov atom', () => {
    expect(sniffContainer(hex('0000006c6d6f6f76000000006d766864'))).toBe('quicktime');
  });

  it('rejects audio (M4A) even though it is an MP4 box structure', () => {
    expect(sniffContainer(hex(HEADERS.m4a))).toBeUndefined();
  });

  it.each([
    ['empty', new Uint8Array()],
    ['a JPEG', hex(HEADERS.jpeg)],
    ['a PNG', hex('89504e470d0a1a0a0000000d49484452000001e0')],
    ['a PDF', new TextEncoder().encode('%PDF-1.7\n%\u00e2\u00e3\u00cf\u00d3\n1 0 obj\n')],
    ['a text file', new TextEncoder().encode('Training plan: 3x10 squats, then sprints.\n')],
    ['a text file mentioning ftyp', new TextEncoder().encode('abcdftypisom and moov are box names')],
    ['an mp4 header cut to 11 bytes', hex(HEADERS.mp4).subarray(0, 11)],
    ['an ftyp box claiming 8 bytes', hex('0000000866747970')],
    ['a WebM header cut before its doc type', hex(HEADERS.webm).subarray(0, 24)],
    ['EBML with an unknown doc type', hex('1a45dfa38b4282886d6b61726f737461')],
  ])('returns undefined for %s', (_name, bytes) => {
    expect(sniffContainer(bytes)).toBeUndefined();
  });

  it('returns undefined for random bytes', () => {
    for (let i = 0; i < 500; i++) expect(sniffContainer(randomBytes(4096))).toBeUndefined();
  });

  describe('on files this ffmpeg writes now', () => {
    const dir = useTempDir();
    const opts = { seconds: 0.5, width: 160, height: 120, fps: 10 };

    it.each([
      ['mp4', 'mp4'],
      ['mov', 'quicktime'],
      ['webm', 'webm'],
    ] as const)('sniffs a generated .%s as %s', async (container, expected) => {
      const path = dir.path(`clip.${container}`);
      await generateTestVideo({ ...opts, path, container });
      expect(sniffContainer((await readFile(path)).subarray(0, 64))).toBe(expected);
    });

    it('sniffs generated .3gp and .mkv, and not .m4a or .jpg', async () => {
      const source = ['-f', 'lavfi', '-i', 'testsrc2=size=176x144:rate=10:duration=0.5'];
      const h264 = ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'];
      await Promise.all([
        runFfmpeg([...source, ...h264, dir.path('clip.3gp')]),
        runFfmpeg([...source, ...h264, dir.path('clip.mkv')]),
        runFfmpeg([...source, '-frames:v', '1', dir.path('still.jpg')]),
        generateTestAudio({ path: dir.path('tone.m4a'), seconds: 0.5 }),
        writeFile(dir.path('notes.txt'), 'not a video'),
      ]);
      const sniff = async (name: string) => sniffContainer(await readFile(dir.path(name)));
      expect(await sniff('clip.3gp')).toBe('3gp');
      expect(await sniff('clip.mkv')).toBe('matroska');
      expect(await sniff('tone.m4a')).toBeUndefined();
      expect(await sniff('still.jpg')).toBeUndefined();
      expect(await sniff('notes.txt')).toBeUndefined();
    });
  });
});
