import { fileURLToPath } from 'node:url';

/**
 * Where the CLI finds its project, whatever the working directory: the repository this file belongs to.
 * File arguments (`pulse import data.csv`, `--out`) stay relative to the working directory, as users expect.
 */
export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The shipped models (`<version>.onnx`, `<version>.json`, `registry.json`). */
export const MODEL_DIR = fileURLToPath(new URL('../../model-artifacts', import.meta.url));

/** Git-ignored working data of the CLI: the local database and default report files. */
export const PULSE_DIR = fileURLToPath(new URL('../../.pulse', import.meta.url));

/** The local model store: models trained from the database (`pulse train --series`, `pulse retrain`). */
export const DEFAULT_LOCAL_STORE = fileURLToPath(new URL('../../.pulse/models', import.meta.url));
