import * as barchart from '@grafana/grafana-foundation-sdk/barchart';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { pulseDatasource } from './datasource.ts';
import type { PostgresQueryBuilder } from './sql-query.ts';

/** Where a panel sits on the 24-column grid. */
export interface Placement {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

export interface PanelProps {
  readonly title: string;
  /** What the panel shows and how to read it; Grafana shows it as the (i) tooltip. */
  readonly description: string;
  readonly at: Placement;
  readonly queries: readonly PostgresQueryBuilder[];
  readonly unit?: string;
}

const gridPos = (p: Placement): dashboard.GridPos => ({ x: p.x, y: p.y, w: p.w, h: p.h });

function withTargets<T extends { withTarget(q: PostgresQueryBuilder): unknown }>(
  panel: T,
  queries: readonly PostgresQueryBuilder[],
): T {
  queries.forEach((q, i) => panel.withTarget(q.refId(String.fromCharCode(65 + i))));
  return panel;
}

/** Lines over time, shared crosshair, legend as a table with the mean (what operators compare). */
export function defaultTimeseries(props: PanelProps): timeseries.PanelBuilder {
  return withTargets(
    new timeseries.PanelBuilder()
      .title(props.title)
      .description(props.description)
      .datasource(pulseDatasource)
      .gridPos(gridPos(props.at))
      .unit(props.unit ?? 'short')
      .lineWidth(1)
      .fillOpacity(0)
      .showPoints(common.VisibilityMode.Never)
      .spanNulls(false)
      .legend(
        new common.VizLegendOptionsBuilder()
          .showLegend(true)
          .displayMode(common.LegendDisplayMode.List)
          .placement(common.LegendPlacement.Bottom),
      )
      .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi)),
    props.queries,
  );
}

/** Big numbers from one row of a table query: every numeric column becomes a value. */
export function defaultStat(props: PanelProps & { readonly decimals?: number }): stat.PanelBuilder {
  return withTargets(
    new stat.PanelBuilder()
      .title(props.title)
      .description(props.description)
      .datasource(pulseDatasource)
      .gridPos(gridPos(props.at))
      .unit(props.unit ?? 'short')
      .decimals(props.decimals ?? 1)
      .graphMode(common.BigValueGraphMode.None)
      .colorMode(common.BigValueColorMode.None)
      .textMode(common.BigValueTextMode.ValueAndName)
      .reduceOptions(
        new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false).fields('/.*/'),
      ),
    props.queries,
  );
}

export function defaultTable(props: PanelProps): table.PanelBuilder {
  return withTargets(
    new table.PanelBuilder()
      .title(props.title)
      .description(props.description)
      .datasource(pulseDatasource)
      .gridPos(gridPos(props.at))
      .unit(props.unit ?? 'short')
      .cellHeight(common.TableCellHeight.Sm),
    props.queries,
  );
}

/** Grouped bars over a category column (horizon, hour of day). */
export function defaultBarChart(props: PanelProps & { readonly xField: string }): barchart.PanelBuilder {
  return withTargets(
    new barchart.PanelBuilder()
      .title(props.title)
      .description(props.description)
      .datasource(pulseDatasource)
      .gridPos(gridPos(props.at))
      .unit(props.unit ?? 'short')
      .xField(props.xField)
      .fillOpacity(80)
      .showValue(common.VisibilityMode.Never)
      .legend(
        new common.VizLegendOptionsBuilder()
          .showLegend(true)
          .displayMode(common.LegendDisplayMode.List)
          .placement(common.LegendPlacement.Bottom),
      ),
    props.queries,
  );
}

/** A field override that draws a series in a fixed colour. */
export function fixedColor(color: string): dashboard.DynamicConfigValue {
  return { id: 'color', value: { mode: 'fixed', fixedColor: color } };
}

export function customProperty(id: string, value: unknown): dashboard.DynamicConfigValue {
  return { id: `custom.${id}`, value };
}
