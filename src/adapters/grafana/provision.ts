import { X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { GrafanaClient } from '@aws-sdk/client-grafana';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { readCredentialsSecret } from '../secrets.ts';
import { GrafanaHttp } from './grafana-http.ts';
import type { RetryPolicy } from './retry.ts';
import { withServiceAccountToken } from './service-account-token.ts';

/** What the stack passes as the custom resource's properties (all strings, as CloudFormation sends them). */
export interface ProvisioningConfig {
  readonly WorkspaceId: string;
  /** Host name of the workspace, e.g. g-abc123.grafana-workspace.eu-west-1.amazonaws.com. */
  readonly WorkspaceEndpoint: string;
  readonly ReaderSecretArn: string;
  readonly DatabaseHost: string;
  readonly DatabasePort: string;
  readonly DatabaseName: string;
  readonly DataSourceUid: string;
  readonly FolderUid: string;
}

export const DATA_SOURCE_NAME = 'Pulse PostgreSQL';
/** The PostgreSQL plugin's id since Grafana 10.2.3 (the older `postgres` is an alias). */
export const DATA_SOURCE_TYPE = 'grafana-postgresql-datasource';
export const FOLDER_TITLE = 'Pulse';

export interface ProvisioningDeps {
  readonly grafana: GrafanaClient;
  readonly secrets: SecretsManagerClient;
  /** The dashboards' JSON files; the bundle carries them in ./dashboards. */
  readonly dashboardsDir: string;
  /** Overrides https://<WorkspaceEndpoint> (tests point it at a local server). */
  readonly baseUrl?: string;
  /** The RDS certificate authorities (PEM); the data source verifies the database against them. */
  readonly caBundle: string;
  /** Retries of transient HTTP failures. @default none */
  readonly retry?: RetryPolicy;
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * The authorities of the database's region (from its host name, `….<region>.rds.amazonaws.com`), so the
 * data source carries a few kilobytes instead of the whole bundle; every authority when the host does
 * not name a region the bundle knows.
 */
export function caCertificatesFor(databaseHost: string, bundle: string): string {
  const all = bundle.match(PEM_BLOCK) ?? [];
  if (all.length === 0) throw new Error('the RDS CA bundle holds no certificate');
  const region = /\.([a-z]{2}(?:-[a-z]+)+-\d)\.rds\.amazonaws\.com$/.exec(databaseHost)?.[1];
  const regional = region
    ? all.filter((pem) => new X509Certificate(pem).subject.includes(`Amazon RDS ${region} `))
    : [];
  return `${(regional.length ? regional : all).join('\n')}\n`;
}

export interface ProvisioningResult {
  readonly dataSource: 'created' | 'updated';
  readonly dashboards: string[];
}

export function loadDashboards(dir: string): Array<Record<string, unknown>> {
  let files: string[];
  try {
    files = readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort();
  } catch {
    return []; // no dashboards generated yet: the data source is still worth provisioning
  }
  return files.map((f) => {
    const parsed = JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as Record<string, unknown>;
    // Accept both a bare dashboard model and the API's { dashboard: {...} } envelope.
    return (parsed.dashboard as Record<string, unknown> | undefined) ?? parsed;
  });
}

/** Upserts the folder, the read-only data source and every dashboard; safe to run any number of times. */
export async function provision(
  config: ProvisioningConfig,
  deps: ProvisioningDeps,
): Promise<ProvisioningResult> {
  const dashboards = loadDashboards(deps.dashboardsDir);
  const reader = await readCredentialsSecret(deps.secrets, config.ReaderSecretArn);
  const baseUrl = deps.baseUrl ?? `https://${config.WorkspaceEndpoint}`;
  return withServiceAccountToken(deps.grafana, config.WorkspaceId, async (token) => {
    const http = new GrafanaHttp(baseUrl, token, deps.retry);
    await http.upsertFolder(config.FolderUid, FOLDER_TITLE);
    const dataSource = await http.upsertDataSource({
      uid: config.DataSourceUid,
      name: DATA_SOURCE_NAME,
      type: DATA_SOURCE_TYPE,
      url: `${config.DatabaseHost}:${config.DatabasePort}`,
      user: reader.username,
      jsonData: {
        database: config.DatabaseName,
        // The server's certificate must chain to an RDS authority and name the host (as the functions check).
        sslmode: 'verify-full',
        tlsConfigurationMethod: 'file-content',
        postgresVersion: 1500, // the newest the plugin's version picker knows; 17 speaks the same SQL
        timescaledb: false,
        maxOpenConns: 5,
        maxIdleConns: 2,
        connMaxLifetime: 14400,
      },
      secureJsonData: {
        password: reader.password,
        tlsCACert: caCertificatesFor(config.DatabaseHost, deps.caBundle),
      },
    });
    for (const dashboard of dashboards) await http.upsertDashboard(dashboard, config.FolderUid);
    return { dataSource, dashboards: dashboards.map((d) => String(d.uid)) };
  });
}
