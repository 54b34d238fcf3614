import { LocalModelStore } from './local-store.ts';
import type { ModelStore } from './model-store.ts';

/** The model store a MODEL_STORE value names: a local folder (S3 comes with s3-store.ts). */
export function openModelStore(uri: string): ModelStore {
  return new LocalModelStore(uri);
}
