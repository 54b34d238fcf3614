import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { pulseDatasource } from './datasource.ts';
import { defaultTable, defaultTimeseries, type Placement } from './panels.ts';
import { originsInRange, sqlQuery } from './sql-query.ts';
import { modelVariable, seriesVariable } from './variables.ts';

/** The scheduled functions in the order data flows through them. */
const FUNCTIONS = "array['weather', 'ingest', 'forecast', 'evaluate', 'backfill']";

function lastRuns(at: Placement) {
  return defaultTable({
    title: 'Last run of each function',
    description:
      'The newest run of each function started before the end of the time range: outcome (success, partial = some series fell back or failed, failed, skipped), how long it took, what it wrote and how long ago it started. "never ran" means no run is recorded. Runs cover all series at once.',
    at,
    queries: [
      sqlQuery(`
        select f.function_name as "function",
               coalesce(r.outcome, 'never ran') as outcome,
               r.started_at as "started",
               r.duration_ms / 1000.0 as "duration (s)",
               r.series_count as "series",
               r.rows_written as "rows written",
               r.fallback_count as "fallbacks",
               r.failed_count as "failed",
               (extract(epoch from now() - r.started_at) / 3600)::float8 as "age (h)",
               r.error
        from unnest(${FUNCTIONS}) with ordinality as f (function_name, position)
        left join lateral (
          select * from runs
          where runs.function_name = f.function_name and runs.started_at <= $__timeTo()
          order by runs.started_at desc
          limit 1
        ) r on true
        order by f.position`),
    ],
  })
    .overrideByName('duration (s)', [{ id: 'decimals', value: 1 }])
    .overrideByName('age (h)', [{ id: 'decimals', value: 1 }])
    .overrideByName('outcome', [
      {
        id: 'mappings',
        value: [
          {
            type: 'value',
            options: {
              success: { color: 'green', index: 0 },
              partial: { color: 'orange', index: 1 },
              failed: { color: 'red', index: 2 },
              'never ran': { color: 'red', index: 3 },
            },
          },
        ],
      },
      { id: 'custom.cellOptions', value: { type: 'color-text' } },
    ]);
}

function actualsAge(at: Placement) {
  return defaultTable({
    title: 'Age of the newest actual',
    description:
      'Per series, the newest hour with a measured value and how many hours ago it started. The source publishes with a delay of an hour or two; a growing age means ingest is stuck or the source stopped.',
    at,
    queries: [
      sqlQuery(`
        select s.name as series,
               n.newest_hour as "newest actual",
               (extract(epoch from now() - n.newest_hour) / 3600)::float8 as "age (h)"
        from series s
        cross join lateral (select max(a.hour) as newest_hour from actuals a where a.series_id = s.id) n
        where s.id in ($series)
        order by 3 desc nulls first, 1`),
    ],
  }).overrideByName('age (h)', [{ id: 'decimals', value: 1 }]);
}

function missingHours(at: Placement) {
  return defaultTable({
    title: 'Missing hours',
    description:
      'Per series, hours without an actual between the first and the last hour received in the time range (gaps in the record; lateness at the end shows in the age panel). Each gap can turn the forecasts that need it into fallbacks.',
    at,
    queries: [
      sqlQuery(`
        select s.name as series,
               count(a.hour) as "hours received",
               coalesce((extract(epoch from max(a.hour) - min(a.hour)) / 3600)::int + 1 - count(a.hour)::int, 0)
                 as "missing hours",
               min(a.hour) as "first",
               max(a.hour) as "last"
        from series s
        left join actuals a on a.series_id = s.id and $__timeFilter(a.hour)
        where s.id in ($series)
        group by s.name
        order by 3 desc, 1`),
    ],
  });
}

function revisions(at: Placement) {
  return defaultTimeseries({
    title: 'Revisions received',
    description:
      'Hours whose measured value was changed after it first arrived, counted at the time of the latest change. Revisions re-score the forecasts of those hours; a burst usually means the source re-published a settlement.',
    at,
    queries: [
      sqlQuery(`
        select $__timeGroupAlias(a.last_received_at, $__interval), s.name as metric, count(*)::int as revised
        from actuals a
        join series s on s.id = a.series_id
        where a.revision_count > 0 and a.series_id in ($series) and $__timeFilter(a.last_received_at)
        group by 1, 2
        order by 1`).timeSeries(),
    ],
  })
    .interval('1h')
    .drawStyle(common.GraphDrawStyle.Bars)
    .fillOpacity(70);
}

