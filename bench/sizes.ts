import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { bundleHandler, cdkAssets, handlerSpecs } from './bundles.ts';
import { figure, TARGETS, type Figure, type Section } from './figures.ts';
import { MB } from './stats.ts';

function files(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(p);
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

/** Unzipped bytes (what Lambda's 250 MB limit counts) and the size of the zip CDK uploads. */
export function measureDir(dir: string, zipPath: string): { unzipped: number; zipped: number } {
  const unzipped = files(dir).reduce((s, f) => s + statSync(f).size, 0);
  rmSync(zipPath, { force: true });
  // -X: no extra attributes; -9: maximum deflate (cdk's archiver also deflates at level 9).
  execFileSync('zip', ['-q', '-r', '-X', '-9', zipPath, '.'], { cwd: dir });
  return { unzipped, zipped: statSync(zipPath).size };
}

/** The pruned runtime layer as lib/layers.ts builds it: onnxruntime-node's JS + linux/arm64 binding + onnxruntime-common. */
function buildRuntimeLayer(repoRoot: string, outDir: string): void {
  rmSync(outDir, { recursive: true, force: true });
  const nm = join(repoRoot, 'node_modules');
  const pick: Array<[string, string[]]> = [
    ['onnxruntime-node', ['package.json', 'dist', 'bin/napi-v6/linux/arm64']],
    ['onnxruntime-common', ['package.json', 'dist/cjs', 'dist/esm']],
  ];
  for (const [pkg, paths] of pick) {
    for (const p of paths) {
      const source = join(nm, pkg, p);
      if (!existsSync(source)) continue;
      cpSync(source, join(outDir, 'nodejs/node_modules', pkg, p), {
        recursive: true,
        filter: (src) => !/\.(map|d\.ts)$/.test(src),
      });
    }
  }
}

/** The model layer: the files of model-artifacts/ (hidden ones excluded) under models/. */
function buildModelLayer(modelDir: string, outDir: string): number {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(join(outDir, 'models'), { recursive: true });
  let count = 0;
  for (const f of files(modelDir)) {
    const rel = relative(modelDir, f);
    if (rel.split('/').some((part) => part.startsWith('.'))) continue;
    mkdirSync(join(outDir, 'models', rel, '..'), { recursive: true });
    cpSync(f, join(outDir, 'models', rel));
    count++;
  }
  return count;
}

const shortAsset = (dir: string) => dir.replace(/.*asset\.([0-9a-f]{8})[0-9a-f]*$/, '$1');

/** When the cdk.out assets were written (a synth older than the code measures old bundles). */
function synthTime(repoRoot: string): string | null {
  const manifest = join(repoRoot, 'cdk.out', 'Pulse.assets.json');
  return existsSync(manifest) ? statSync(manifest).mtime.toISOString() : null;
}

export async function benchSizes(repoRoot: string, modelDir: string, workDir: string): Promise<Section> {
  const assets = cdkAssets(repoRoot);
  const figures: Figure[] = [];
  const sources: Record<string, string> = {};
  const zips = join(workDir, 'zips');
  mkdirSync(zips, { recursive: true });
  const mb = (b: number) => b / MB;
  let forecastUnzipped = 0;
  for (const spec of handlerSpecs(repoRoot)) {
    let dir = assets.get(spec.assetName);
    sources[spec.name] = dir ? `cdk.out asset ${shortAsset(dir)}` : 'bundled by the bench (not in cdk.out)';
    if (!dir) {
      dir = join(workDir, 'bundles', spec.name);
      await bundleHandler(repoRoot, spec, dir);
    }
    const size = measureDir(dir, join(zips, `${spec.name}.zip`));
    if (spec.name === 'forecast') forecastUnzipped = size.unzipped;
    figures.push(
      figure({
        id: `size.${spec.name}.unzipped`,
        label: `Function bundle ${spec.name}, unzipped`,
        value: mb(size.unzipped),
        unit: 'MB',
        note: sources[spec.name],
      }),
      figure({
        id: `size.${spec.name}.zipped`,
        label: `Function bundle ${spec.name}, zipped`,
        value: mb(size.zipped),
        unit: 'MB',
      }),
    );
  }
  let runtimeDir = assets.get('OnnxRuntime/Layer/Code');
  sources.runtimeLayer = runtimeDir
    ? `cdk.out asset ${shortAsset(runtimeDir)}`
    : 'pruned copy of node_modules in the bench';
  if (!runtimeDir) {
    runtimeDir = join(workDir, 'layers', 'runtime');
    buildRuntimeLayer(repoRoot, runtimeDir);
  }
  const runtime = measureDir(runtimeDir, join(zips, 'runtime-layer.zip'));
  const modelLayerDir = join(workDir, 'layers', 'models');
  const modelFiles = buildModelLayer(modelDir, modelLayerDir);
  const models = measureDir(modelLayerDir, join(zips, 'model-layer.zip'));
  figures.push(
    figure({
      id: 'size.runtimeLayer.unzipped',
      label: 'Runtime layer (onnxruntime-node linux-arm64), unzipped',
      value: mb(runtime.unzipped),
      unit: 'MB',
      target: TARGETS.runtimeLayer,
      note: sources.runtimeLayer,
    }),
    figure({
      id: 'size.runtimeLayer.zipped',
      label: 'Runtime layer, zipped',
      value: mb(runtime.zipped),
      unit: 'MB',
    }),
    figure({
      id: 'size.modelLayer.unzipped',
      label: `Model layer (${modelFiles} files of model-artifacts/), unzipped`,
      value: mb(models.unzipped),
      unit: 'MB',
      note: modelFiles === 0 ? 'model missing' : undefined,
    }),
    figure({
      id: 'size.modelLayer.zipped',
      label: 'Model layer, zipped',
      value: mb(models.zipped),
      unit: 'MB',
    }),
    figure({
      id: 'size.forecastTotal',
      label: 'Forecast function + both layers, unzipped',
      value: mb(forecastUnzipped + runtime.unzipped + models.unzipped),
      unit: 'MB',
      target: TARGETS.lambdaUnzipped,
    }),
  );
  return {
    id: 'sizes',
    title: 'Deployment sizes',
    method:
      `Function code assets and the runtime layer from cdk.out${synthTime(repoRoot) ? ` (synth of ${synthTime(repoRoot)})` : ''} when a synth left them there, otherwise bundled/pruned by the bench ` +
      'exactly as lib/ does (esbuild ESM node22 minified, externals @aws-sdk/* and onnxruntime-node). Unzipped = sum of file sizes; zipped = `zip -r -9 -X`.',
    figures,
    details: { sources, cdkSynthAt: synthTime(repoRoot) },
  };
}
