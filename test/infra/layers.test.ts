import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import {
  MODEL_LAYER_MANIFEST,
  ModelLayer,
  ONNX_RUNTIME_LAYER_BUDGET_BYTES,
  OnnxRuntimeLayer,
  directorySize,
  listFiles,
} from '../../lib/layers.ts';
import { assetDir } from './synth.ts';

/** The two layers alone in a stack: the same constructs as the Pulse stack, without bundling functions. */
function synthLayers(artifactsDir: string) {
  const app = new App();
  const stack = new Stack(app, 'Layers');
  const runtime = new OnnxRuntimeLayer(stack, 'OnnxRuntime');
  const models = new ModelLayer(stack, 'Models', { artifactsDir });
  const assembly = app.synth();
  const template = Template.fromStack(stack);
  const dirOf = (layerScope: string) => {
    const [layer] = Object.entries(template.findResources('AWS::Lambda::LayerVersion')).filter(([id]) =>
      id.startsWith(layerScope),
    );
    return assetDir(assembly, layer![1].Properties.Content.S3Key);
  };
  return { template, runtimeDir: dirOf('OnnxRuntime'), modelDir: dirOf('Models'), runtime, models };
}

const artifacts = mkdtempSync(path.join(tmpdir(), 'pulse-model-artifacts-'));
writeFileSync(path.join(artifacts, 'turkey-v1.onnx'), Buffer.alloc(1234, 7));
writeFileSync(path.join(artifacts, 'turkey-v1.json'), '{"version":"turkey-v1"}');
writeFileSync(path.join(artifacts, '.gitkeep'), '');
const first = synthLayers(artifacts);

describe('ONNX runtime layer', () => {
  const files = listFiles(first.runtimeDir);

  it('holds onnxruntime-node under nodejs/node_modules with only the linux-arm64 binary', () => {
    expect(files).toContain(
      'nodejs/node_modules/onnxruntime-node/bin/napi-v6/linux/arm64/onnxruntime_binding.node',
    );
    expect(files).toContain(
      'nodejs/node_modules/onnxruntime-node/bin/napi-v6/linux/arm64/libonnxruntime.so.1',
    );
    expect(files).toContain('nodejs/node_modules/onnxruntime-node/dist/index.js');
    expect(files).toContain('nodejs/node_modules/onnxruntime-common/dist/cjs/index.js');
    const binaries = files.filter((f) => f.includes('/bin/napi-v6/'));
    expect(binaries.every((f) => f.includes('/linux/arm64/'))).toBe(true);
    expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
  });

  it('fits in 30 MB unzipped', () => {
    const bytes = directorySize(first.runtimeDir);
    console.log(`onnxruntime layer: ${(bytes / 1024 / 1024).toFixed(1)} MiB unzipped, ${files.length} files`);
    expect(bytes).toBeGreaterThan(20 * 1024 * 1024); // the arm64 runtime really is in there
    expect(bytes).toBeLessThanOrEqual(ONNX_RUNTIME_LAYER_BUDGET_BYTES);
  });

  it('is only for ARM64 Node 22', () => {
    first.template.hasResourceProperties('AWS::Lambda::LayerVersion', {
      Description: Match.stringLikeRegexp('onnxruntime-node'),
      CompatibleArchitectures: ['arm64'],
      CompatibleRuntimes: ['nodejs22.x'],
    });
  });

  it('is the same asset on every synth (content hash, not build time)', () => {
    const again = synthLayers(artifacts);
    expect(again.runtimeDir.split('asset.')[1]).toBe(first.runtimeDir.split('asset.')[1]);
    expect(again.modelDir.split('asset.')[1]).toBe(first.modelDir.split('asset.')[1]);
  });
});

describe('model layer', () => {
  it('puts the model files under models/ so they appear at /opt/models, without hidden files', () => {
    expect(listFiles(first.modelDir)).toEqual([
      'models/turkey-v1.json',
      'models/turkey-v1.onnx',
      MODEL_LAYER_MANIFEST,
    ]);
    expect(readFileSync(path.join(first.modelDir, 'models/turkey-v1.onnx')).length).toBe(1234);
    expect(JSON.parse(readFileSync(path.join(first.modelDir, MODEL_LAYER_MANIFEST), 'utf8'))).toEqual({
      files: ['turkey-v1.json', 'turkey-v1.onnx'],
    });
  });

  it('changes asset when a model file changes', () => {
    const other = mkdtempSync(path.join(tmpdir(), 'pulse-model-artifacts-'));
    writeFileSync(path.join(other, 'turkey-v1.onnx'), Buffer.alloc(1234, 8));
    writeFileSync(path.join(other, 'turkey-v1.json'), '{"version":"turkey-v1"}');
    expect(synthLayers(other).modelDir).not.toBe(first.modelDir);
  });

  it('still synthesizes without any model, with a manifest saying so', () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'pulse-no-models-'));
    mkdirSync(path.join(empty, 'sub'));
    const { modelDir } = synthLayers(empty);
    expect(existsSync(path.join(modelDir, MODEL_LAYER_MANIFEST))).toBe(true);
    expect(listFiles(modelDir)).toEqual([MODEL_LAYER_MANIFEST]);
  });
});
