import { readFileSync } from 'node:fs';
import { ConfigurationError } from '../core/errors.ts';
import { parseSeriesConfigText, type SeriesConfig } from '../core/series-config.ts';

/** Reads and validates the series configuration file; a missing or bad file is a ConfigurationError naming it. */
export function readSeriesConfigFile(file: string): SeriesConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigurationError(
      `cannot read the series configuration ${file}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  return parseSeriesConfigText(text, file);
}
