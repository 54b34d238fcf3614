import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createPulseApp } from '../../lib/app.ts';
import { checkDashboardSchemas, DASHBOARD_SCHEMA_OF_GRAFANA, dashboardFiles } from '../../lib/grafana.ts';
import { loadSeriesConfig } from '../../lib/migrations.ts';
import { REPO_ROOT } from '../../lib/pulse-function.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'pulse-series-synth-'));

describe('series configuration at synth', () => {
  it("validates the repository's pulse.config.json", () => {
    const config = loadSeriesConfig(path.join(REPO_ROOT, 'pulse.config.json'));
    expect(config.series.map((s) => [s.name, s.country, s.timezone, s.source?.kind])).toEqual([
      ['turkey', 'TR', 'Europe/Istanbul', 'epias'],
    ]);
  });

  it('fails cdk synth on a bad file, naming the entry and the field, before bundling anything', () => {
    const file = path.join(dir, 'bad.json');
    writeFileSync(
      file,
      JSON.stringify({
        series: [
          { name: 'turkey', timezone: 'Europe/Istanbul', country: 'TR' },
          {
            name: 'plant',
            timezone: 'Europe/Berlin',
            source: { kind: 'http', url: 'https://x.example', format: 'xml' },
          },
        ],
      }),
    );
    const started = Date.now();
    expect(() => createPulseApp({ context: { 'pulse:seriesConfig': file } })).toThrow(
      /bad\.json: series\[1\] "plant": source\.format: must be "csv" or "json"; series\[1\] "plant": source\.timeField: is required/,
    );
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('fails cdk synth when the file is missing', () => {
    expect(() =>
      createPulseApp({ context: { 'pulse:seriesConfig': path.join(dir, 'absent.json') } }),
    ).toThrow(/cannot read the series configuration .*absent\.json/);
  });
});

describe('dashboard schema against the Grafana version', () => {
  it('accepts the generated dashboards for Grafana 12.4 and rejects them for 10.4', () => {
    const files = dashboardFiles();
    const versions = checkDashboardSchemas(files, '12.4');
    expect(Object.values(versions).every((v) => v <= DASHBOARD_SCHEMA_OF_GRAFANA['12.4']!)).toBe(true);
    // Schema 42 is Grafana 12's: 10.4 (schema 39) would not migrate it.
    expect(() => checkDashboardSchemas(files, '10.4')).toThrow(
      /declares schemaVersion 42, but Grafana 10\.4 reads at most 39/,
    );
    expect(() => checkDashboardSchemas(files, '11.0')).toThrow(
      /Grafana 11\.0 is not in DASHBOARD_SCHEMA_OF_GRAFANA/,
    );
  });
});
