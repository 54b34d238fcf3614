/**
 * Where trained models live: `<version>.onnx`, `<version>.json` (metadata) and `<version>.parity.json`
 * per version. In AWS an S3 bucket (s3-store.ts), on one machine a local folder (local-store.ts). The
 * forecast path fetches a version into a local folder once per process and loads it with the usual
 * sha256 and feature-contract checks (src/adapters/onnx/forecaster.ts).
 */
export interface ModelStore {
  /** Where the store is, e.g. `s3://bucket/models` or `/srv/pulse/models`. */
  readonly uri: string;
  /** Copies a version's three files from a local folder into the store; returns the version's location. */
  publish(localDir: string, version: string): Promise<string>;
  /** Makes the version's files available in a local folder and returns that folder. */
  fetch(version: string): Promise<string>;
}

/** The files of one model version, as every store lays them out. */
export function modelFiles(version: string): string[] {
  return [`${version}.onnx`, `${version}.json`, `${version}.parity.json`];
}
