import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadReportData, writeReport, writeReportPng } from '../../src/adapters/report/index.ts';
import { CHROMIUM_ARGS, DEFAULT_CHROMIUM } from '../../src/adapters/report/png.ts';
import { HOUR_MS } from '../../src/core/time.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { seedPulse, type SeededPulse } from '../helpers/seed.ts';

const hasChromium = existsSync(DEFAULT_CHROMIUM);
if (!hasChromium)
  console.warn(`skipping the report's browser tests: no ${DEFAULT_CHROMIUM} (apt-get install chromium)`);

describe('pulse report', () => {
  let db: TestDatabase;
  let seed: SeededPulse;
  let dir: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    seed = await seedPulse(db.sql);
    dir = mkdtempSync(path.join(tmpdir(), 'pulse-report-'));
  });
  afterAll(async () => {
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('defaults to the first series and the forecast period up to its newest actual', async () => {
    const data = await loadReportData(db.sql, {});
    expect(data.series.name).toBe('east');
    expect(data.model).toBe(seed.modelVersion);
    expect([data.from, data.to]).toEqual([seed.backfillFrom, seed.lastHour]);
    expect(data.hourly.t).toHaveLength((seed.lastHour - seed.backfillFrom) / HOUR_MS + 1);
    expect(data.holidays.map((h) => h.kind)).toEqual(['half-day', 'holiday', 'holiday', 'holiday']);
    expect(data.byHorizon.horizon).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
  });

  it('writes one HTML file that loads nothing from anywhere else', async () => {
    const file = await writeReport(db.sql, { series: 'south', out: path.join(dir, 'nested', 'south.html') });
    expect(file).toBe(path.join(dir, 'nested', 'south.html'));
    const html = readFileSync(file, 'utf8');
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)=/i);
    expect(html).toContain('uPlot');
  });

  describe.skipIf(!hasChromium)('in headless Chromium', () => {
    let browser: Browser;
    let file: string;
    const from = Date.UTC(2025, 2, 20);
    const to = Date.UTC(2025, 3, 13, 23);

    beforeAll(async () => {
      browser = await chromium.launch({ executablePath: DEFAULT_CHROMIUM, args: CHROMIUM_ARGS });
      // The seasonal baseline gives no interval; a quantile model does. Give the hours one to draw the band.
      await db.sql`
        update forecasts set lower_bound = array[value[1] * 0.97], upper_bound = array[value[1] * 1.03]
        where series_id = ${seed.series.find((s) => s.name === 'south')!.id} and value[1] is not null`;
      file = await writeReport(db.sql, { series: 'south', from, to, out: path.join(dir, 'south.html') });
    });
    afterAll(async () => browser?.close());

    it('loads without console errors, draws every chart and shows the metrics from the database', async () => {
      const page = await browser.newPage({ viewport: { width: 1240, height: 900 } });
      const problems: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') problems.push(m.text());
      });
      page.on('pageerror', (e) => problems.push(e.message));
      page.on('request', (r) => {
        if (!r.url().startsWith('file:') && !r.url().startsWith('blob:')) problems.push(`request ${r.url()}`);
      });
      await page.goto(pathToFileURL(file).href);
      await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });

      // Share of pixels that are neither white nor transparent, per chart canvas.
      const ink = await page.evaluate(() =>
        ['main-chart', 'rolling-chart', 'horizon-chart', 'hour-chart'].map((id) => {
          const canvas = document.querySelector(`#${id} canvas`) as HTMLCanvasElement;
          const px = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
          let inked = 0;
          let amber = 0;
          for (let i = 0; i < px.length; i += 4) {
            const [r, g, b, a] = [px[i]!, px[i + 1]!, px[i + 2]!, px[i + 3]!];
            if (a > 0 && (r < 245 || g < 245 || b < 245)) inked++;
            if (r > 240 && g > 225 && g < 240 && b < 200) amber++; // the holiday shading over white
          }
          return { id, inked: inked / (px.length / 4), amber };
        }),
      );
      for (const chart of ink) expect(chart.inked, chart.id).toBeGreaterThan(0.01);
      expect(ink[0]!.amber).toBeGreaterThan(100);

      const south = seed.series.find((s) => s.name === 'south')!.id;
      const [expected] = await db.sql<{ n: number; mae: number; mape: number; fallback_rate: number }[]>`
        select count(*)::int as n, avg(abs_error) as mae, avg(pct_error) as mape,
               avg(case when quality = 'fallback' then 100.0 else 0.0 end)::float8 as fallback_rate
        from evaluations
        where series_id = ${south} and horizon = 1 and target_hour between ${new Date(from)} and ${new Date(to)}`;
      const cell = (metric: string) =>
        page.locator(`#period-metrics tbody tr:first-child td[data-metric="${metric}"]`);
      expect(await page.locator('#period-metrics tbody tr:first-child td').first().textContent()).toBe(
        '1 h ahead',
      );
      expect(Number(await cell('n').getAttribute('data-value'))).toBe(expected!.n);
      expect(Number(await cell('mae').getAttribute('data-value'))).toBeCloseTo(expected!.mae, 6);
      expect(Number(await cell('mape').getAttribute('data-value'))).toBeCloseTo(expected!.mape, 6);
      expect(await cell('mape').textContent()).toBe(`${expected!.mape.toFixed(2)} %`);
      expect(expected!.fallback_rate).toBeGreaterThan(0);
      expect(Number(await cell('fallbackRate').getAttribute('data-value'))).toBeCloseTo(
        expected!.fallback_rate,
        6,
      );
      expect(await page.locator('#rolling-metrics tbody tr').count()).toBe(3);
      expect(await page.locator('#main-chart .u-legend').textContent()).toContain('p90');
      expect(problems).toEqual([]);
      await page.close();
    });

    // Issue 15: the report only looked back, a year was a blue blob, and the static legend showed "--".
    it('opens with the next 24 hours on top, the main chart on its last 14 days, and legend values', async () => {
      const year = await writeReport(db.sql, { series: 'south', out: path.join(dir, 'south-all.html') });
      const page = await browser.newPage({ viewport: { width: 1240, height: 900 } });
      await page.goto(pathToFileURL(year).href);
      await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
      const top = await page.locator('h2').first().textContent();
      expect(top).toBe('Next 24 hours');
      expect(await page.locator('#next-chart canvas').count()).toBe(1);
      // The seed's newest actual is long past: the report says so in plain words.
      expect(await page.locator('#staleness').textContent()).toMatch(
        /^The newest actual is \d+ days old: a forecast run now makes fallback forecasts/,
      );
      const span = await page.evaluate(() => {
        const chart = document.querySelector('#main-chart .u-over')!.getBoundingClientRect();
        return chart.width > 0;
      });
      expect(span).toBe(true);
      const days = await page.evaluate(() => {
        const u = (
          window as unknown as { pulseCharts: { main: { scales: { x: { min: number; max: number } } } } }
        ).pulseCharts.main;
        return (u.scales.x.max - u.scales.x.min) / 86400;
      });
      expect(days).toBeCloseTo(14, 5);
      const legend = await page.locator('#main-chart .u-legend .u-value').allTextContents();
      expect(legend.filter((v) => /\d/.test(v)).length).toBeGreaterThanOrEqual(2); // actual and forecast values
      await page.click('#zoom-all');
      const all = await page.evaluate(() => {
        const u = (
          window as unknown as { pulseCharts: { main: { scales: { x: { min: number; max: number } } } } }
        ).pulseCharts.main;
        return (u.scales.x.max - u.scales.x.min) / 86400;
      });
      expect(all).toBeGreaterThan(30);
      await page.close();
    });

    it('saves the main chart as a PNG from the button', async () => {
      const page = await browser.newPage({ acceptDownloads: true, viewport: { width: 1240, height: 900 } });
      await page.goto(pathToFileURL(file).href);
      await page.waitForSelector('body[data-ready="true"]');
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('#png')]);
      expect(download.suggestedFilename()).toBe('pulse-south-forecast.png');
      const saved = path.join(dir, 'button.png');
      await download.saveAs(saved);
      const png = readFileSync(saved);
      expect(png.subarray(1, 4).toString()).toBe('PNG');
      expect(png.length).toBeGreaterThan(10_000);
      await page.close();
    });

    it('writes the main chart as a PNG through headless Chromium (pulse report --png)', async () => {
      const out = await writeReportPng(file, path.join(dir, 'chart.png'));
      const png = readFileSync(out);
      expect(png.subarray(1, 4).toString()).toBe('PNG');
      expect(png.readUInt32BE(16)).toBeGreaterThan(800); // width from the IHDR chunk
    });
  });
});
