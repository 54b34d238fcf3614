import { copyFile, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ModelError } from '../../core/errors.ts';
import { modelFiles, type ModelStore } from './model-store.ts';

/** A model store in a local folder (one machine: `pulse serve`, `pulse retrain`). */
export class LocalModelStore implements ModelStore {
  readonly uri: string;

  constructor(dir: string) {
    this.uri = resolve(dir);
  }

  async publish(localDir: string, version: string): Promise<string> {
    await mkdir(this.uri, { recursive: true });
    if (resolve(localDir) !== this.uri) {
      for (const file of modelFiles(version)) await copyFile(join(localDir, file), join(this.uri, file));
    }
    return join(this.uri, `${version}.onnx`);
  }

  async fetch(version: string): Promise<string> {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(version)) {
      throw new ModelError(`model version "${version}" is not a valid file name`);
    }
    return this.uri;
  }
}
