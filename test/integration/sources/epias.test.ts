import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  EpiasRealtimeConsumptionSource,
  type EpiasSourceOptions,
} from '../../../src/adapters/sources/epias.ts';
import type { TransportOptions } from '../../../src/adapters/sources/transport.ts';
import { startFakeHttpServer, type FakeHttpServer } from '../../helpers/fake-http-server.ts';
import { sourceFailure } from '../../helpers/sources.ts';

const TICKET = '/cas/v1/tickets';
const DATA = '/electricity-service/v1/consumption/data/realtime-consumption';
const USERNAME = 'pulse-ingest@example.com';
const PASSWORD = 'S3cret-pa55word!';
const FIXTURE = readFileSync(
  new URL('../../fixtures/sources/epias-realtime-consumption.json', import.meta.url),
  'utf8',
);

// 2025-01-01T00:00+03:00 is 2024-12-31T21:00Z.
const H0 = Date.UTC(2024, 11, 31, 21);
const HOUR = 3_600_000;
const SIX_HOURS = { from: H0, to: H0 + 6 * HOUR };
const FIXTURE_VALUES = [31234.5, 29871.25, 28410.0, 27655.75, 27390.1, 27902.4];

const FAST: TransportOptions = { timeoutMs: 2_000, retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 } };

let server: FakeHttpServer;
let credentialReads: number;

beforeEach(async () => {
  server = await startFakeHttpServer();
  credentialReads = 0;
  let issued = 0;
  server.route('POST', TICKET, () => ({
    status: 201,
    headers: { 'Content-Type': 'text/plain' },
    body: `TGT-${++issued}-abcdefghijklmnop-cas`,
  }));
  server.route('POST', DATA, [{ body: FIXTURE }]);
});

afterEach(async () => {
  await server.close();
});

function source(overrides: Partial<EpiasSourceOptions> = {}): EpiasRealtimeConsumptionSource {
  return new EpiasRealtimeConsumptionSource({
    authUrl: server.baseUrl,
    apiUrl: server.baseUrl,
    getCredentials: async () => {
      credentialReads++;
      return { username: USERNAME, password: PASSWORD };
    },
    transport: FAST,
    ...overrides,
  });
}

function itemsBody(items: unknown[]): string {
  return JSON.stringify({ items });
}

