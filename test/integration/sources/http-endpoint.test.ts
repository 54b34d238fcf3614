import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HttpActualsSource, type HttpSourceOptions } from '../../../src/adapters/sources/http-endpoint.ts';
import type { TransportOptions } from '../../../src/adapters/sources/transport.ts';
import { startFakeHttpServer, type FakeHttpServer } from '../../helpers/fake-http-server.ts';
import { sourceFailure } from '../../helpers/sources.ts';

const PATH = '/api/v2/load';
const HOUR = 3_600_000;
const H0 = Date.UTC(2025, 2, 10, 0);
const FOUR_HOURS = { from: H0, to: H0 + 4 * HOUR };
const API_KEY = 'key-7f3a9c2e51d04b88';
const FAST: TransportOptions = { timeoutMs: 2_000, retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 } };

let server: FakeHttpServer;

beforeEach(async () => {
  server = await startFakeHttpServer();
});

afterEach(async () => {
  await server.close();
});

function jsonSource(overrides: Partial<HttpSourceOptions> = {}): HttpActualsSource {
  return new HttpActualsSource({
    name: 'grid-operator',
    url: `${server.baseUrl}${PATH}`,
    format: 'json',
    timeField: 'start',
    valueField: 'load_mwh',
    itemsPath: 'data.items',
    transport: FAST,
    ...overrides,
  });
}

function csvSource(overrides: Partial<HttpSourceOptions> = {}): HttpActualsSource {
  return jsonSource({ format: 'csv', timeField: 'hour_start', valueField: 'mwh', ...overrides });
}

const json = (body: unknown) => [{ body: JSON.stringify(body) }];
const csv = (text: string) => [{ body: text, headers: { 'Content-Type': 'text/csv' } }];

