import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { ConfigurationError, ModelError } from '../../core/errors.ts';
import { modelFiles, type ModelStore } from './model-store.ts';

/** `s3://bucket/prefix` → bucket and key prefix (no leading or trailing slash). */
export function parseS3Uri(uri: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(uri);
  if (!m)
    throw new ConfigurationError(`MODEL_STORE "${uri}" is not an S3 location such as s3://bucket/models`);
  return { bucket: m[1]!, prefix: (m[2] ?? '').replace(/^\/+|\/+$/g, '') };
}

/**
 * The model store in AWS: `s3://bucket/prefix/<version>.{onnx,json,parity.json}` in a versioned,
 * encrypted, TLS-only bucket (lib/retraining.ts). A version's files never change once written (new
 * models get new versions). `fetch` downloads a version once per container into a local cache folder
 * (Lambda's /tmp), where the ONNX adapter checks its sha256 and feature contract as for the layer's.
 */
export class S3ModelStore implements ModelStore {
  readonly uri: string;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly pending = new Map<string, Promise<string>>();

  constructor(
    uri: string,
    private client?: S3Client,
    private readonly cacheDir = join(tmpdir(), 'pulse-model-store'),
  ) {
    ({ bucket: this.bucket, prefix: this.prefix } = parseS3Uri(uri));
    this.uri = `s3://${this.bucket}${this.prefix ? `/${this.prefix}` : ''}`;
  }

  /**
   * The SDK is imported on first use: loading it costs about 100 ms, and a forecast container whose models
   * come from the layer never needs it (the cold-start budget is 400 ms).
   */
  private async s3() {
    const sdk = await import('@aws-sdk/client-s3');
    this.client ??= new sdk.S3Client({});
    return {
      client: this.client,
      GetObjectCommand: sdk.GetObjectCommand,
      PutObjectCommand: sdk.PutObjectCommand,
    };
  }

  private key(file: string): string {
    return this.prefix ? `${this.prefix}/${file}` : file;
  }

  async publish(localDir: string, version: string): Promise<string> {
    // The metadata last: a reader that finds it finds the ONNX file it describes.
    const [onnx, metadata, parity] = modelFiles(version);
    const { client, PutObjectCommand } = await this.s3();
    for (const file of [onnx!, parity!, metadata!]) {
      const body = await readFile(join(localDir, file));
      try {
        await client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: this.key(file),
            Body: body,
            ContentType: file.endsWith('.json') ? 'application/json' : 'application/octet-stream',
          }),
        );
      } catch (error) {
        throw new ModelError(
          `cannot write ${this.uri}/${file}: ${(error as Error).name}: ${(error as Error).message}`,
          {
            cause: error,
          },
        );
      }
    }
    return `${this.uri}/${onnx}`;
  }

  fetch(version: string): Promise<string> {
    let pending = this.pending.get(version);
    if (!pending) {
      pending = this.download(version);
      // A failed download is retried by the next call (the store may be readable again).
      pending.catch(() => this.pending.delete(version));
      this.pending.set(version, pending);
    }
    return pending;
  }

  private async download(version: string): Promise<string> {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(version)) {
      throw new ModelError(`model version "${version}" is not a valid file name`);
    }
    await mkdir(this.cacheDir, { recursive: true });
    const { client, GetObjectCommand } = await this.s3();
    for (const file of modelFiles(version)) {
      const target = join(this.cacheDir, file);
      if (await exists(target)) continue;
      let bytes: Uint8Array;
      try {
        const out = await client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(file) }));
        if (!out.Body) throw new Error('empty body');
        bytes = await out.Body.transformToByteArray();
      } catch (error) {
        throw new ModelError(
          `cannot read ${this.uri}/${file}: ${(error as Error).name}: ${(error as Error).message}`,
          {
            cause: error,
          },
        );
      }
      const partial = `${target}.${process.pid}.part`;
      await writeFile(partial, bytes);
      await rename(partial, target);
    }
    return this.cacheDir;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
