// The real photo the pose tests run on; fetched and cached by the shared test helper.
import { readFileSync } from 'node:fs';

import jpeg from 'jpeg-js';

import { testPhotoPath } from '../../../../test/helpers/test-photo.ts';
import type { RgbFrame } from '../../src/index.ts';

export { PERSON_BOX, testPhotoPath } from '../../../../test/helpers/test-photo.ts';

export function loadTestPhoto(): RgbFrame {
  const decoded = jpeg.decode(readFileSync(testPhotoPath()), { useTArray: true, formatAsRGBA: false });
  return { data: decoded.data, width: decoded.width, height: decoded.height };
}

/** The photo pasted onto a black canvas at (left, top), pixels outside the canvas dropped. */
export function placeOnCanvas(photo: RgbFrame, width: number, height: number, left: number, top: number): RgbFrame {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < photo.height; y++) {
    const ty = y + top;
    if (ty < 0 || ty >= height) continue;
    const from = Math.max(0, -left);
    const to = Math.min(photo.width, width - left);
    if (to <= from) continue;
    data.set(photo.data.subarray((y * photo.width + from) * 3, (y * photo.width + to) * 3), (ty * width + left + from) * 3);
  }
  return { data, width, height };
}
