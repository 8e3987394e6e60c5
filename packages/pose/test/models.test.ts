import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { MOVENET_MODELS } from '../src/index.ts';

const MODELS_DIR = path.resolve(import.meta.dirname, '../models');

describe('vendored models', () => {
  it('match the checksums recorded in models/SOURCE.md', () => {
    const source = readFileSync(path.join(MODELS_DIR, 'SOURCE.md'), 'utf8');
    const listed = [...source.matchAll(/^([0-9a-f]{64}) {2}(\S+)$/gm)];
    expect(listed).toHaveLength(4);
    for (const [, sha256, file = ''] of listed) {
      const digest = createHash('sha256')
        .update(readFileSync(path.join(MODELS_DIR, file)))
        .digest('hex');
      expect(digest, file).toBe(sha256);
    }
  });

  it.each(Object.entries(MOVENET_MODELS))('%s declares the input size the estimator resizes to', (_name, info) => {
    const json = JSON.parse(readFileSync(path.join(info.directory, 'model.json'), 'utf8')) as {
      signature: { inputs: Record<string, { tensorShape: { dim: { size: string }[] } }> };
    };
    const dims = Object.values(json.signature.inputs)[0]?.tensorShape.dim.map((d) => Number(d.size));
    expect(dims).toEqual([1, info.inputSize, info.inputSize, 3]);
  });
});
