import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** One SQL text a dashboard sends: a panel target, a variable query or an annotation. */
export interface DashboardQuery {
  readonly dashboard: string;
  /** `panel: <title> <refId>`, `variable: <name>` or `annotation: <name>`. */
  readonly key: string;
  readonly rawSql: string;
  /** The panel's minimum interval (Grafana never makes $__interval smaller), in ms. */
  readonly minIntervalMs: number;
}

interface DashboardJson {
  uid: string;
  templating: { list: { name: string; query: string; multi: boolean; includeAll: boolean }[] };
  annotations: { list?: { name: string; target: { rawSql: string } }[] };
  panels: {
    title: string;
    interval?: string;
    datasource?: { uid: string };
    targets: { refId: string; rawSql: string; datasource: { uid: string } }[];
  }[];
}

export const DASHBOARD_FILES = ['forecast', 'operations'] as const;

/** The committed JSON, which is what Grafana gets: the tests read it rather than the TypeScript. */
export function readDashboard(name: string): DashboardJson {
  return JSON.parse(
    readFileSync(fileURLToPath(new URL(`../../grafana/dashboards/${name}.json`, import.meta.url)), 'utf8'),
  ) as DashboardJson;
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function dashboardQueries(name: string): DashboardQuery[] {
  const model = readDashboard(name);
  const queries: DashboardQuery[] = [];
  for (const v of model.templating.list) {
    queries.push({ dashboard: name, key: `variable: ${v.name}`, rawSql: v.query, minIntervalMs: 0 });
  }
  for (const a of model.annotations.list ?? []) {
    queries.push({
      dashboard: name,
      key: `annotation: ${a.name}`,
      rawSql: a.target.rawSql,
      minIntervalMs: 0,
    });
  }
  for (const p of model.panels) {
    const m = /^(\d+)([smhd])$/.exec(p.interval ?? '');
    const minIntervalMs = m ? Number(m[1]) * UNIT_MS[m[2]!]! : 0;
    for (const t of p.targets) {
      queries.push({ dashboard: name, key: `panel: ${p.title} ${t.refId}`, rawSql: t.rawSql, minIntervalMs });
    }
  }
  return queries;
}