describe('generic HTTP source, JSON', () => {
  it('maps items at the configured path and sends the range and headers', async () => {
    server.route(
      'GET',
      PATH,
      json({
        data: {
          items: [
            { start: '2025-03-10T01:00:00+01:00', load_mwh: 512.25, quality: 'provisional' },
            { start: '2025-03-10T01:00:00Z', load_mwh: 498 },
            { start: '2025-03-10T02:00:00Z', load_mwh: '501.5' },
            { start: '2025-03-10T08:00:00+05:00', load_mwh: 0 },
          ],
        },
      }),
    );
    const rows = await jsonSource({ headers: { 'X-Api-Key': API_KEY } }).fetch(FOUR_HOURS);

    expect(rows).toEqual([
      { hour: H0, value: 512.25 },
      { hour: H0 + HOUR, value: 498 },
      { hour: H0 + 2 * HOUR, value: 501.5 },
      { hour: H0 + 3 * HOUR, value: 0 },
    ]);
    const [request] = server.requestsTo('GET', PATH);
    expect(request!.query.get('from')).toBe('2025-03-10T00:00:00Z');
    expect(request!.query.get('to')).toBe('2025-03-10T04:00:00Z');
    expect(request!.headers['x-api-key']).toBe(API_KEY);
    expect(request!.headers.accept).toBe('application/json');
  });

  it('uses configured query parameter names and keeps the query of the configured URL', async () => {
    server.route('GET', PATH, json([{ start: '2025-03-10T00:00:00Z', load_mwh: 410 }]));
    const source = jsonSource({
      url: `${server.baseUrl}${PATH}?zone=TR1`,
      itemsPath: undefined,
      fromParam: 'periodStart',
      toParam: 'periodEnd',
    });
    expect(await source.fetch(FOUR_HOURS)).toEqual([{ hour: H0, value: 410 }]);
    const [request] = server.requestsTo('GET', PATH);
    expect(Object.fromEntries(request!.query)).toEqual({
      zone: 'TR1',
      periodStart: '2025-03-10T00:00:00Z',
      periodEnd: '2025-03-10T04:00:00Z',
    });
  });

  it('drops hours outside the requested range', async () => {
    server.route(
      'GET',
      PATH,
      json({
        data: {
          items: [
            { start: '2025-03-09T23:00:00Z', load_mwh: 1 },
            { start: '2025-03-10T03:00:00Z', load_mwh: 2 },
            { start: '2025-03-10T04:00:00Z', load_mwh: 3 },
          ],
        },
      }),
    );
    expect(await jsonSource().fetch(FOUR_HOURS)).toEqual([{ hour: H0 + 3 * HOUR, value: 2 }]);
  });

  it('returns an empty array for an empty page', async () => {
    server.route('GET', PATH, json({ data: { items: [] } }));
    expect(await jsonSource().fetch(FOUR_HOURS)).toEqual([]);
  });

  it('rejects a body that is not JSON', async () => {
    server.route('GET', PATH, [{ body: '{"data": {"items": [' }]);
    const error = await sourceFailure(jsonSource().fetch(FOUR_HOURS));
    expect(error.message).toMatch(/^grid-operator source: GET \/api\/v2\/load: malformed body, not JSON \(/);
  });

  it('names the missing part of the items path', async () => {
    server.route('GET', PATH, json({ data: { rows: [] } }));
    const error = await sourceFailure(jsonSource().fetch(FOUR_HOURS));
    expect(error.message).toBe(
      `grid-operator source: GET ${PATH}: malformed body, no "data.items" (items path "data.items")`,
    );
  });

  it.each([
    [
      'a timestamp without an offset',
      { start: '2025-03-10T01:00:00', load_mwh: 5 },
      'data.items[1].start: unparseable timestamp "2025-03-10T01:00:00" (need ISO 8601 with an offset)',
    ],
    [
      'an epoch number as timestamp',
      { start: 1741568400000, load_mwh: 5 },
      'data.items[1].start: not a timestamp string: 1741568400000',
    ],
    [
      'a negative value',
      { start: '2025-03-10T01:00:00Z', load_mwh: -3 },
      'data.items[1].load_mwh: negative value -3',
    ],
    [
      'an infinite value string',
      { start: '2025-03-10T01:00:00Z', load_mwh: 'Infinity' },
      'data.items[1].load_mwh: non-finite value "Infinity"',
    ],
    ['no value', { start: '2025-03-10T01:00:00Z' }, 'data.items[1].load_mwh: missing'],
    ['an item that is not an object', 42, 'data.items[1] is not an object'],
  ])('refuses the reply when an item has %s', async (_label, bad, expected) => {
    server.route(
      'GET',
      PATH,
      json({ data: { items: [{ start: '2025-03-10T00:00:00Z', load_mwh: 400 }, bad] } }),
    );
    const error = await sourceFailure(jsonSource().fetch(FOUR_HOURS));
    expect(error.message).toBe(`grid-operator source: GET ${PATH}: ${expected}`);
  });

  it('retries a 502 and does not retry a 404', async () => {
    server.route('GET', PATH, [
      { status: 502, body: 'bad gateway' },
      ...json([{ start: '2025-03-10T00:00:00Z', load_mwh: 7 }]),
    ]);
    expect(await jsonSource({ itemsPath: undefined }).fetch(FOUR_HOURS)).toEqual([{ hour: H0, value: 7 }]);
    expect(server.requestsTo('GET', PATH)).toHaveLength(2);

    server.route('GET', PATH, [{ status: 404, body: 'no such zone' }]);
    const error = await sourceFailure(jsonSource().fetch(FOUR_HOURS));
    expect(error.message).toBe(`grid-operator source: GET ${PATH}: HTTP 404`);
    expect(server.requestsTo('GET', PATH)).toHaveLength(3);
  });

  it('reports a redirect instead of following it with the API key', async () => {
    server.route('GET', PATH, [{ status: 302, headers: { Location: 'http://127.0.0.1:1/elsewhere' } }]);
    const error = await sourceFailure(jsonSource({ headers: { 'X-Api-Key': API_KEY } }).fetch(FOUR_HOURS));
    expect(error.message).toBe(`grid-operator source: GET ${PATH}: HTTP 302`);
  });

  it('times out an endpoint that never answers', async () => {
    server.route('GET', PATH, [{ hang: true }]);
    const source = jsonSource({
      transport: { timeoutMs: 120, retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 1 } },
    });
    const error = await sourceFailure(source.fetch(FOUR_HOURS));
    expect(error.message).toBe(
      `grid-operator source: GET ${PATH}: timed out after 120 ms (gave up after 2 attempts)`,
    );
    expect(server.requestsTo('GET', PATH)).toHaveLength(2);
  });

  it('keeps API keys from the headers and the URL out of messages, even when echoed', async () => {
    server.route('GET', PATH, (req) => ({
      body: `unauthorized: ${String(req.headers['x-api-key'])} token=${req.query.get('token')}`,
    }));
    const source = jsonSource({
      url: `${server.baseUrl}${PATH}?token=tok-0c1d2e3f4a5b`,
      headers: { 'X-Api-Key': API_KEY },
    });
    const error = await sourceFailure(source.fetch(FOUR_HOURS));
    expect(error.message).toMatch(/malformed body, not JSON/);
    expect(error.message).not.toContain(API_KEY);
    expect(error.message).not.toContain('tok-0c1d2e3f4a5b');
  });
});

