import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { BUNDLE } from '../lib/pulse-function.ts';

export interface HandlerSpec {
  /** Folder under functions/. */
  readonly name: string;
  /** displayName of its code asset in cdk.out/Pulse.assets.json. */
  readonly assetName: string;
  /** Kept out of the bundle: a layer provides it (or the runtime's AWS SDK). */
  readonly externals: readonly string[];
  /** Files copied next to the bundle (relative to the repo root → inside the bundle). */
  readonly files?: () => Array<{ source: string; target: string }>;
}

const SDK = '@aws-sdk/*';

export function handlerSpecs(repoRoot: string): HandlerSpec[] {
  const migrations = () =>
    readdirSync(join(repoRoot, 'src/adapters/postgres/migrations'))
      .filter((f) => f.endsWith('.sql'))
      .map((f) => ({ source: `src/adapters/postgres/migrations/${f}`, target: `migrations/${f}` }));
  const dashboards = () =>
    existsSync(join(repoRoot, 'grafana/dashboards'))
      ? readdirSync(join(repoRoot, 'grafana/dashboards'))
          .filter((f) => f.endsWith('.json'))
          .map((f) => ({ source: `grafana/dashboards/${f}`, target: `dashboards/${f}` }))
      : [];
  return [
    { name: 'forecast', assetName: 'Functions/Forecast/Function/Code', externals: [SDK, 'onnxruntime-node'] },
    { name: 'evaluate', assetName: 'Functions/Evaluate/Function/Code', externals: [SDK] },
    { name: 'ingest', assetName: 'Functions/Ingest/Function/Code', externals: [SDK] },
    { name: 'migrate', assetName: 'Migrations/Migrate/Function/Code', externals: [SDK], files: migrations },
    {
      name: 'grafana-provisioner',
      assetName: 'Grafana/Provisioner/Function/Code',
      externals: [],
      files: dashboards,
    },
  ].filter((h) => existsSync(join(repoRoot, 'functions', h.name, 'index.ts')));
}

/**
 * Bundles a handler the way lib/pulse-function.ts has NodejsFunction do it (local esbuild: ESM, node22,
 * minified, keepNames, module/main fields, the createRequire banner, the same externals).
 */
export async function bundleHandler(repoRoot: string, spec: HandlerSpec, outDir: string): Promise<string> {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const outfile = join(outDir, 'index.mjs');
  await build({
    entryPoints: [join(repoRoot, 'functions', spec.name, 'index.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile,
    target: BUNDLE.target,
    minify: BUNDLE.minify,
    keepNames: BUNDLE.keepNames,
    sourcemap: BUNDLE.sourceMap,
    mainFields: [...BUNDLE.mainFields],
    external: [...spec.externals],
    banner: { js: BUNDLE.banner },
    logLevel: 'silent',
  });
  for (const f of spec.files?.() ?? []) {
    mkdirSync(join(outDir, f.target, '..'), { recursive: true });
    cpSync(join(repoRoot, f.source), join(outDir, f.target));
  }
  return outfile;
}

/** Asset folders of the last `cdk synth`, by display name (only those that exist on disk). */
export function cdkAssets(repoRoot: string): Map<string, string> {
  const manifest = join(repoRoot, 'cdk.out', 'Pulse.assets.json');
  const out = new Map<string, string>();
  if (!existsSync(manifest)) return out;
  try {
    const assets = JSON.parse(readFileSync(manifest, 'utf8')) as {
      files: Record<string, { displayName?: string; source: { path: string; packaging?: string } }>;
    };
    for (const a of Object.values(assets.files)) {
      const dir = join(repoRoot, 'cdk.out', a.source.path);
      if (a.displayName && a.source.packaging === 'zip' && existsSync(dir) && statSync(dir).isDirectory())
        out.set(a.displayName, dir);
    }
  } catch {
    // A synth in progress may leave a half-written manifest: fall back to bundling.
  }
  return out;
}
