import { loadConfig, type RuntimeConfig } from '../adapters/config.ts';
import { DEFAULT_LOCAL_STORE, MODEL_DIR } from './paths.ts';

let config: RuntimeConfig | undefined;

/**
 * The CLI's configuration: the environment, read once through the same schema as the functions'.
 * With a database URL, the same configuration pointed at that database.
 */
export function cliConfig(databaseUrl?: string): RuntimeConfig {
  // The project's models, from any working directory, unless MODEL_DIR names others; models trained
  // from the database (pulse train --series, pulse retrain) in the local model store.
  config ??= loadConfig({ MODEL_DIR, MODEL_STORE: DEFAULT_LOCAL_STORE, ...process.env });
  if (!databaseUrl) return config;
  // DATABASE_SSL applies to the DATABASE_URL the user gave; the embedded server has no TLS.
  const ssl = config.database.url === databaseUrl ? config.database.ssl : 'disable';
  return { ...config, database: { ...config.database, url: databaseUrl, ssl } };
}
