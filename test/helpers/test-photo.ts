// The real photo the pose tests run on: OpenCV's messi5.jpg, taken from Debian's opencv-doc
// package at test time and cached under .data/pose-fixtures/. It is not vendored: it is a
// press photo (note the agency watermark) whose photographer's licence is not documented
// anywhere, so only Debian redistributes it. Needs apt-get and dpkg-deb, as on CI.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const PHOTO_IN_PACKAGE = './usr/share/doc/opencv-doc/examples/data/messi5.jpg';
const PHOTO_SHA256 = '1d570e49654e84c7a943918537bd9e5e1ef82920152e147c834006e235be97c9';
const CACHE = path.resolve(import.meta.dirname, '../../.data/pose-fixtures/messi5.jpg');

/**
 * Where the person is in messi5.jpg (548×342), generously: the outstretched right hand reaches
 * x≈70, the left foot x≈455; head top y≈60. Every keypoint must land inside.
 */
export const PERSON_BOX = { left: 55, top: 50, right: 470, bottom: 342 };

export function testPhotoPath(): string {
  if (existsSync(CACHE) && sha256(readFileSync(CACHE)) === PHOTO_SHA256) return CACHE;
  const work = mkdtempSync(path.join(tmpdir(), 'pose-photo-'));
  try {
    downloadOpencvDoc(work);
    const deb = readdirSync(work).find((name) => name.startsWith('opencv-doc_') && name.endsWith('.deb'));
    if (!deb) throw new Error('apt-get download produced no opencv-doc .deb');
    mkdirSync(path.join(work, 'x'));
    // --occurrence=1 stops tar at the one file instead of unpacking ~300 MB of docs;
    // dpkg-deb then dies of SIGPIPE, which is expected.
    const extract = spawnSync(
      'sh',
      [
        '-c',
        'dpkg-deb --fsys-tarfile "$1" 2>/dev/null | tar -xf - --occurrence=1 -C "$2" "$3"',
        'sh',
        deb,
        'x',
        PHOTO_IN_PACKAGE,
      ],
      { cwd: work, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const extracted = path.join(work, 'x', PHOTO_IN_PACKAGE);
    if (extract.status !== 0 || !existsSync(extracted)) {
      throw new Error(`Could not extract ${PHOTO_IN_PACKAGE} from ${deb}: ${extract.stderr.toString()}`);
    }
    const digest = sha256(readFileSync(extracted));
    if (digest !== PHOTO_SHA256) throw new Error(`messi5.jpg from ${deb} has sha256 ${digest}, expected ${PHOTO_SHA256}`);
    mkdirSync(path.dirname(CACHE), { recursive: true });
    renameSync(extracted, CACHE); // atomic, so test files fetching it in parallel cannot see half a file
    return CACHE;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function downloadOpencvDoc(cwd: string): void {
  const download = () => spawnSync('apt-get', ['download', 'opencv-doc'], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  let result = download();
  if (result.status !== 0) {
    // A fresh machine may have no package lists yet.
    execFileSync('apt-get', ['update'], { stdio: 'ignore' });
    result = download();
  }
  if (result.status !== 0) {
    throw new Error(`apt-get download opencv-doc failed (needs Debian's archive): ${result.stderr.toString()}`);
  }
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
