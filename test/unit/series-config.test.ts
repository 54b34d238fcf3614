import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../src/core/errors.ts';
import { parseSeriesConfig, parseSeriesConfigText } from '../../src/core/series-config.ts';

const turkey = { name: 'turkey', country: 'TR', timezone: 'Europe/Istanbul', source: { kind: 'epias' } };

function problem(input: unknown): string {
  try {
    parseSeriesConfig(input, 'pulse.config.json');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return (error as Error).message;
  }
  throw new Error('expected the configuration to be rejected');
}

describe('parseSeriesConfig', () => {
  it('fills the defaults of a minimal entry', () => {
    const config = parseSeriesConfig({ series: [turkey, { name: 'plant-2', timezone: 'UTC' }] });
    expect(config.series).toEqual([
      { ...turkey, unit: 'MWh', active: true },
      { name: 'plant-2', timezone: 'UTC', unit: 'MWh', active: true },
    ]);
  });

  it('reads a generic HTTPS source with its parameters and defaults', () => {
    const [entry] = parseSeriesConfig({
      series: [
        {
          name: 'grid',
          timezone: 'Europe/Madrid',
          country: 'ES',
          model: 'pulse-mlp-es-1',
          active: false,
          source: {
            kind: 'http',
            url: 'https://data.example.com/load',
            format: 'json',
            timeField: 't',
            valueField: 'v',
            itemsPath: 'data.items',
          },
        },
      ],
    }).series;
    expect(entry).toMatchObject({
      model: 'pulse-mlp-es-1',
      active: false,
      source: {
        kind: 'http',
        url: 'https://data.example.com/load',
        fromParam: 'from',
        toParam: 'to',
        itemsPath: 'data.items',
      },
    });
  });

  it('names the entry and the field of a bad time zone', () => {
    expect(problem({ series: [turkey, { name: 'spain', timezone: 'Europe/Madird' }] })).toBe(
      'pulse.config.json: series[1] "spain": timezone: "Europe/Madird" is not an IANA time zone such as Europe/Istanbul',
    );
  });

  it('rejects a country without a holiday calendar and a code that is not one', () => {
    expect(problem({ series: [{ ...turkey, country: 'XX' }] })).toContain(
      'series[0] "turkey": country: "XX" is not a country with a holiday calendar',
    );
    expect(problem({ series: [{ ...turkey, country: 'tr' }] })).toContain(
      'series[0] "turkey": country: must be an ISO 3166 country code',
    );
  });

  it('names every problem: a duplicate name, a plain-http source, an unknown field, a missing time zone', () => {
    const message = problem({
      series: [
        turkey,
        { name: 'turkey', timezone: 'UTC' },
        {
          name: 'web',
          timezone: 'UTC',
          source: { kind: 'http', url: 'http://example.com', format: 'csv', timeField: 't', valueField: 'v' },
        },
        { name: 'typo', timezone: 'UTC', activ: true },
        { name: 'no-zone' },
      ],
    });
    expect(message).toContain('series[1] "turkey": name: "turkey" is already the name of series[0]');
    expect(message).toContain('series[2] "web": source.url: must use https (plain http only for localhost)');
    expect(message).toContain('series[3] "typo": Unrecognized key: "activ"');
    expect(message).toContain('series[4] "no-zone": timezone: is required');
  });

  it('rejects an unknown source kind and a bad series name', () => {
    expect(problem({ series: [{ ...turkey, source: { kind: 'ftp' } }] })).toContain(
      'series[0] "turkey": source.kind: kind must be "epias" or "http"',
    );
    expect(problem({ series: [{ ...turkey, name: 'türkiye load' }] })).toContain(
      `series[0] "türkiye load": name: must be letters, digits`,
    );
  });

  it('reports text that is not JSON with the file name', () => {
    expect(() => parseSeriesConfigText('{"series": [', 'my.json')).toThrow(/^my\.json: not valid JSON/);
  });
});
