import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { pulseDatasource } from './datasource.ts';
import {
  customProperty,
  defaultBarChart,
  defaultStat,
  defaultTimeseries,
  fixedColor,
  type Placement,
} from './panels.ts';
import { dedent, originsInRange, sqlQuery } from './sql-query.ts';
import { modelVariable, seriesVariable } from './variables.ts';

// Single-select variables: Grafana inserts them unquoted, so the id goes in bare and the version in quotes.
const SERIES = 'series_id = $series';
const MODEL = "model_version = '$model'";

type Metric = 'mae' | 'rmse' | 'mape';
const METRIC_LABEL: Record<Metric, string> = { mae: 'MAE', rmse: 'RMSE', mape: 'MAPE' };
const METRIC_UNIT: Record<Metric, string> = { mae: 'short', rmse: 'short', mape: 'percent' };

/** The newest value of each rolling window, as the evaluate function last stored it (all horizons). */
function rollupStat(metric: Metric | 'skill', at: Placement) {
  const column = metric === 'skill' ? '100 * skill' : metric;
  const title = metric === 'skill' ? 'Skill vs persistence' : `${METRIC_LABEL[metric]} (rolling)`;
  return defaultStat({
    title,
    description:
      metric === 'skill'
        ? 'Share of the persistence error the model removes, 1 − Σ|error| / Σ|persistence error| over the hours that have both, over the last 24 h, 7 d and 30 d before the newest evaluation. Above 0 % the model beats "same as the last hour"; below 0 % it is worse.'
        : `${METRIC_LABEL[metric]} of all horizons over the last 24 h, 7 d and 30 d before the newest evaluation (metric_rollups, refreshed by every evaluate run; independent of the time picker).`,
    at,
    unit: metric === 'mape' || metric === 'skill' ? 'percent' : 'short',
    decimals: metric === 'mape' || metric === 'skill' ? 2 : 0,
    queries: [
      sqlQuery(`
        select max(${column}) filter (where window_name = '24h') as "24 h",
               max(${column}) filter (where window_name = '7d') as "7 d",
               max(${column}) filter (where window_name = '30d') as "30 d"
        from metric_rollups
        where ${SERIES} and ${MODEL} and horizon = 0`),
    ],
  });
}

function actualVsForecast(at: Placement) {
  return defaultTimeseries({
    title: 'Actual vs 1-hour-ahead forecast',
    description:
      'Measured load (black) and the forecast made one hour before each hour (blue) with its 10–90 % interval as a band. Red dots are fallback forecasts: the model could not be trusted for that window (gap, stale or implausible input) and a seasonal baseline stood in. Shaded regions are public holidays.',
    at,
    unit: 'short',
    queries: [
      sqlQuery(`
        select hour as time, value as "actual"
        from actuals
        where ${SERIES} and $__timeFilter(hour)
        order by 1`).timeSeries(),
      sqlQuery(`
        select target_hour as time,
               value as "forecast",
               lower_bound as "p10",
               upper_bound as "p90",
               case when quality = 'fallback' then value end as "fallback forecast"
        from predictions
        where ${SERIES} and ${MODEL} and horizon = 1 and $__timeFilter(target_hour) and ${originsInRange(undefined, 1)}
        order by 1`).timeSeries(),
    ],
  })
    .overrideByName('actual', [fixedColor('#1f1f1f'), customProperty('lineWidth', 1.5)])
    .overrideByName('forecast', [fixedColor('#3274d9')])
    .overrideByName('p90', [
      fixedColor('#8ab8ff'),
      customProperty('lineWidth', 0),
      customProperty('fillOpacity', 25),
      customProperty('fillBelowTo', 'p10'),
      { id: 'displayName', value: '10–90 % interval' },
    ])
    .overrideByName('p10', [
      fixedColor('#8ab8ff'),
      customProperty('lineWidth', 0),
      customProperty('hideFrom', { legend: true, tooltip: false, viz: false }),
    ])
    .overrideByName('fallback forecast', [
      fixedColor('#e02f44'),
      customProperty('drawStyle', common.GraphDrawStyle.Points),
      customProperty('showPoints', common.VisibilityMode.Always),
      customProperty('pointSize', 6),
    ]);
}

