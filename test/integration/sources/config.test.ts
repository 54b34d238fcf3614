import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../../src/core/errors.ts';
import { createActualsSource, parseSourceConfig } from '../../../src/adapters/sources/config.ts';
import { startFakeHttpServer, type FakeHttpServer } from '../../helpers/fake-http-server.ts';

function configError(env: Record<string, string | undefined>): string {
  try {
    parseSourceConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigurationError');
}

const HTTP_ENV = {
  INGEST_SOURCE: 'http',
  INGEST_HTTP_URL: 'https://data.example.net/load.json',
  INGEST_HTTP_FORMAT: 'json',
  INGEST_HTTP_TIME_FIELD: 'start',
  INGEST_HTTP_VALUE_FIELD: 'mwh',
};

describe('parseSourceConfig', () => {
  it('defaults the EPİAŞ URLs to the public services', () => {
    expect(parseSourceConfig({ INGEST_SOURCE: 'epias' })).toEqual({
      kind: 'epias',
      authUrl: 'https://giris.epias.com.tr',
      apiUrl: 'https://seffaflik.epias.com.tr',
    });
  });

  it('takes configured EPİAŞ URLs and treats empty values as unset', () => {
    expect(
      parseSourceConfig({
        INGEST_SOURCE: 'epias',
        EPIAS_AUTH_URL: 'http://127.0.0.1:8081',
        EPIAS_API_URL: ' ',
      }),
    ).toEqual({ kind: 'epias', authUrl: 'http://127.0.0.1:8081', apiUrl: 'https://seffaflik.epias.com.tr' });
  });

  it('reads the generic endpoint mapping', () => {
    expect(
      parseSourceConfig({
        ...HTTP_ENV,
        INGEST_HTTP_ITEMS_PATH: 'data.items',
        INGEST_HTTP_FROM_PARAM: 'start',
      }),
    ).toEqual({
      kind: 'http',
      url: 'https://data.example.net/load.json',
      format: 'json',
      timeField: 'start',
      valueField: 'mwh',
      itemsPath: 'data.items',
      fromParam: 'start',
      toParam: 'to',
    });
  });

  it('names INGEST_SOURCE when it is missing or unknown', () => {
    expect(configError({})).toMatch(
      /^ingest source configuration: INGEST_SOURCE: must be "epias" or "http"$/,
    );
    expect(configError({ INGEST_SOURCE: 'entsoe' })).toMatch(/INGEST_SOURCE: must be "epias" or "http"/);
  });

  it('names every bad variable of the generic endpoint', () => {
    const message = configError({
      INGEST_SOURCE: 'http',
      INGEST_HTTP_FORMAT: 'xml',
      INGEST_HTTP_TIME_FIELD: 'start',
    });
    expect(message).toBe(
      'ingest source configuration: INGEST_HTTP_URL: is not set; INGEST_HTTP_FORMAT: must be "csv" or "json"; INGEST_HTTP_VALUE_FIELD: is not set',
    );
  });

  it('refuses plain http except to this machine, and a malformed items path', () => {
    expect(configError({ ...HTTP_ENV, INGEST_HTTP_URL: 'http://data.example.net/load.json' })).toBe(
      'ingest source configuration: INGEST_HTTP_URL: must use https (plain http only for localhost)',
    );
    expect(configError({ ...HTTP_ENV, INGEST_HTTP_URL: 'load.json' })).toMatch(
      /INGEST_HTTP_URL: must be an absolute URL/,
    );
    expect(configError({ INGEST_SOURCE: 'epias', EPIAS_AUTH_URL: 'http://giris.epias.com.tr' })).toMatch(
      /EPIAS_AUTH_URL: must use https/,
    );
    expect(configError({ ...HTTP_ENV, INGEST_HTTP_ITEMS_PATH: 'data..items' })).toMatch(
      /INGEST_HTTP_ITEMS_PATH: must be a dotted path such as data.items/,
    );
  });
});

describe('createActualsSource', () => {
  let server: FakeHttpServer;
  beforeEach(async () => {
    server = await startFakeHttpServer();
  });
  afterEach(async () => {
    await server.close();
  });

  it('refuses an EPİAŞ source without a way to get credentials', () => {
    expect(() => createActualsSource(parseSourceConfig({ INGEST_SOURCE: 'epias' }))).toThrow(
      ConfigurationError,
    );
  });

  it('builds a working EPİAŞ source from plain config values', async () => {
    server.route('POST', '/cas/v1/tickets', [{ status: 201, body: 'TGT-77-config-test-cas' }]);
    server.route('POST', '/electricity-service/v1/consumption/data/realtime-consumption', [
      { body: '{"items":[{"date":"2025-06-01T00:00:00+03:00","time":"00:00","consumption":27001.5}]}' },
    ]);
    const config = parseSourceConfig({
      INGEST_SOURCE: 'epias',
      EPIAS_AUTH_URL: server.baseUrl,
      EPIAS_API_URL: server.baseUrl,
    });
    const source = createActualsSource(config, {
      getCredentials: async () => ({ username: 'u', password: 'p' }),
    });
    const from = Date.UTC(2025, 4, 31, 21);

    expect(source.name).toBe('epias');
    expect(await source.fetch({ from, to: from + 3_600_000 })).toEqual([{ hour: from, value: 27001.5 }]);
  });

  it('builds a working generic source from plain config values', async () => {
    server.route('GET', '/feeds/load.csv', [
      { body: 'ts,mw\n2025-06-01T00:00:00Z,812\n2025-06-01T01:00:00Z,790.5\n' },
    ]);
    const config = parseSourceConfig({
      INGEST_SOURCE: 'http',
      INGEST_HTTP_URL: `${server.baseUrl}/feeds/load.csv`,
      INGEST_HTTP_FORMAT: 'csv',
      INGEST_HTTP_TIME_FIELD: 'ts',
      INGEST_HTTP_VALUE_FIELD: 'mw',
    });
    const source = createActualsSource(config);
    const from = Date.UTC(2025, 5, 1, 0);

    expect(await source.fetch({ from, to: from + 2 * 3_600_000 })).toEqual([
      { hour: from, value: 812 },
      { hour: from + 3_600_000, value: 790.5 },
    ]);
  });
});