function fallbackRate(at: Placement) {
  return defaultTimeseries({
    title: 'Fallback rate',
    description:
      'Share of 1-hour-ahead forecasts per day that were made by a baseline instead of the model (gaps, stale or implausible input, model errors). A few percent is normal around outages; a plateau needs attention. Hours never forecast (missed runs) are not counted here: the Forecast dashboard shows them as gaps.',
    at,
    unit: 'percent',
    queries: [
      sqlQuery(`
        select $__timeGroupAlias(p.target_hour, $__interval), s.name || ' · ' || p.model_version as metric,
               pulse_share(count(*) filter (where p.quality = 'fallback'), count(*)) as "fallback"
        from series s
        -- series by series through the forecasts' key (offset 0 keeps it so: with "All" series the range
        -- is a fifth of a month's partition, and a plan on stale statistics would read all of it)
        cross join lateral (
          select p.target_hour, p.model_version, p.quality
          from predictions p
          where p.series_id = s.id and p.model_version in ($model) and p.horizon = 1 and p.quality <> 'missed'
            and $__timeFilter(p.target_hour) and ${originsInRange('p', 1)}
          offset 0
        ) p
        where s.id in ($series)
        group by 1, 2
        order by 1`).timeSeries(),
    ],
  })
    .interval('1d')
    .min(0);
}

function runDurations(at: Placement) {
  return defaultTimeseries({
    title: 'Run duration',
    description:
      'Longest finished run of each function per interval. A forecast run that creeps towards its Lambda timeout shows here first.',
    at,
    unit: 's',
    queries: [
      sqlQuery(`
        select $__timeGroupAlias(started_at, $__interval), function_name as metric,
               max(duration_ms) / 1000.0 as "duration"
        from runs
        where finished_at is not null and $__timeFilter(started_at)
        group by 1, 2
        order by 1`).timeSeries(),
    ],
  })
    .interval('1h')
    .showPoints(common.VisibilityMode.Always);
}

function failedRuns(at: Placement) {
  return defaultTable({
    title: 'Failed and partial runs',
    description:
      'Every run in the time range that did not fully succeed, newest first, with the error it recorded. Partial runs wrote what they could; failed runs wrote nothing and were retried by the schedule.',
    at,
    queries: [
      sqlQuery(`
        select started_at as "started", function_name as "function", trigger, outcome,
               failed_count as "failed series", error
        from runs
        where outcome in ('failed', 'partial') and $__timeFilter(started_at)
        order by started_at desc
        limit 500`),
    ],
  });
}

function champions(at: Placement) {
  return defaultTable({
    title: 'Models: champion of each series',
    description:
      'The model each series is served (its champion in the model registry), since when, the data it was trained to, its 1-hour-ahead MAE on the back-test that promoted it, and the newest retraining decision with its reason. "(default model)" means the series has no model of its own and is served the shipped default. Promotions are the dashed markers on the time series.',
    at,
    queries: [
      sqlQuery(`
        select s.name as series,
               coalesce(m.version, s.model_version, '(default model)') as champion,
               a.assigned_at as "since",
               m.training_to as "trained to",
               (m.backtest ->> 'maeH1')::float8 as "back-test 1 h MAE",
               d.decided_at as "last decision",
               case when d.promoted then 'promoted' when d.id is not null then 'kept champion' end as outcome,
               d.reason
        from series s
        left join model_versions m on m.series_id = s.id and m.status = 'champion'
        left join lateral (
          select assigned_at from model_assignments
          where model_assignments.series_id = s.id
          order by assigned_at desc limit 1
        ) a on true
        left join lateral (
          select id, decided_at, promoted, reason from retraining_decisions
          where retraining_decisions.series_id = s.id
          order by decided_at desc limit 1
        ) d on true
        where s.id in ($series)
        order by 1`),
    ],
  }).overrideByName('back-test 1 h MAE', [{ id: 'decimals', value: 1 }]);
}