function latestForecast(at: Placement) {
  return defaultTimeseries({
    title: 'Latest 24-hour-ahead forecast',
    description:
      'The 24 hours of the newest forecast issued before the end of the time range, with its interval, and the actuals that have arrived for those hours since. Widen the range into the future (the default ends at now + 24 h) to see all of it.',
    at,
    queries: [
      sqlQuery(`
        with newest as (
          select last_input_hour
          from forecasts
          where ${SERIES} and ${MODEL} and issued_at <= $__timeTo()
          order by last_input_hour desc
          limit 1
        )
        select p.target_hour as time,
               p.value as "forecast",
               p.lower_bound as "p10",
               p.upper_bound as "p90",
               a.value as "actual"
        from newest n
        join predictions p on p.series_id = $series and p.model_version = '$model'
                          and p.last_input_hour = n.last_input_hour and p.horizon <= 24
        left join actuals a on a.series_id = p.series_id and a.hour = p.target_hour
        order by 1`).timeSeries(),
    ],
  })
    .showPoints(common.VisibilityMode.Always)
    .pointSize(3)
    .overrideByName('actual', [fixedColor('#1f1f1f')])
    .overrideByName('forecast', [fixedColor('#3274d9')])
    .overrideByName('p90', [
      fixedColor('#8ab8ff'),
      customProperty('lineWidth', 0),
      customProperty('fillOpacity', 25),
      customProperty('fillBelowTo', 'p10'),
      customProperty('showPoints', common.VisibilityMode.Never),
    ])
    .overrideByName('p10', [
      fixedColor('#8ab8ff'),
      customProperty('lineWidth', 0),
      customProperty('showPoints', common.VisibilityMode.Never),
    ]);
}

/**
 * Rolling error from the scored forecasts: the hourly error sums over all horizons (error_hours, kept
 * for ever, so old periods still answer after raw scores expire), then window sums over the preceding 24,
 * 168 and 720 hours — the same windows as metric_rollups, so the newest point of each line equals the
 * stat above it.
 */
export function rollingErrorSql(metric: Metric): string {
  const value = (w: string) =>
    metric === 'mae'
      ? `pulse_mae(sum(abs_sum) over ${w}, sum(n) over ${w})`
      : metric === 'rmse'
        ? `pulse_rmse(sum(squared_sum) over ${w}, sum(n) over ${w})`
        : `pulse_mape(sum(pct_sum) over ${w}, sum(pct_n) over ${w})`;
  return dedent(`
    with hourly as (
      select hour as target_hour, n, abs_error_sum as abs_sum, squared_error_sum as squared_sum,
             pct_error_sum as pct_sum, pct_error_n as pct_n
      from error_hours
      where ${SERIES} and ${MODEL} and n > 0
        and hour > $__timeFrom()::timestamptz - interval '30 days' and hour <= $__timeTo()
    ),
    rolling as (
      select target_hour, ${value('day')} as day, ${value('week')} as week, ${value('month')} as month
      from hourly
      window day as (order by target_hour range between interval '23 hours' preceding and current row),
             week as (order by target_hour range between interval '167 hours' preceding and current row),
             month as (order by target_hour range between interval '719 hours' preceding and current row)
    )
    select $__timeGroupAlias(target_hour, $__interval), avg(day) as "24 h", avg(week) as "7 d", avg(month) as "30 d"
    from rolling
    where $__timeFilter(target_hour)
    group by 1
    order by 1`);
}

function rollingError(metric: Metric, at: Placement) {
  return defaultTimeseries({
    title: `Rolling ${METRIC_LABEL[metric]}`,
    description: `${METRIC_LABEL[metric]} of all horizons over the 24 h, 7 d and 30 d before each hour, from the scored forecasts. The 24 h line reacts to single bad days; the 30 d line shows drift.`,
    at,
    unit: METRIC_UNIT[metric],
    queries: [sqlQuery(rollingErrorSql(metric)).timeSeries()],
  }).interval('1h');
}

function skillOverTime(at: Placement) {
  return defaultTimeseries({
    title: 'Daily skill vs persistence',
    description:
      'Per UTC day, 1 − Σ|error| / Σ|persistence error| over all horizons (hours that have both), where persistence repeats the last known hour. 0 % is the line to stay above; a drop means the model lost its edge that day (holidays, data problems).',
    at,
    unit: 'percent',
    queries: [
      sqlQuery(`
        select $__timeGroupAlias(hour, '1d'),
               100 * pulse_skill(sum(skill_abs_error_sum), sum(persistence_abs_error_sum)) as "skill"
        from error_hours
        where ${SERIES} and ${MODEL} and n > 0 and $__timeFilter(hour)
        group by 1
        order by 1`).timeSeries(),
    ],
  })
    .drawStyle(common.GraphDrawStyle.Bars)
    .fillOpacity(60);
}

