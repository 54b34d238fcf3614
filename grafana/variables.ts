import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { pulseDatasource } from './datasource.ts';
import { dedent } from './sql-query.ts';

export interface VariableProps {
  /** Several values at once (plus "All"); Grafana then quotes each value, so queries use `in ($var)`. */
  readonly multi: boolean;
}

/**
 * The series picker: the name is shown, the id is the value, so panels filter on the leading column of the
 * primary keys (`series_id in ($series)`) and never join `series` just to filter.
 */
export function seriesVariable(props: VariableProps): dashboard.QueryVariableBuilder {
  return new dashboard.QueryVariableBuilder('series')
    .label('Series')
    .datasource(pulseDatasource)
    .query(
      dedent(`
        select name as __text, id::text as __value
        from series
        where active
        order by name`),
    )
    .refresh(dashboard.VariableRefresh.OnDashboardLoad)
    .sort(dashboard.VariableSort.Disabled)
    .multi(props.multi)
    .includeAll(props.multi);
}

/**
 * The model picker: registered versions and every version that has forecasts for the chosen series. The
 * distinct versions come from a loose index scan over the forecasts key (series_id, model_version, last_input_hour),
 * one index probe per version, instead of reading every forecast row.
 */
export function modelVariable(props: VariableProps): dashboard.QueryVariableBuilder {
  return new dashboard.QueryVariableBuilder('model')
    .label('Model')
    .datasource(pulseDatasource)
    .query(
      dedent(`
        with recursive used (series_id, model_version) as (
          select s.id, (select f.model_version from forecasts f
                        where f.series_id = s.id order by f.model_version limit 1)
          from series s
          where s.id in ($series)
          union all
          select u.series_id, (select f.model_version from forecasts f
                               where f.series_id = u.series_id and f.model_version > u.model_version
                               order by f.model_version limit 1)
          from used u
          where u.model_version is not null
        ),
        versions as (
          select model_version as version, true as has_forecasts from used where model_version is not null
          union
          select version, false from model_versions
        )
        select version as __text, version as __value
        from versions
        group by version
        order by bool_or(has_forecasts) desc, version`),
    )
    .refresh(dashboard.VariableRefresh.OnDashboardLoad)
    .sort(dashboard.VariableSort.Disabled)
    .multi(props.multi)
    .includeAll(props.multi);
}