describe('EPİAŞ real-time consumption source', () => {
  it('reads the recorded reply format into UTC hour starts and MWh values', async () => {
    const rows = await source().fetch(SIX_HOURS);

    expect(rows).toEqual(FIXTURE_VALUES.map((value, i) => ({ hour: H0 + i * HOUR, value })));
    const [ticketRequest] = server.requestsTo('POST', TICKET);
    expect(ticketRequest!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(new URLSearchParams(ticketRequest!.body))).toEqual({
      username: USERNAME,
      password: PASSWORD,
    });
    const [dataRequest] = server.requestsTo('POST', DATA);
    expect(dataRequest!.headers.tgt).toBe('TGT-1-abcdefghijklmnop-cas');
    expect(dataRequest!.headers['content-type']).toBe('application/json');
    // endDate is the last hour wanted, inclusive, in Türkiye time.
    expect(JSON.parse(dataRequest!.body)).toEqual({
      startDate: '2025-01-01T00:00:00+03:00',
      endDate: '2025-01-01T05:00:00+03:00',
    });
  });

  it('keeps only the hours inside the requested range when the service returns more', async () => {
    const rows = await source().fetch({ from: H0 + 2 * HOUR, to: H0 + 4 * HOUR });
    expect(rows).toEqual([
      { hour: H0 + 2 * HOUR, value: 28410.0 },
      { hour: H0 + 3 * HOUR, value: 27655.75 },
    ]);
  });

  it('reuses one ticket across fetches and reads the credentials once', async () => {
    const epias = source();
    for (let i = 0; i < 4; i++) await epias.fetch(SIX_HOURS);

    expect(server.requestsTo('POST', TICKET)).toHaveLength(1);
    expect(credentialReads).toBe(1);
    const tickets = server.requestsTo('POST', DATA).map((r) => r.headers.tgt);
    expect(tickets).toEqual(Array(4).fill('TGT-1-abcdefghijklmnop-cas'));
  });

  it('shares one ticket request between concurrent fetches', async () => {
    const epias = source();
    const results = await Promise.all([
      epias.fetch(SIX_HOURS),
      epias.fetch(SIX_HOURS),
      epias.fetch(SIX_HOURS),
    ]);

    expect(results.map((r) => r.length)).toEqual([6, 6, 6]);
    expect(server.requestsTo('POST', TICKET)).toHaveLength(1);
  });

  it('asks for a new ticket once the cached one is older than its lifetime', async () => {
    let now = Date.UTC(2025, 0, 1, 12);
    const epias = source({ now: () => now, ticketTtlMs: 110 * 60_000 });
    await epias.fetch(SIX_HOURS);
    now += 109 * 60_000;
    await epias.fetch(SIX_HOURS);
    expect(server.requestsTo('POST', TICKET)).toHaveLength(1);

    now += 2 * 60_000;
    await epias.fetch(SIX_HOURS);
    expect(server.requestsTo('POST', TICKET)).toHaveLength(2);
    expect(server.requestsTo('POST', DATA).map((r) => r.headers.tgt)).toEqual([
      'TGT-1-abcdefghijklmnop-cas',
      'TGT-1-abcdefghijklmnop-cas',
      'TGT-2-abcdefghijklmnop-cas',
    ]);
  });

  it('renews the ticket once on 401 and retries the call once', async () => {
    server.route('POST', DATA, (req) =>
      req.headers.tgt === 'TGT-1-abcdefghijklmnop-cas' ? { status: 401, body: '' } : { body: FIXTURE },
    );
    const epias = source();
    const rows = await epias.fetch(SIX_HOURS);

    expect(rows.map((r) => r.value)).toEqual(FIXTURE_VALUES);
    expect(server.requestsTo('POST', TICKET)).toHaveLength(2);
    expect(server.requestsTo('POST', DATA).map((r) => r.headers.tgt)).toEqual([
      'TGT-1-abcdefghijklmnop-cas',
      'TGT-2-abcdefghijklmnop-cas',
    ]);

    // The renewed ticket is the one kept for later calls.
    await epias.fetch(SIX_HOURS);
    expect(server.requestsTo('POST', TICKET)).toHaveLength(2);
    expect(server.requestsTo('POST', DATA).at(-1)!.headers.tgt).toBe('TGT-2-abcdefghijklmnop-cas');
  });

  it('gives up with a clear error when the renewed ticket is refused too', async () => {
    server.route('POST', DATA, [{ status: 401, body: '' }]);
    const error = await sourceFailure(source().fetch(SIX_HOURS));

    expect(error.message).toBe(
      `epias source: POST ${DATA}: HTTP 401 again with a freshly issued ticket; the account may lack access to this service`,
    );
    expect(server.requestsTo('POST', TICKET)).toHaveLength(2);
    expect(server.requestsTo('POST', DATA)).toHaveLength(2);
  });

  it('retries a 500 and returns the data of the successful attempt', async () => {
    server.route('POST', DATA, [{ status: 500, body: '{"errors":[]}' }, { body: FIXTURE }]);
    const rows = await source().fetch(SIX_HOURS);

    expect(rows.map((r) => r.value)).toEqual(FIXTURE_VALUES);
    expect(server.requestsTo('POST', DATA)).toHaveLength(2);
    expect(server.requestsTo('POST', TICKET)).toHaveLength(1);
  });

  it('stops after the configured attempts when the service keeps failing', async () => {
    server.route('POST', DATA, [{ status: 503, body: 'unavailable' }]);
    const error = await sourceFailure(source().fetch(SIX_HOURS));

    expect(error.message).toBe(`epias source: POST ${DATA}: HTTP 503 (gave up after 3 attempts)`);
    expect(server.requestsTo('POST', DATA)).toHaveLength(3);
  });

  it('does not retry other 4xx replies', async () => {
    server.route('POST', DATA, [{ status: 400, body: '{"errors":[{"errorMessage":"bad date"}]}' }]);
    const error = await sourceFailure(source().fetch(SIX_HOURS));

    expect(error.message).toBe(`epias source: POST ${DATA}: HTTP 400`);
    expect(server.requestsTo('POST', DATA)).toHaveLength(1);
  });

  it('times out a request that never answers, retrying within the bound', async () => {
    server.route('POST', DATA, [{ hang: true }]);
    const error = await sourceFailure(
      source({ transport: { timeoutMs: 150, retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 1 } } }).fetch(
        SIX_HOURS,
      ),
    );

    expect(error.message).toBe(
      `epias source: POST ${DATA}: timed out after 150 ms (gave up after 2 attempts)`,
    );
    expect(server.requestsTo('POST', DATA)).toHaveLength(2);
  });

  it('stops at once, without retries, when the caller aborts', async () => {
    server.route('POST', DATA, [{ hang: true }]);
    const controller = new AbortController();
    const pending = source().fetch(SIX_HOURS, controller.signal);
    while (server.requestsTo('POST', DATA).length === 0) await new Promise((r) => setTimeout(r, 5));
    controller.abort();
    const error = await sourceFailure(pending);

    expect(error.message).toBe(`epias source: POST ${DATA}: cancelled by the caller`);
    expect(server.requestsTo('POST', DATA)).toHaveLength(1);
  });

  it('returns an empty array for an empty page', async () => {
    server.route('POST', DATA, [{ body: '{"items":[]}' }]);
    expect(await source().fetch(SIX_HOURS)).toEqual([]);
  });

  it('makes no request for an empty range', async () => {
    expect(await source().fetch({ from: H0, to: H0 })).toEqual([]);
    expect(server.requests).toHaveLength(0);
  });

  it('splits long ranges into requests of at most 31 days', async () => {
    // The service answers whatever range it is asked, with a value derived from the hour.
    server.route('POST', DATA, (req) => {
      const { startDate, endDate } = JSON.parse(req.body) as { startDate: string; endDate: string };
      const items = [];
      for (let t = Date.parse(startDate); t <= Date.parse(endDate); t += HOUR) {
        const local = new Date(t + 3 * HOUR).toISOString().slice(0, 19);
        items.push({
          date: `${local}+03:00`,
          time: local.slice(11, 16),
          consumption: 30000 + (t - H0) / HOUR,
        });
      }
      return { body: itemsBody(items) };
    });
    const forty = { from: H0, to: H0 + 40 * 24 * HOUR };
    const rows = await source().fetch(forty);

    expect(rows).toHaveLength(960);
    expect(rows[0]).toEqual({ hour: H0, value: 30000 });
    expect(rows[959]).toEqual({ hour: H0 + 959 * HOUR, value: 30959 });
    expect(server.requestsTo('POST', DATA).map((r) => JSON.parse(r.body))).toEqual([
      { startDate: '2025-01-01T00:00:00+03:00', endDate: '2025-01-31T23:00:00+03:00' },
      { startDate: '2025-02-01T00:00:00+03:00', endDate: '2025-02-09T23:00:00+03:00' },
    ]);
    expect(server.requestsTo('POST', TICKET)).toHaveLength(1);
  });

  it('rejects a body that is not JSON', async () => {
    server.route('POST', DATA, [{ status: 200, body: '<html>Service Unavailable</html>' }]);
    const error = await sourceFailure(source().fetch(SIX_HOURS));
    expect(error.message).toMatch(new RegExp(`^epias source: POST ${DATA}: malformed body, not JSON \\(`));
  });

  it('rejects a JSON body without items', async () => {
    server.route('POST', DATA, [{ body: '{"page":null}' }]);
    const error = await sourceFailure(source().fetch(SIX_HOURS));
    expect(error.message).toBe(`epias source: POST ${DATA}: malformed body, "items" is missing`);
  });

  const good = (h: number, consumption: unknown = 30000) => ({
    date: `2025-01-01T0${h}:00:00+03:00`,
    time: `0${h}:00`,
    consumption,
  });

  it.each([
    [
      'a date without an offset',
      { date: '2025-01-01T02:00:00', consumption: 1 },
      'items[2].date: unparseable timestamp "2025-01-01T02:00:00" (need ISO 8601 with an offset)',
    ],
    [
      'an impossible date',
      { date: '2025-02-30T00:00:00+03:00', consumption: 1 },
      'items[2].date: invalid date "2025-02-30T00:00:00+03:00"',
    ],
    [
      'a date off the hour',
      { date: '2025-01-01T02:30:00+03:00', consumption: 1 },
      'items[2].date: timestamp "2025-01-01T02:30:00+03:00" is not on the hour',
    ],
    ['a missing date', { time: '02:00', consumption: 1 }, 'items[2].date: missing'],
    ['a negative value', good(2, -12.5), 'items[2].consumption: negative value -12.5'],
    ['a null value', good(2, null), 'items[2].consumption: missing'],
    ['a NaN string', good(2, 'NaN'), 'items[2].consumption: non-finite value "NaN"'],
    ['a text value', good(2, 'n/a'), 'items[2].consumption: not a number: "n/a"'],
  ])('refuses the reply when an item has %s', async (_label, bad, expected) => {
    server.route('POST', DATA, [{ body: itemsBody([good(0), good(1), bad, good(3)]) }]);
    const error = await sourceFailure(source().fetch(SIX_HOURS));
    expect(error.message).toBe(`epias source: POST ${DATA}: ${expected}`);
  });

  it('refuses a value that overflows to Infinity', async () => {
    // JSON.parse turns 1e999 into Infinity; it must not reach the database.
    const body = FIXTURE.replace('"consumption": 28410.0', '"consumption": 1e999');
    expect(body).not.toBe(FIXTURE);
    server.route('POST', DATA, [{ body }]);
    const error = await sourceFailure(source().fetch(SIX_HOURS));
    expect(error.message).toBe(`epias source: POST ${DATA}: items[2].consumption: non-finite value Infinity`);
  });

  it('refuses a reply giving one hour two different values', async () => {
    server.route('POST', DATA, [{ body: itemsBody([good(0, 30000), good(1, 29000), good(1, 29500)]) }]);
    const error = await sourceFailure(source().fetch(SIX_HOURS));
    expect(error.message).toBe(
      `epias source: POST ${DATA}: items[2] repeats hour 2024-12-31T22:00:00Z with value 29500 (items[1] has 29000)`,
    );
  });

  it('reports rejected credentials without retrying the ticket request', async () => {
    server.route('POST', TICKET, [{ status: 401, body: `bad credentials for ${USERNAME} / ${PASSWORD}` }]);
    const error = await sourceFailure(source().fetch(SIX_HOURS));

    expect(error.message).toBe(`epias source: POST ${TICKET}: HTTP 401, the credentials were rejected`);
    expect(server.requestsTo('POST', TICKET)).toHaveLength(1);
    expect(server.requestsTo('POST', DATA)).toHaveLength(0);
  });

  it('reports a ticket reply that is not a ticket', async () => {
    server.route('POST', TICKET, [{ status: 200, body: '<html>login</html>' }]);
    const error = await sourceFailure(source().fetch(SIX_HOURS));
    expect(error.message).toBe(
      `epias source: POST ${TICKET}: malformed body, expected a plain-text ticket starting with "TGT-"`,
    );
  });

  it('reports a failure to read the credentials', async () => {
    const epias = source({
      getCredentials: () => Promise.reject(new Error('AccessDeniedException: secret pulse/epias')),
    });
    const error = await sourceFailure(epias.fetch(SIX_HOURS));
    expect(error.message).toBe(
      'epias source: could not read the credentials (AccessDeniedException: secret pulse/epias)',
    );
    expect(server.requests).toHaveLength(0);
  });

  it('never puts the password or the ticket into an error message, even when a server echoes them', async () => {
    const echoTicket = (req: { headers: Record<string, unknown> }) => String(req.headers.tgt);
    const scenarios: Array<() => void> = [
      // The data service echoes the ticket in a body that is not JSON (JSON.parse quotes the body).
      () => server.route('POST', DATA, (req) => ({ body: `TGT ${echoTicket(req)} rejected` })),
      () => server.route('POST', DATA, (req) => ({ status: 401, body: echoTicket(req) })),
      () => server.route('POST', DATA, (req) => ({ status: 500, body: echoTicket(req) })),
      () =>
        server.route('POST', DATA, (req) => ({
          body: itemsBody([{ date: echoTicket(req), consumption: 1 }]),
        })),
      () =>
        server.route('POST', DATA, [
          { body: itemsBody([{ date: '2025-01-01T00:00:00+03:00', consumption: PASSWORD }]) },
        ]),
      () => server.route('POST', TICKET, [{ status: 403, body: PASSWORD }]),
      () => server.route('POST', TICKET, [{ status: 200, body: `not a ticket ${PASSWORD}` }]),
    ];
    const messages: string[] = [];
    for (const arrange of scenarios) {
      arrange();
      const error = await sourceFailure(source().fetch(SIX_HOURS));
      messages.push(error.message, String(error.stack), String(error.cause ?? ''));
    }
    expect(messages.filter((m) => m.includes('epias source')).length).toBeGreaterThanOrEqual(
      scenarios.length,
    );
    for (const message of messages) {
      expect(message).not.toContain(PASSWORD);
      expect(message).not.toContain('abcdefghijklmnop');
      expect(message).not.toContain(USERNAME);
    }
  });
});
