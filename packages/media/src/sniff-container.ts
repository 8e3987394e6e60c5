import { ascii, readUint32 } from './bytes.ts';
import { EBML_DOCTYPE_ID, EBML_MAGIC, readVint } from './ebml.ts';

export type ContainerKind = 'mp4' | 'quicktime' | 'webm' | '3gp' | 'matroska';

/** Bytes `sniffContainer` needs at most; a larger prefix is fine. */
export const SNIFF_BYTES = 4096;

/** ISO BMFF brands of plain MP4 video (ISO, Apple iTunes video, DASH, Sony, Nikon, Flash). */
const MP4_BRANDS = new Set([
  'isom',
  'iso2',
  'iso3',
  'iso4',
  'iso5',
  'iso6',
  'iso7',
  'iso8',
  'iso9',
  'mp41',
  'mp42',
  'mp71',
  'avc1',
  'dash',
  'M4V ',
  'M4VH',
  'M4VP',
  'mmp4',
  'MSNV',
  'XAVC',
  'NDAS',
  'NDSC',
  'NDSH',
  'NDSM',
  'NDSP',
  'NDSS',
  'NDXC',
  'NDXH',
  'NDXM',
  'NDXP',
  'NDXS',
  'f4v ',
  'kddi',
  'KDDI',
  'MQT ',
  'CAEP',
]);

/**
 * Brands of ISO BMFF files that are not videos: HEIF/AVIF photos (what an
 * iPhone saves), JPEG 2000, and iTunes audio. Checked first because such
 * files also list generic brands like `isom`.
 */
const NOT_VIDEO_BRANDS = new Set([
  'heic',
  'heix',
  'heim',
  'heis',
  'hevc',
  'hevx',
  'mif1',
  'msf1',
  'avif',
  'avis',
  'avio',
  'jp2 ',
  'jpx ',
  'jpm ',
  'M4A ',
  'M4B ',
  'M4P ',
  'crx ',
]);

const MAX_FTYP_BYTES = 4096;

/** Top-level QuickTime atoms that old .mov files (without `ftyp`) start with. */
const BARE_QUICKTIME_ATOMS = new Set(['moov', 'mdat', 'wide', 'pnot']);

/**
 * Identifies a video container from a file's first bytes (at least the first
 * 64; `SNIFF_BYTES` is plenty), without running ffprobe. Pure and cheap, so a
 * worker can reject a renamed photo or document before downloading it all.
 * Returns `undefined` for anything else, including HEIC photos and M4A audio
 * that share the MP4 box structure.
 */
export function sniffContainer(firstBytes: Uint8Array): ContainerKind | undefined {
  return sniffIsoBmff(firstBytes) ?? sniffEbml(firstBytes);
}

function sniffIsoBmff(bytes: Uint8Array): ContainerKind | undefined {
  if (bytes.length < 12) return undefined;
  const boxSize = readUint32(bytes, 0);
  const boxType = ascii(bytes, 4, 4);
  if (boxType !== 'ftyp') {
    return BARE_QUICKTIME_ATOMS.has(boxType) && boxSize >= 8 ? 'quicktime' : undefined;
  }
  // size, type, major brand, minor version: a real ftyp box is at least 16
  // bytes, and a few dozen brands at most (text that happens to say "ftyp" is not).
  if (boxSize < 16 || boxSize > MAX_FTYP_BYTES || bytes.length < 16) return undefined;

  const major = ascii(bytes, 8, 4);
  const compatible: string[] = [];
  for (let offset = 16; offset + 4 <= Math.min(boxSize, bytes.length); offset += 4) {
    compatible.push(ascii(bytes, offset, 4));
  }

  if (NOT_VIDEO_BRANDS.has(major)) return undefined;
  const fromMajor = brandKind(major);
  if (fromMajor !== undefined) return fromMajor;
  // Unknown major brand (a vendor's own): decide by what it claims to be compatible with.
  if (compatible.some((brand) => NOT_VIDEO_BRANDS.has(brand))) return undefined;
  for (const brand of compatible) {
    const kind = brandKind(brand);
    if (kind !== undefined) return kind;
  }
  return undefined;
}

function brandKind(brand: string): ContainerKind | undefined {
  if (brand === 'qt  ') return 'quicktime';
  if (brand.startsWith('3g')) return '3gp';
  if (MP4_BRANDS.has(brand)) return 'mp4';
  return undefined;
}

function sniffEbml(bytes: Uint8Array): ContainerKind | undefined {
  if (!EBML_MAGIC.every((byte, i) => bytes[i] === byte)) return undefined;
  const headerSize = readVint(bytes, EBML_MAGIC.length, false);
  if (headerSize === undefined) return undefined;

  let pos = EBML_MAGIC.length + headerSize.length;
  const end = Math.min(bytes.length, pos + headerSize.value);
  while (pos < end) {
    const id = readVint(bytes, pos, true);
    if (id === undefined) return undefined;
    pos += id.length;
    const size = readVint(bytes, pos, false);
    if (size === undefined) return undefined;
    pos += size.length;
    if (id.value === EBML_DOCTYPE_ID) {
      const docType = ascii(bytes, pos, Math.min(size.value, end - pos)).replace(/\0+$/, '');
      if (docType === 'webm') return 'webm';
      if (docType === 'matroska') return 'matroska';
      return undefined;
    }
    pos += size.value;
  }
  return undefined;
}