function weather(at: Placement) {
  return defaultTable({
    title: 'Weather forecasts',
    description:
      'Per series, how many weather locations it follows, when the newest weather forecast of its stalest location was fetched and how old it is, and how many hourly forecasts in the time range were made by the calendar-only model because the weather was missing or older than WEATHER_MAX_AGE_HOURS (12 h), with the newest reason. A weather outage never stops forecasts: they continue without weather and are counted here. The weather fetch itself is the "weather" row of "Last run of each function".',
    at,
    queries: [
      sqlQuery(`
        select s.name as series,
               w.locations as "weather locations",
               w.newest as "newest weather forecast",
               (extract(epoch from now() - w.newest) / 3600)::float8 as "age (h)",
               coalesce(d.degraded, 0) as "forecasts without weather",
               d.last_reason as "last reason"
        from series s
        cross join lateral (
          select count(*)::int as locations, min(v.issued_at) as newest
          from series_weather_locations sw
          left join lateral (
            select max(wv.issued_at) as issued_at from weather_vintages wv
            where wv.location = sw.location and wv.issued_at <= $__timeTo()
          ) v on true
          where sw.series_id = s.id
        ) w
        left join lateral (
          select count(*)::int as degraded, (array_agg(p.reason order by p.issued_at desc))[1] as last_reason
          from predictions p
          where p.series_id = s.id and p.horizon = 1 and p.reason like 'weather-%'
            and $__timeFilter(p.target_hour) and ${originsInRange('p', 1)}
        ) d on true
        where s.id in ($series)
        order by 5 desc, 1`),
    ],
  }).overrideByName('age (h)', [{ id: 'decimals', value: 1 }]);
}

/** Each promotion of a model to champion, as a marker on every time series of the dashboard. */
export function promotionAnnotation(): dashboard.AnnotationQueryBuilder {
  return new dashboard.AnnotationQueryBuilder()
    .name('Model promotions')
    .datasource(pulseDatasource)
    .enable(true)
    .iconColor('rgba(31, 120, 193, 0.9)')
    .target(
      sqlQuery(`
        select a.assigned_at as time,
               s.name || ': ' || a.model_version || ' replaces ' || coalesce(a.previous_version, 'the default model')
                 || ' (' || a.reason || ')' as text,
               'promotion' as tags
        from model_assignments a
        join series s on s.id = a.series_id
        where a.series_id in ($series) and $__timeFilter(a.assigned_at)
        order by 1`),
    );
}

export function operationsDashboard(): dashboard.DashboardBuilder {
  return new dashboard.DashboardBuilder('Pulse · Operations')
    .uid('pulse-operations')
    .description(
      'Is Pulse healthy: runs, freshness and completeness of the actuals, revisions and fallbacks, and which model each series is served.',
    )
    .tags(['pulse', 'operations'])
    .timezone('browser')
    .time({ from: 'now-7d', to: 'now' })
    .refresh('5m')
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .readonly()
    .withVariable(seriesVariable({ multi: true }))
    .withVariable(modelVariable({ multi: true }))
    .annotation(promotionAnnotation())
    .withPanel(lastRuns({ x: 0, y: 0, w: 24, h: 7 }))
    .withPanel(actualsAge({ x: 0, y: 7, w: 12, h: 8 }))
    .withPanel(missingHours({ x: 12, y: 7, w: 12, h: 8 }))
    .withPanel(revisions({ x: 0, y: 15, w: 12, h: 8 }))
    .withPanel(fallbackRate({ x: 12, y: 15, w: 12, h: 8 }))
    .withPanel(runDurations({ x: 0, y: 23, w: 24, h: 7 }))
    .withPanel(failedRuns({ x: 0, y: 31, w: 24, h: 8 }))
    .withPanel(champions({ x: 0, y: 39, w: 24, h: 8 }))
    .withPanel(weather({ x: 0, y: 47, w: 24, h: 8 }));
}
