import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Annotations, AssetHashType, DockerImage, RemovalPolicy } from 'aws-cdk-lib';
import { Architecture, Code, LayerVersion, Runtime } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';

/** Lambda's hard limit for a function and all its layers, unzipped. */
export const LAMBDA_UNZIPPED_LIMIT_BYTES = 250 * 1024 * 1024;
/** Our own budget for the ONNX runtime layer (the linux-arm64 runtime alone is about 25 MB). */
export const ONNX_RUNTIME_LAYER_BUDGET_BYTES = 30 * 1024 * 1024;

/**
 * The files of `onnxruntime-node` that run on Lambda ARM64: its JavaScript, the linux-arm64 native
 * binding and its shared library, and its one runtime dependency `onnxruntime-common`. The other
 * platforms' binaries (about 260 MB) and the install script's helpers (adm-zip, global-agent) stay out.
 */
export const ONNX_RUNTIME_LAYER_FILES: ReadonlyArray<{
  readonly pkg: string;
  readonly paths: readonly string[];
}> = [
  { pkg: 'onnxruntime-node', paths: ['package.json', 'dist', 'bin/napi-v6/linux/arm64'] },
  { pkg: 'onnxruntime-common', paths: ['package.json', 'dist/cjs', 'dist/esm'] },
];

/** Source maps and type declarations are never loaded at run time. */
const NOT_SHIPPED = /\.(map|d\.ts)$/;

/** Every regular file under `dir`, as sorted paths relative to it (sorted so hashes are stable). */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const entry of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(child);
      else if (entry.isFile()) out.push(child);
    }
  };
  if (existsSync(dir)) walk('');
  return out.sort();
}

/** Total size in bytes of the regular files under `dir`: what a layer occupies unzipped. */
export function directorySize(dir: string): number {
  return listFiles(dir).reduce((sum, file) => sum + statSync(path.join(dir, file)).size, 0);
}

/** (source file, path inside the layer) pairs for the pruned ONNX runtime, in a stable order. */
export function onnxRuntimeLayerEntries(nodeModulesDir: string): Array<{ source: string; target: string }> {
  const entries: Array<{ source: string; target: string }> = [];
  for (const { pkg, paths } of ONNX_RUNTIME_LAYER_FILES) {
    const pkgDir = path.join(nodeModulesDir, pkg);
    if (!existsSync(path.join(pkgDir, 'package.json'))) {
      throw new Error(`${pkg} is not installed in ${nodeModulesDir}; run npm ci before synthesizing`);
    }
    for (const p of paths) {
      const source = path.join(pkgDir, p);
      if (!existsSync(source)) throw new Error(`${source} is missing; reinstall ${pkg}`);
      const files = statSync(source).isDirectory() ? listFiles(source).map((f) => `${p}/${f}`) : [p];
      for (const f of files.filter((file) => !NOT_SHIPPED.test(file))) {
        entries.push({ source: path.join(pkgDir, f), target: `nodejs/node_modules/${pkg}/${f}` });
      }
    }
  }
  if (!entries.some((e) => e.target.endsWith('linux/arm64/onnxruntime_binding.node'))) {
    throw new Error(
      'onnxruntime-node has no linux-arm64 binding; reinstall it with its install script enabled',
    );
  }
  return entries.sort((a, b) => a.target.localeCompare(b.target));
}

/** sha256 over layer paths and file contents: the asset hash, so the layer only changes when its bytes do. */
export function contentHash(entries: ReadonlyArray<{ source: string; target: string }>): string {
  const hash = createHash('sha256');
  for (const { source, target } of entries) {
    hash.update(target).update('\0').update(readFileSync(source)).update('\0');
  }
  return hash.digest('hex');
}

function copyEntries(entries: ReadonlyArray<{ source: string; target: string }>, outputDir: string): void {
  for (const { source, target } of entries) {
    const dest = path.join(outputDir, target);
    mkdirSync(path.dirname(dest), { recursive: true });
    cpSync(source, dest);
  }
}

/** A file written by the synth itself rather than copied. */
interface GeneratedFile {
  readonly target: string;
  readonly content: string;
}

/**
 * An asset assembled on this machine from a list of files. No Docker: the image is never pulled
 * because local bundling always succeeds. The hash is computed from the content, so two synths of
 * the same files give the same asset (and the CLI zips it with fixed timestamps), and a cached
 * asset in cdk.out is reused without copying again.
 */
