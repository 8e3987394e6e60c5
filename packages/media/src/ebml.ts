/** Every EBML file (Matroska, WebM) starts with the EBML header element's ID. */
export const EBML_MAGIC = [0x1a, 0x45, 0xdf, 0xa3] as const;
export const EBML_DOCTYPE_ID = 0x4282;
export const EBML_SEGMENT_ID = 0x18538067;

/**
 * Reads an EBML variable-length integer. Element IDs keep their length
 * marker bit (that is how IDs are written in the spec); sizes drop it. An
 * all-ones size means "unknown" and is returned as Infinity.
 */
export function readVint(bytes: Uint8Array, offset: number, keepMarker: boolean): { value: number; length: number } | undefined {
  const first = bytes[offset];
  if (first === undefined || first === 0) return undefined;
  const length = Math.clz32(first) - 23; // leading zeros within the byte, plus one
  if (offset + length > bytes.length) return undefined;

  let value = keepMarker ? first : first & (0xff >> length);
  let isAllOnes = value === 0xff >> length;
  for (let i = 1; i < length; i++) {
    const byte = bytes[offset + i] ?? 0;
    value = value * 256 + byte;
    isAllOnes &&= byte === 0xff;
  }
  return { value: !keepMarker && isAllOnes ? Infinity : value, length };
}
