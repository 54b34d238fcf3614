import type { S3Client } from '@aws-sdk/client-s3';
import { LocalModelStore } from './local-store.ts';
import type { ModelStore } from './model-store.ts';
import { S3ModelStore } from './s3-store.ts';

/** The model store a MODEL_STORE value names: `s3://bucket/prefix` (AWS) or a local folder. */
export function openModelStore(uri: string, options: { s3?: S3Client } = {}): ModelStore {
  return uri.startsWith('s3://') ? new S3ModelStore(uri, options.s3) : new LocalModelStore(uri);
}
