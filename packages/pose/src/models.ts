import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import type { GraphModel } from '@tensorflow/tfjs-converter';
import type { io } from '@tensorflow/tfjs-core';

import { MODELS_URL } from './shipped-files.ts';

export type MoveNetModelName = 'lightning' | 'thunder';

export interface MoveNetModelInfo {
  /** Folder under packages/pose/models holding model.json and its weight shards. */
  directory: string;
  /** Side of the square int32 RGB input the model expects. */
  inputSize: number;
}

const MODELS_DIR = fileURLToPath(MODELS_URL);

/** Lightning is ~4× faster on the CPU; Thunder places joints more precisely. Both are single-person models. */
export const MOVENET_MODELS: Readonly<Record<MoveNetModelName, MoveNetModelInfo>> = {
  lightning: { directory: path.join(MODELS_DIR, 'movenet-lightning'), inputSize: 192 },
  thunder: { directory: path.join(MODELS_DIR, 'movenet-thunder'), inputSize: 256 },
};

interface ModelJson {
  modelTopology: object;
  weightsManifest: { paths: string[]; weights: io.WeightsManifestEntry[] }[];
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  signature?: object;
}

/** An IOHandler reading a tfjs graph model (model.json plus shards) from local disk only. */
export function diskModelHandler(directory: string): io.IOHandler {
  return {
    async load() {
      const json = JSON.parse(await readFile(path.join(directory, 'model.json'), 'utf8')) as ModelJson;
      const shards = await Promise.all(
        json.weightsManifest.flatMap((group) => group.paths).map((shard) => readFile(path.join(directory, shard))),
      );
      const weightData = new Uint8Array(shards.reduce((total, shard) => total + shard.byteLength, 0));
      let offset = 0;
      for (const shard of shards) {
        weightData.set(shard, offset);
        offset += shard.byteLength;
      }
      return {
        modelTopology: json.modelTopology,
        weightSpecs: json.weightsManifest.flatMap((group) => group.weights),
        weightData: weightData.buffer,
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy,
        signature: json.signature,
      };
    },
  };
}

/** Loads a vendored MoveNet model; the tfjs backend must already be set. */
export async function loadMoveNet(name: MoveNetModelName): Promise<GraphModel> {
  // Imported here, not at the top: only the threads that estimate load tfjs (see estimator.ts).
  const { loadGraphModel } = await import('@tensorflow/tfjs-converter');
  return loadGraphModel(diskModelHandler(MOVENET_MODELS[name].directory));
}
