import type { PostgresStores } from '../adapters/postgres/stores.ts';
import { InputError } from '../core/errors.ts';
import type { SeriesInfo } from '../core/series.ts';

export const nameList = (value: string) =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/**
 * The series a command covers: those named by --series (each must exist), else every active series.
 * `names` is undefined when all are meant, so the use cases keep their "every active series" path.
 */
export async function selectSeries(
  stores: Pick<PostgresStores, 'series'>,
  flag: string | undefined,
): Promise<{ names: string[] | undefined; series: SeriesInfo[] }> {
  if (flag === undefined) return { names: undefined, series: await stores.series.listSeries(null) };
  const names = nameList(flag);
  if (names.length === 0) throw new InputError(`--series "${flag}" names no series`);
  const series = await stores.series.listSeries(names);
  const missing = names.filter((n) => !series.some((s) => s.name === n));
  if (missing.length) {
    const known = (await stores.series.listSeries(null)).map((s) => s.name);
    throw new InputError(
      `--series ${missing.join(',')}: no such series (${known.length ? `known: ${known.slice(0, 10).join(', ')}${known.length > 10 ? ', …' : ''}` : 'none yet: import actuals with "pulse import FILE"'})`,
    );
  }
  return { names, series };
}
