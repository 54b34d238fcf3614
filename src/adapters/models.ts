import type { RuntimeConfig } from './config.ts';
import { createModelResolver, type LoadedModels } from './model-resolver.ts';
import type { ModelStore } from './model-store/model-store.ts';
import { openModelStore } from './model-store/open.ts';
import { loadOnnxForecaster } from './onnx/index.ts';
import type { PostgresStores } from './postgres/stores.ts';

/**
 * The models a forecasting process serves: the default plus every version a series is assigned to,
 * loaded and registered once. Kept apart from the runtime so only the forecast function's bundle
 * carries the ONNX runtime.
 */
export interface Models {
  resolver(stores: PostgresStores): Promise<LoadedModels>;
  /** Starts loading the default model now, so the first event finds it ready; errors surface on use. */
  warmUp(): void;
}

export function openModels(
  config: Pick<RuntimeConfig, 'modelDir' | 'defaultModel' | 'modelStore' | 'maxModels'>,
  options: { store?: ModelStore } = {},
): Models {
  let resolver: Promise<LoadedModels> | undefined;
  const store = options.store ?? (config.modelStore ? openModelStore(config.modelStore) : undefined);
  return {
    resolver(stores) {
      if (!resolver) {
        resolver = (async () => {
          const created = await createModelResolver({
            modelDir: config.modelDir,
            assignedVersions: await stores.modelVersions.assigned(),
            defaultVersion: config.defaultModel,
            store,
            maxModels: config.maxModels,
          });
          await stores.modelVersions.register(created.forecasters);
          return created;
        })();
        resolver.catch(() => (resolver = undefined));
      }
      return resolver;
    },
    warmUp() {
      if (config.defaultModel) return; // a baseline or version was chosen explicitly
      loadOnnxForecaster(config.modelDir).catch(() => undefined);
    },
  };
}