function localAsset(
  sourceDir: string,
  entries: ReadonlyArray<{ source: string; target: string }>,
  generated: readonly GeneratedFile[] = [],
): Code {
  const hash = createHash('sha256').update(contentHash(entries));
  for (const g of generated) hash.update(g.target).update('\0').update(g.content).update('\0');
  return Code.fromAsset(sourceDir, {
    assetHashType: AssetHashType.CUSTOM,
    assetHash: hash.digest('hex'),
    bundling: {
      image: DockerImage.fromRegistry('local-bundling-only'),
      local: {
        tryBundle(outputDir: string): boolean {
          copyEntries(entries, outputDir);
          for (const g of generated) writeFileSync(path.join(outputDir, g.target), g.content);
          return true;
        },
      },
    },
  });
}

export interface OnnxRuntimeLayerProps {
  /**
   * Where `onnxruntime-node` and `onnxruntime-common` are installed.
   * @default the repository's node_modules
   */
  readonly nodeModulesDir?: string;
}

/** `onnxruntime-node` for Lambda ARM64, mounted at /opt/nodejs/node_modules so `import 'onnxruntime-node'` resolves. */
export class OnnxRuntimeLayer extends Construct {
  public readonly layer: LayerVersion;

  constructor(scope: Construct, id: string, props: OnnxRuntimeLayerProps = {}) {
    super(scope, id);
    const nodeModulesDir = props.nodeModulesDir ?? path.join(import.meta.dirname, '..', 'node_modules');
    const entries = onnxRuntimeLayerEntries(nodeModulesDir);
    const bytes = entries.reduce((sum, e) => sum + statSync(e.source).size, 0);
    if (bytes > ONNX_RUNTIME_LAYER_BUDGET_BYTES) {
      throw new Error(
        `the ONNX runtime layer is ${bytes} bytes unzipped, over its ${ONNX_RUNTIME_LAYER_BUDGET_BYTES} budget`,
      );
    }
    this.layer = new LayerVersion(this, 'Layer', {
      description: 'onnxruntime-node (linux-arm64 only) for the Pulse forecast function',
      code: localAsset(path.join(nodeModulesDir, 'onnxruntime-node'), entries),
      compatibleArchitectures: [Architecture.ARM_64],
      compatibleRuntimes: [Runtime.NODEJS_22_X],
      removalPolicy: RemovalPolicy.RETAIN, // a rollback may still need the previous version
    });
  }
}

export interface ModelLayerProps {
  /**
   * The folder the trainer writes (`*.onnx` and their metadata JSON).
   * @default the repository's model-artifacts/
   */
  readonly artifactsDir?: string;
}

/** Name of the file, at the layer root (so outside /opt/models), that lists what the layer holds. */
export const MODEL_LAYER_MANIFEST = 'pulse-model-layer.json';

/** The trained models, mounted at /opt/models (MODEL_DIR). */
export class ModelLayer extends Construct {
  public readonly layer: LayerVersion;
  /** The files shipped under /opt/models, relative to it. */
  public readonly modelFiles: readonly string[];

  constructor(scope: Construct, id: string, props: ModelLayerProps = {}) {
    super(scope, id);
    const artifactsDir = props.artifactsDir ?? path.join(import.meta.dirname, '..', 'model-artifacts');
    // Hidden files (.gitkeep) are not models.
    this.modelFiles = listFiles(artifactsDir).filter(
      (f) => !f.split('/').some((part) => part.startsWith('.')),
    );
    const entries = this.modelFiles.map((f) => ({
      source: path.join(artifactsDir, f),
      target: `models/${f}`,
    }));
    if (!this.modelFiles.some((f) => f.endsWith('.onnx'))) {
      // Deployable on purpose: the forecast function then serves the flagged baseline fallback and says why.
      Annotations.of(this).addWarningV2(
        'pulse:no-model',
        `${artifactsDir} holds no .onnx model; the forecast function will fail to load one at /opt/models`,
      );
    }
    // The manifest keeps the asset non-empty when there is no model yet, and records what was shipped.
    const manifest = {
      target: MODEL_LAYER_MANIFEST,
      content: `${JSON.stringify({ files: this.modelFiles }, null, 2)}\n`,
    };
    const code = localAsset(existsSync(artifactsDir) ? artifactsDir : import.meta.dirname, entries, [
      manifest,
    ]);
    this.layer = new LayerVersion(this, 'Layer', {
      description: 'Pulse ONNX models and metadata, at /opt/models',
      code,
      compatibleArchitectures: [Architecture.ARM_64],
      compatibleRuntimes: [Runtime.NODEJS_22_X],
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}
