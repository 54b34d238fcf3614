import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelMetadata, ModelRegistry, ParitySamples } from '../onnx/metadata.ts';

/**
 * A model folder (model-artifacts/ or --model-dir): `<version>.onnx`, `<version>.json` (metadata),
 * `<version>.parity.json`, and `registry.json` naming the default version.
 */

export interface OnnxFileInfo {
  readonly file: string;
  readonly sha256: string;
  readonly bytes: number;
}

/** Copies the trainer's ONNX file into the model folder as `<version>.onnx`. */
export async function publishOnnx(
  modelDir: string,
  version: string,
  onnxPath: string,
): Promise<OnnxFileInfo> {
  await mkdir(modelDir, { recursive: true });
  const file = `${version}.onnx`;
  await copyFile(onnxPath, join(modelDir, file));
  const bytes = await readFile(join(modelDir, file));
  return { file, sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length };
}

export async function writeParitySamples(modelDir: string, samples: ParitySamples): Promise<string> {
  const file = `${samples.version}.parity.json`;
  await writeFile(join(modelDir, file), JSON.stringify(samples) + '\n');
  return file;
}

export async function writeModelMetadata(modelDir: string, metadata: ModelMetadata): Promise<string> {
  const path = join(modelDir, `${metadata.version}.json`);
  await writeFile(path, JSON.stringify(metadata, null, 2) + '\n');
  return path;
}

/** Makes `version` the folder's default model (what series without an assignment are served). */
export async function setDefaultModel(modelDir: string, version: string): Promise<void> {
  const registry: ModelRegistry = { default: version };
  await writeFile(join(modelDir, 'registry.json'), JSON.stringify(registry, null, 2) + '\n');
}
