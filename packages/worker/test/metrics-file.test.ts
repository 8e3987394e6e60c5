import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { writeFramesDocument } from '../src/analysis/metrics-file.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'metrics-file-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writeFramesDocument', () => {
  it('writes the head and every frame as one JSON document, taking frames one at a time', async () => {
    const file = path.join(dir, 'metrics.json');
    let made = 0;
    function* frames() {
      for (let index = 0; index < 3000; index++) {
        made++;
        yield { index, keypoints: Array.from({ length: 17 }, (_, k) => ({ x: k, y: index })) };
      }
    }
    await writeFramesDocument(file, { schemaVersion: 2, summary: { reliable: true } }, frames());
    const document = JSON.parse(await readFile(file, 'utf8')) as { schemaVersion: number; frames: { index: number }[] };
    expect(made).toBe(3000);
    expect(document.schemaVersion).toBe(2);
    expect(document.frames.map((f) => f.index)).toEqual(Array.from({ length: 3000 }, (_, i) => i));
  });

  it('writes an empty frames array as valid JSON', async () => {
    const file = path.join(dir, 'empty.json');
    await writeFramesDocument(file, { a: 1 }, []);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ a: 1, frames: [] });
  });

  it('fails when the file cannot be written', async () => {
    await expect(writeFramesDocument(path.join(dir, 'missing', 'x.json'), {}, [1])).rejects.toThrow(/ENOENT/);
  });
});
