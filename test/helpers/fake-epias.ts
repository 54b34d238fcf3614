import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateSyntheticSeries } from '../../src/core/synthetic.ts';
import { HOUR_MS } from '../../src/core/time.ts';
import { startFakeHttpServer, type FakeHttpServer } from './fake-http-server.ts';

export const EPIAS_TICKETS = '/cas/v1/tickets';
export const EPIAS_CONSUMPTION = '/electricity-service/v1/consumption/data/realtime-consumption';

/** `2025-01-01T03:00:00+03:00` → epoch ms. */
const parseTurkeyIso = (text: string) => Date.parse(text);
const toTurkeyIso = (ms: number) => `${new Date(ms + 3 * HOUR_MS).toISOString().slice(0, 19)}+03:00`;

/**
 * A local EPİAŞ Transparency Platform: issues a ticket to `username`/`password`, and answers the
 * real-time consumption service with the synthetic Türkiye-like load for the hours asked, up to `until`
 * (the newest hour "published" so far, which a test moves forward).
 */
export async function startFakeEpias(options: {
  username: string;
  password: string;
  seed?: number;
}): Promise<FakeHttpServer & { until: number }> {
  const server = await startFakeHttpServer();
  const state = Object.assign(server, { until: 0 });
  server.route('POST', EPIAS_TICKETS, (request) => {
    const form = new URLSearchParams(request.body);
    return form.get('username') === options.username && form.get('password') === options.password
      ? { status: 201, body: 'TGT-fake-epias' }
      : { status: 401, body: 'bad credentials' };
  });
  server.route('POST', EPIAS_CONSUMPTION, (request) => {
    if (request.headers.tgt !== 'TGT-fake-epias') return { status: 401, body: '' };
    const { startDate, endDate } = JSON.parse(request.body) as { startDate: string; endDate: string };
    const from = parseTurkeyIso(startDate);
    const to = Math.min(parseTurkeyIso(endDate), state.until);
    const rows = to >= from ? generateSyntheticSeries({ from, to, seed: options.seed ?? 7 }) : [];
    return {
      status: 200,
      body: JSON.stringify({
        items: rows.map((r) => ({
          date: toTurkeyIso(r.hour),
          time: toTurkeyIso(r.hour).slice(11, 16),
          consumption: Math.round(r.value * 100) / 100,
        })),
      }),
    };
  });
  return state;
}

/** The user's series file (`pulse.config.json` in `dir`): Türkiye, read from this fake EPİAŞ. Returns its path. */
export function writeEpiasSeriesFile(dir: string, epias: Pick<FakeHttpServer, 'baseUrl'>): string {
  const file = join(dir, 'pulse.config.json');
  writeFileSync(
    file,
    JSON.stringify({
      series: [
        {
          name: 'turkey',
          country: 'TR',
          timezone: 'Europe/Istanbul',
          source: { kind: 'epias', authUrl: epias.baseUrl, apiUrl: epias.baseUrl },
        },
      ],
    }),
  );
  return file;
}
