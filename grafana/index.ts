import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { forecastDashboard } from './forecast-dashboard.ts';
import { operationsDashboard } from './operations-dashboard.ts';

/** Every dashboard Pulse ships, by the file name it is generated into (grafana/dashboards/<name>.json). */
export function pulseDashboards(): Record<string, dashboard.Dashboard> {
  return {
    forecast: forecastDashboard().build(),
    operations: operationsDashboard().build(),
  };
}

/** Stable text: two-space JSON with a trailing newline, so a re-run is byte-identical and diffs read well. */
export function renderDashboard(model: dashboard.Dashboard): string {
  return JSON.stringify(model, null, 2) + '\n';
}
