/** A decoded video frame or photo: packed RGB24, rows top to bottom, no row padding. */
export interface RgbFrame {
  /** `width * height * 3` bytes (what `ffmpeg -f rawvideo -pix_fmt rgb24` writes). */
  data: Uint8Array;
  width: number;
  height: number;
}

export function assertRgbFrame(frame: RgbFrame): void {
  const { data, width, height } = frame;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new RangeError(`Frame size must be positive integers, got ${width}x${height}`);
  }
  if (!(data instanceof Uint8Array)) throw new TypeError('Frame data must be a Uint8Array of RGB24 pixels');
  if (data.length !== width * height * 3) {
    throw new RangeError(`Frame data has ${data.length} bytes; ${width}x${height} RGB24 needs ${width * height * 3}`);
  }
}
