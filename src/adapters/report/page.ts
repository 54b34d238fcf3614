import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { ReportData } from './report-data.ts';

const require = createRequire(import.meta.url);

/** uPlot's browser build and stylesheet, inlined so the page needs no server and no network. */
function uplotAssets(): { js: string; css: string } {
  return {
    js: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
    css: readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
  };
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** JSON that cannot close the <script> element it sits in. */
const scriptJson = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');

const STYLE = `
  body { font: 14px/1.4 system-ui, sans-serif; margin: 24px auto; max-width: 1180px; color: #1f1f1f; background: #fff; }
  h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 28px 0 6px; }
  .sub, .how { color: #555; } .how { font-size: 13px; margin: 2px 0 8px; }
  .grid { display: grid; grid-template-columns: 1fr 1fr; gap: 0 24px; }
  table { border-collapse: collapse; margin-top: 6px; } th, td { padding: 4px 10px; text-align: right; border-bottom: 1px solid #ddd; }
  th:first-child, td:first-child { text-align: left; }
  button { font: inherit; padding: 4px 10px; cursor: pointer; }
  .empty { color: #a00; }
`;

/**
 * The report's drawing code (runs in the browser). Colours match the Grafana dashboards: actual black,
 * forecast blue with a light-blue 10–90 % band, fallbacks red, holidays amber.
 */
const CLIENT = String.raw`
(function () {
  const data = JSON.parse(document.getElementById('report-data').textContent);
  const fmt = (v, d) => (v === null || v === undefined || !isFinite(v) ? '–' : Number(v).toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }));
  const width = (el) => Math.max(320, el.clientWidth);

  // Paints a white background and the holiday periods under the series, so the PNG export shows them too.
  function backgroundAndHolidays(holidays) {
    return (u) => {
      const ctx = u.ctx;
      ctx.save();
      ctx.fillStyle = '#ffffff';
      ctx.fillRect(0, 0, ctx.canvas.width, ctx.canvas.height);
      ctx.fillStyle = 'rgba(255, 176, 0, 0.22)';
      for (const h of holidays) {
        const x0 = Math.max(u.bbox.left, u.valToPos(h.start, 'x', true));
        const x1 = Math.min(u.bbox.left + u.bbox.width, u.valToPos(h.end, 'x', true));
        if (x1 > x0) ctx.fillRect(x0, u.bbox.top, x1 - x0, u.bbox.height);
      }
      ctx.restore();
    };
  }

  function timeChart(el, series, values, opts) {
    return new uPlot(
      Object.assign({
        width: width(el), height: 320, series: [{}].concat(series),
        scales: { x: { time: true } },
        axes: [{}, { size: 70, values: (u, ticks) => ticks.map((v) => fmt(v, 0)) }],
        hooks: { drawClear: [backgroundAndHolidays(opts && opts.holidays ? data.holidays : [])] },
      }, opts && opts.extra),
      values, el);
  }

  const h = data.hourly;
  const hasBand = h.lower.some((v) => v !== null);
  // Without an interval (baselines give none) the band series are left out rather than shown empty.
  const series = [
    { label: 'actual', stroke: '#1f1f1f', width: 1.5 },
    { label: 'forecast (1 h ahead)', stroke: '#3274d9', width: 1 },
    { label: 'fallback forecast', stroke: '#e02f44', width: 0, paths: () => null, points: { show: true, size: 5, fill: '#e02f44', stroke: '#e02f44' } },
  ];
  const values = [h.t, h.actual, h.forecast, h.fallback];
  if (hasBand) {
    series.push({ label: 'p10', stroke: 'rgba(138,184,255,0.9)', width: 0.5 }, { label: 'p90', stroke: 'rgba(138,184,255,0.9)', width: 0.5 });
    values.push(h.lower, h.upper);
  }
  // The legend shows the values of the hour under the cursor; without a cursor (a static view, a PNG) it
  // shows the newest hour with data instead of "--".
  function newestIndex(u) {
    const xs = u.data[0];
    for (let i = xs.length - 1; i >= 0; i--) {
      if (xs[i] > u.scales.x.max) continue;
      for (let s = 1; s < u.data.length; s++) if (u.data[s][i] !== null && u.data[s][i] !== undefined) return i;
    }
    return null;
  }
  const staticLegend = {
    ready: [(u) => u.setLegend({ idx: newestIndex(u) })],
    setScale: [(u, key) => { if (key === 'x' && u.cursor.left < 0) u.setLegend({ idx: newestIndex(u) }); }],
    setCursor: [(u) => { if (u.cursor.idx === null || u.cursor.idx === undefined) u.setLegend({ idx: newestIndex(u) }); }],
  };

  const n = data.next;
  if (n) {
    const nextSeries = [
      { label: 'actual', stroke: '#1f1f1f', width: 1.5 },
      { label: 'forecast', stroke: '#3274d9', width: 2 },
    ];
    const nextValues = [n.t, n.actual, n.forecast];
    if (n.lower.some((v) => v !== null)) {
      nextSeries.push({ label: 'p10', stroke: 'rgba(138,184,255,0.9)', width: 0.5 }, { label: 'p90', stroke: 'rgba(138,184,255,0.9)', width: 0.5 });
      nextValues.push(n.lower, n.upper);
    }
    timeChart(document.getElementById('next-chart'), nextSeries, nextValues, {
      holidays: true,
      extra: { height: 260, bands: nextValues.length > 3 ? [{ series: [4, 3], fill: 'rgba(138,184,255,0.3)' }] : [], hooks: { drawClear: [backgroundAndHolidays(data.holidays)], ready: staticLegend.ready, setCursor: staticLegend.setCursor } },
    });
  }

  const main = timeChart(document.getElementById('main-chart'), series, values, {
    holidays: true,
    extra: {
      bands: hasBand ? [{ series: [5, 4], fill: 'rgba(138,184,255,0.3)' }] : [],
      hooks: { drawClear: [backgroundAndHolidays(data.holidays)], ready: staticLegend.ready, setScale: staticLegend.setScale, setCursor: staticLegend.setCursor },
    },
  });
  // A year is readable one zoom away: the chart opens on the last 14 days, the buttons switch.
  const DAYS_SHOWN = 14;
  const first = h.t[0];
  const last = h.t[h.t.length - 1];
  function showDays(days) {
    main.setScale('x', { min: days ? Math.max(first, last - days * 86400) : first, max: last });
  }
  if (last - first > DAYS_SHOWN * 86400) showDays(DAYS_SHOWN);
  window.pulseCharts = { main: main };
  document.getElementById('zoom-14d').addEventListener('click', () => showDays(DAYS_SHOWN));
  document.getElementById('zoom-all').addEventListener('click', () => showDays(0));

  timeChart(document.getElementById('rolling-chart'), [
    { label: 'MAPE 24 h', stroke: '#e0752d', width: 1 },
    { label: 'MAPE 7 d', stroke: '#3274d9', width: 1.5 },
    { label: 'MAPE 30 d', stroke: '#1f1f1f', width: 2 },
  ], [h.t, h.mape24h, h.mape7d, h.mape30d], {
    holidays: true,
    extra: { axes: [{}, { size: 60, values: (u, ticks) => ticks.map((v) => fmt(v, 1) + ' %') }] },
  });

  function barChart(el, x, series, xLabel) {
    // Two bars per category, side by side: the first ends at x, the second starts there.
    return new uPlot({
      width: width(el), height: 260,
      scales: { x: { time: false, range: (u, min, max) => [min - 0.5, max + 0.5] } },
      axes: [{ label: xLabel, values: (u, ticks) => ticks.map((v) => (Number.isInteger(v) ? String(v) : '')) },
             { size: 70, values: (u, ticks) => ticks.map((v) => fmt(v, 0)) }],
      series: [{ label: xLabel }].concat(series.map((s, i) => ({
        label: s.label, stroke: s.color, fill: s.color + 'aa', width: 1,
        paths: uPlot.paths.bars({ size: [0.4, 40], align: i === 0 ? -1 : 1 }),
        points: { show: false },
      }))),
      hooks: { drawClear: [backgroundAndHolidays([])] },
    }, [x].concat(series.map((s) => s.values)), el);
  }
  barChart(document.getElementById('horizon-chart'), data.byHorizon.horizon, [
    { label: 'MAE', values: data.byHorizon.mae, color: '#3274d9' },
    { label: 'persistence MAE', values: data.byHorizon.persistenceMae, color: '#8f8f8f' },
  ], 'horizon (h)');
  barChart(document.getElementById('hour-chart'), data.byHourOfDay.hour, [
    { label: 'MAE', values: data.byHourOfDay.mae, color: '#3274d9' },
    { label: 'bias', values: data.byHourOfDay.bias, color: '#e0752d' },
  ], 'local hour');

  function metricsTable(el, rows) {
    const cols = [['n', 0, ''], ['mae', 1, ''], ['rmse', 1, ''], ['mape', 2, ' %'], ['bias', 1, ''], ['skill', 1, ' %'], ['coverage', 1, ' %'], ['fallbackRate', 2, ' %']];
    const body = el.querySelector('tbody');
    for (const r of rows) {
      const tr = document.createElement('tr');
      const th = document.createElement('td');
      th.textContent = r.label;
      tr.appendChild(th);
      for (const [key, digits, suffix] of cols) {
        const td = document.createElement('td');
        td.dataset.metric = key;
        td.dataset.value = r[key] === null ? '' : String(r[key]);
        td.textContent = fmt(r[key], digits) + (r[key] === null ? '' : suffix);
        tr.appendChild(td);
      }
      body.appendChild(tr);
    }
  }
  metricsTable(document.getElementById('period-metrics'), data.periodMetrics);
  metricsTable(document.getElementById('rolling-metrics'), data.rollingMetrics);

  document.getElementById('png').addEventListener('click', () => {
    main.ctx.canvas.toBlob((blob) => {
      const a = document.createElement('a');
      a.href = URL.createObjectURL(blob);
      a.download = 'pulse-' + data.series.name + '-forecast.png';
      a.click();
      setTimeout(() => URL.revokeObjectURL(a.href), 1000);
    }, 'image/png');
  });
  document.body.dataset.ready = 'true';
})();
`;

const METRICS_HEAD =
  '<thead><tr><th></th><th>n</th><th>MAE</th><th>RMSE</th><th>MAPE</th><th>bias</th><th>skill</th><th>coverage</th><th>fallbacks</th></tr></thead><tbody></tbody>';

/** The "next 24 hours" section at the top: the newest forecast with its interval, and plain staleness words. */
function nextSection(data: ReportData): string {
  const n = data.next;
  if (!n) return '<h2>Next hours</h2><div class="how empty">No forecast yet: run "pulse forecast".</div>';
  const at = (s: number) => new Date(s * 1000).toISOString().slice(0, 16).replace('T', ' ');
  const hours = n.forecast.filter((v) => v !== null).length;
  return `<h2>Next ${hours} hours</h2>
<div class="how">The newest forecast: made from the actual of ${at(n.origin)} UTC, issued ${at(n.issuedAt)} UTC by ${escapeHtml(n.method)}${n.quality === 'ok' ? '' : ` (${escapeHtml(n.quality)})`}. Black: the last 48 hours measured; blue: the forecast with its 10–90 % interval.</div>
${n.staleness ? `<div class="how empty" id="staleness">${escapeHtml(n.staleness)}</div>` : ''}
<div id="next-chart"></div>`;
}

/** A single HTML file: data, uPlot and the drawing code inline; opens from disk in any browser. */
export function renderReportPage(data: ReportData): string {
  const { js, css } = uplotAssets();
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
  const title = `Pulse report · ${data.series.name}`;
  const unit = escapeHtml(data.series.unit);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${css}</style>
<style>${STYLE}</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
<div class="sub">Model <b>${escapeHtml(data.model ?? 'none')}</b> · ${day(data.from)} – ${day(data.to)} UTC · ${unit} · ${escapeHtml(data.series.timezone)}${data.series.country ? ` · holidays of ${escapeHtml(data.series.country)}` : ''}</div>

${nextSection(data)}

<h2>Actual vs 1-hour-ahead forecast <button id="zoom-14d" type="button">last 14 days</button> <button id="zoom-all" type="button">whole period</button> <button id="png" type="button">Save PNG</button></h2>
<div class="how">Black: measured load. Blue: the forecast made one hour before, with its 10–90 % interval as a band when the model gives one. Red dots: fallback forecasts made by a baseline because the input could not be trusted. Amber: public holidays. Opens on the last 14 days; "whole period" shows all of it. Drag to zoom, double-click to reset.</div>
<div id="main-chart"></div>

<h2>Rolling error</h2>
<div class="how">MAPE of all horizons over the 24 hours, 7 days and 30 days before each hour.</div>
<div id="rolling-chart"></div>

<div class="grid">
<div><h2>Error by horizon</h2><div class="how">MAE (${unit}) by hours ahead, next to persistence ("same as the last known hour").</div><div id="horizon-chart"></div></div>
<div><h2>Error by hour of day</h2><div class="how">MAE and bias (forecast − actual) by local hour, all horizons.</div><div id="hour-chart"></div></div>
</div>

<h2>Metrics over the period</h2>
<div class="how">MAE, RMSE and bias in ${unit}; skill = 1 − Σ|error| / Σ|persistence error| over the hours with both; coverage = share of actuals inside the 10–90 % interval.</div>
<table id="period-metrics">${METRICS_HEAD}</table>
<h2>Rolling metrics as last stored</h2>
<div class="how">What the evaluate function last wrote to metric_rollups (all horizons), whatever the period above.</div>
<table id="rolling-metrics">${METRICS_HEAD}</table>

<script id="report-data" type="application/json">${scriptJson(data)}</script>
<script>${js}</script>
<script>${CLIENT}</script>
</body>
</html>
`;
}
