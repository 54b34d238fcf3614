import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { createPulseApp } from '../../lib/app.ts';
import type { PulseStack } from '../../lib/pulse-stack.ts';

const cdkJson = JSON.parse(readFileSync(path.join(import.meta.dirname, '..', '..', 'cdk.json'), 'utf8')) as {
  context: Record<string, unknown>;
};

export interface SynthesizedPulse {
  readonly stack: PulseStack;
  readonly template: Template;
  readonly assembly: CloudAssembly;
}

/**
 * The app as `cdk synth` builds it (cdk.json's feature flags plus `context`), synthesized once:
 * bundling and cdk-nag run here, and a nag finding makes synth throw.
 */
export function synthPulse(context: Record<string, unknown> = {}): SynthesizedPulse {
  const { app, stack } = createPulseApp({ context: { ...cdkJson.context, ...context } });
  const assembly = app.synth();
  return { stack, template: Template.fromStack(stack), assembly };
}

/** Directory of a synthesized asset, from the S3 key CloudFormation will use (`<hash>.zip`). */
export function assetDir(assembly: CloudAssembly, s3Key: unknown): string {
  const key = typeof s3Key === 'string' ? s3Key : JSON.stringify(s3Key);
  const hash = /([0-9a-f]{64})\.zip/.exec(key)?.[1];
  if (!hash) throw new Error(`not an asset key: ${key}`);
  return path.join(assembly.directory, `asset.${hash}`);
}