describe('generic HTTP source, CSV', () => {
  it('reads the configured columns, in any order, with extra columns', async () => {
    server.route(
      'GET',
      PATH,
      csv(
        'zone,mwh,hour_start\nTR1,612.5,2025-03-10T00:00:00Z\nTR1,598.25,2025-03-10T03:00:00+02:00\nTR1,603,2025-03-10T02:00:00Z\n',
      ),
    );
    const rows = await csvSource().fetch(FOUR_HOURS);
    expect(rows).toEqual([
      { hour: H0, value: 612.5 },
      { hour: H0 + HOUR, value: 598.25 },
      { hour: H0 + 2 * HOUR, value: 603 },
    ]);
    expect(server.requestsTo('GET', PATH)[0]!.headers.accept).toBe('text/csv');
  });

  it('refuses the reply when a line is bad, naming the line', async () => {
    server.route(
      'GET',
      PATH,
      csv('hour_start,mwh\n2025-03-10T00:00:00Z,612.5\n2025-03-10T01:00:00Z,-5\n2025-03-10T02:00:00Z,abc\n'),
    );
    const error = await sourceFailure(csvSource().fetch(FOUR_HOURS));
    expect(error.message).toBe(
      `grid-operator source: GET ${PATH}: CSV line 3: negative value -5 (and 1 more bad line)`,
    );
  });

  it('refuses a CSV with a short line', async () => {
    server.route('GET', PATH, csv('hour_start,mwh\n2025-03-10T00:00:00Z\n'));
    const error = await sourceFailure(csvSource().fetch(FOUR_HOURS));
    expect(error.message).toBe(`grid-operator source: GET ${PATH}: CSV line 2: expected 2 fields, found 1`);
  });

  it('refuses a CSV without the configured value column', async () => {
    server.route('GET', PATH, csv('hour_start,load\n2025-03-10T00:00:00Z,612.5\n'));
    const error = await sourceFailure(csvSource().fetch(FOUR_HOURS));
    expect(error.message).toBe(
      `grid-operator source: GET ${PATH}: malformed body, CSV:1: no "mwh" column in header "hour_start,load"`,
    );
  });

  it('returns an empty array for an empty body or a header alone', async () => {
    server.route('GET', PATH, csv(''));
    expect(await csvSource().fetch(FOUR_HOURS)).toEqual([]);
    server.route('GET', PATH, csv('hour_start,mwh\n'));
    expect(await csvSource().fetch(FOUR_HOURS)).toEqual([]);
  });
});