function errorByHorizon(at: Placement) {
  return defaultBarChart({
    title: 'Error by horizon',
    description:
      'MAE of the forecasts made 1, 2, … 24 hours ahead, next to the MAE persistence would have had at the same horizon. Error grows with the horizon; the gap between the bars is the skill.',
    at,
    xField: 'horizon',
    queries: [
      sqlQuery(`
        select e.horizon::text as horizon, pulse_mae(sum(e.abs_error), count(*)) as "MAE",
               pulse_mae(sum(e.persistence_abs_error), count(e.persistence_abs_error)) as "persistence MAE"
        from evaluations e
        where e.${SERIES} and e.${MODEL} and $__timeFilter(e.target_hour)
        group by e.horizon
        order by e.horizon`),
    ],
  });
}

function errorByHourOfDay(at: Placement) {
  return defaultBarChart({
    title: 'Error by hour of day',
    description:
      "MAE and bias (forecast − actual; above 0 = too high) of all horizons by the series' local hour. Peaks usually sit at the morning ramp and the evening peak.",
    at,
    xField: 'local hour',
    queries: [
      sqlQuery(`
        select lpad(extract(hour from e.hour at time zone s.timezone)::int::text, 2, '0') as "local hour",
               pulse_mae(sum(e.abs_error_sum), sum(e.n)) as "MAE", pulse_bias(sum(e.error_sum), sum(e.n)) as "bias"
        from error_hours e
        join series s on s.id = e.series_id
        where e.series_id = $series and e.model_version = '$model' and e.n > 0 and $__timeFilter(e.hour)
        group by 1
        order by 1`),
    ],
  });
}

export function holidayAnnotation(): dashboard.AnnotationQueryBuilder {
  return new dashboard.AnnotationQueryBuilder()
    .name('Holidays')
    .datasource(pulseDatasource)
    .enable(true)
    .iconColor('rgba(255, 176, 0, 0.25)')
    .target(
      sqlQuery(`
        select h.starts_at as time, h.ends_at as timeend, h.name as text, h.kind as tags
        from holidays h
        where h.country = (select country from series where id = $series)
          and h.starts_at < $__timeTo() and h.ends_at > $__timeFrom()
        order by 1`),
    );
}

export function forecastDashboard(): dashboard.DashboardBuilder {
  return new dashboard.DashboardBuilder('Pulse · Forecast')
    .uid('pulse-forecast')
    .description('Forecasts against actuals and forecast error for one series and model.')
    .tags(['pulse', 'forecast'])
    .timezone('browser')
    .time({ from: 'now-7d', to: 'now+24h' })
    .refresh('5m')
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .readonly()
    .withVariable(seriesVariable({ multi: false }))
    .withVariable(modelVariable({ multi: false }))
    .annotation(holidayAnnotation())
    .withPanel(rollupStat('mae', { x: 0, y: 0, w: 6, h: 4 }))
    .withPanel(rollupStat('rmse', { x: 6, y: 0, w: 6, h: 4 }))
    .withPanel(rollupStat('mape', { x: 12, y: 0, w: 6, h: 4 }))
    .withPanel(rollupStat('skill', { x: 18, y: 0, w: 6, h: 4 }))
    .withPanel(actualVsForecast({ x: 0, y: 4, w: 24, h: 11 }))
    .withPanel(latestForecast({ x: 0, y: 15, w: 12, h: 8 }))
    .withPanel(skillOverTime({ x: 12, y: 15, w: 12, h: 8 }))
    .withPanel(rollingError('mae', { x: 0, y: 23, w: 8, h: 8 }))
    .withPanel(rollingError('rmse', { x: 8, y: 23, w: 8, h: 8 }))
    .withPanel(rollingError('mape', { x: 16, y: 23, w: 8, h: 8 }))
    .withPanel(errorByHorizon({ x: 0, y: 31, w: 12, h: 8 }))
    .withPanel(errorByHourOfDay({ x: 12, y: 31, w: 12, h: 8 }));
}
