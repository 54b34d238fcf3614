import type * as common from '@grafana/grafana-foundation-sdk/common';

/**
 * The one data source every panel reads: the CDK provisioner upserts a PostgreSQL data source with this
 * fixed uid (read-only role), so the generated JSON needs no per-workspace templating.
 */
export const PULSE_DATASOURCE_UID = 'pulse-postgres';
/** The PostgreSQL plugin's id since Grafana 10.2.3 (`postgres` is the older alias). */
export const POSTGRES_PLUGIN_ID = 'grafana-postgresql-datasource';

export const pulseDatasource: common.DataSourceRef = { type: POSTGRES_PLUGIN_ID, uid: PULSE_DATASOURCE_UID };
