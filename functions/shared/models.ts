import { createModelResolver, type ModelResolver } from '../../src/adapters/model-resolver.ts';
import { loadOnnxForecaster } from '../../src/adapters/onnx/index.ts';
import {
  assignedModelVersions,
  registerModelVersions,
} from '../../src/adapters/postgres/model-versions-repository.ts';
import type { Sql } from '../../src/adapters/postgres/client.ts';
import type { FunctionConfig } from './config.ts';

let resolver: Promise<ModelResolver> | undefined;

/**
 * Starts loading the default model at container start (outside the handler), so the first event finds
 * the ONNX session ready. A load error is reported when the handler runs, not swallowed.
 */
export function warmUpDefaultModel(config: FunctionConfig): void {
  if (process.env.PULSE_DEFAULT_MODEL) return; // a baseline was chosen explicitly
  loadOnnxForecaster(config.modelDir).catch(() => undefined);
}

/** The container's models: the default plus every version a series is assigned to; registered once. */
export function modelResolver(config: FunctionConfig, sql: Sql): Promise<ModelResolver> {
  if (!resolver) {
    resolver = (async () => {
      const created = await createModelResolver({
        modelDir: config.modelDir,
        assignedVersions: await assignedModelVersions(sql),
        defaultVersion: process.env.PULSE_DEFAULT_MODEL || undefined,
      });
      await registerModelVersions(sql, created.forecasters);
      return created;
    })();
    resolver.catch(() => (resolver = undefined));
  }
  return resolver;
}

/** Forgets the loaded models (tests; a new model layer). */
export function resetModelResolver(): void {
  resolver = undefined;
}
