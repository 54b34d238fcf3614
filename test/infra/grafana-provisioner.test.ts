/* eslint-disable @typescript-eslint/no-explicit-any -- CloudFormation JSON is untyped; the assertions are the types. */
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  CreateWorkspaceServiceAccountCommand,
  CreateWorkspaceServiceAccountTokenCommand,
  DeleteWorkspaceServiceAccountTokenCommand,
  GrafanaClient,
  ListWorkspaceServiceAccountsCommand,
} from '@aws-sdk/client-grafana';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { onEvent, type ProvisioningEvent } from '../../src/adapters/grafana/handler.ts';
import { caCertificatesFor, DATA_SOURCE_TYPE } from '../../src/adapters/grafana/provision.ts';
import type { RetryPolicy } from '../../src/adapters/grafana/retry.ts';

/** A Grafana that keeps folders, data sources and dashboards in memory and accepts one bearer token. */
class FakeGrafana {
  folders = new Map<string, { uid: string; title: string }>();
  dataSources = new Map<string, Record<string, any>>();
  dashboards = new Map<string, { dashboard: Record<string, any>; folderUid: string; version: number }>();
  requests: string[] = [];
  validToken = 'glsa_current';
  failDashboards = false;
  /** The next this-many requests get 503, as a workspace's load balancer answers while it starts. */
  unavailable = 0;
  private server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const send = (status: number, json: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(json));
      };
      this.requests.push(`${req.method} ${req.url}`);
      if (this.unavailable > 0) {
        this.unavailable--;
        return send(503, { message: 'Service Unavailable' });
      }
      if (req.headers.authorization !== `Bearer ${this.validToken}`)
        return send(401, { message: 'invalid API key' });
      const input = body ? JSON.parse(body) : undefined;
      const url = req.url ?? '';
      let m: RegExpExecArray | null;
      if ((m = /^\/api\/folders\/([^/]+)$/.exec(url))) {
        const uid = decodeURIComponent(m[1]!);
        const folder = this.folders.get(uid);
        if (req.method === 'GET')
          return folder ? send(200, folder) : send(404, { message: 'folder not found' });
        if (req.method === 'PUT' && folder) return send(200, Object.assign(folder, { title: input.title }));
      }
      if (url === '/api/folders' && req.method === 'POST') {
        if (this.folders.has(input.uid))
          return send(409, { message: 'a folder with the same uid already exists' });
        this.folders.set(input.uid, { uid: input.uid, title: input.title });
        return send(200, this.folders.get(input.uid));
      }
      if ((m = /^\/api\/datasources\/uid\/([^/]+)$/.exec(url))) {
        const uid = decodeURIComponent(m[1]!);
        const ds = this.dataSources.get(uid);
        if (req.method === 'GET')
          return ds
            ? send(200, { ...ds, secureJsonData: undefined })
            : send(404, { message: 'Data source not found' });
        if (req.method === 'PUT' && ds) {
          this.dataSources.set(uid, input);
          return send(200, { message: 'Datasource updated' });
        }
      }
      if (url === '/api/datasources' && req.method === 'POST') {
        if (this.dataSources.has(input.uid))
          return send(409, { message: 'data source with the same uid already exists' });
        this.dataSources.set(input.uid, input);
        return send(200, { message: 'Datasource added' });
      }
      if (url === '/api/dashboards/db' && req.method === 'POST') {
        if (this.failDashboards) return send(500, { message: 'database is locked' });
        const uid = input.dashboard.uid as string;
        const existing = this.dashboards.get(uid);
        if (existing && !input.overwrite) return send(412, { message: 'version-mismatch' });
        if (!this.folders.has(input.folderUid)) return send(400, { message: 'folder not found' });
        this.dashboards.set(uid, {
          dashboard: input.dashboard,
          folderUid: input.folderUid,
          version: (existing?.version ?? 0) + 1,
        });
        return send(200, { status: 'success', uid });
      }
      send(404, { message: `no route for ${req.method} ${url}` });
    });
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const grafanaApi = mockClient(GrafanaClient);
const secretsApi = mockClient(SecretsManagerClient);
const fake = new FakeGrafana();
let baseUrl: string;

const dashboardsDir = mkdtempSync(path.join(tmpdir(), 'pulse-dashboards-'));
writeFileSync(
  path.join(dashboardsDir, 'forecast.json'),
  JSON.stringify({ uid: 'pulse-forecast', title: 'Pulse forecast', id: 12, panels: [] }),
);
writeFileSync(
  path.join(dashboardsDir, 'operations.json'),
  JSON.stringify({ dashboard: { uid: 'pulse-operations', title: 'Pulse operations', panels: [] } }),
);
writeFileSync(path.join(dashboardsDir, 'README.md'), 'not a dashboard');

const event = (requestType: ProvisioningEvent['RequestType']): ProvisioningEvent => ({
  RequestType: requestType,
  PhysicalResourceId: requestType === 'Create' ? undefined : 'pulse-grafana-g-abc123',
  ResourceProperties: {
    ServiceToken: 'arn:aws:lambda:eu-west-1:111111111111:function:provider',
    WorkspaceId: 'g-abc123',
    WorkspaceEndpoint: 'g-abc123.grafana-workspace.eu-west-1.amazonaws.com',
    ReaderSecretArn: 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:reader-AbCdEf',
    DatabaseHost: 'pulse.abc.eu-west-1.rds.amazonaws.com',
    DatabasePort: '5432',
    DatabaseName: 'pulse',
    DataSourceUid: 'pulse-postgres',
    FolderUid: 'pulse',
  },
});

const caBundle = readFileSync(
  path.join(import.meta.dirname, '..', '..', 'certs', 'rds-global-bundle.pem'),
  'utf8',
);

/** A clock that sleeping advances, so backoff is exercised without waiting. */
function fakeTime(budgetMs: number): RetryPolicy & { waits: number[] } {
  let now = 1_000_000;
  const waits: number[] = [];
  return {
    deadline: now + budgetMs,
    now: () => now,
    sleep: async (ms) => {
      waits.push(ms);
      now += ms;
    },
    random: () => 1,
    waits,
  };
}

const deps = (retry?: RetryPolicy) => ({
  grafana: new GrafanaClient({ region: 'eu-west-1' }),
  secrets: new SecretsManagerClient({ region: 'eu-west-1' }),
  dashboardsDir,
  baseUrl,
  caBundle,
  retry,
});

function reader(username: string, password: string) {
  secretsApi
    .on(GetSecretValueCommand)
    .resolves({ SecretString: JSON.stringify({ username, password, engine: 'postgres' }) });
}

beforeAll(async () => {
  baseUrl = await fake.start();
});
afterAll(() => fake.stop());

beforeEach(() => {
  grafanaApi.reset();
  secretsApi.reset();
  fake.folders.clear();
  fake.dataSources.clear();
  fake.dashboards.clear();
  fake.failDashboards = false;
  fake.unavailable = 0;
  let tokens = 0;
  grafanaApi
    .on(ListWorkspaceServiceAccountsCommand)
    .resolves({ serviceAccounts: [], workspaceId: 'g-abc123' });
  grafanaApi
    .on(CreateWorkspaceServiceAccountCommand)
    .resolves({ id: 'sa-1', name: 'pulse-provisioner', grafanaRole: 'ADMIN', workspaceId: 'g-abc123' });
  grafanaApi.on(CreateWorkspaceServiceAccountTokenCommand).callsFake(() => {
    tokens += 1;
    fake.validToken = `glsa_token_${tokens}`;
    return {
      serviceAccountId: 'sa-1',
      workspaceId: 'g-abc123',
      serviceAccountToken: { id: `tok-${tokens}`, name: 'x', key: fake.validToken },
    };
  });
  grafanaApi.on(DeleteWorkspaceServiceAccountTokenCommand).callsFake(() => {
    fake.validToken = 'revoked';
    return {};
  });
  reader('pulse_reader_user', 'first-password');
});

describe('grafana provisioner', () => {
  it('creates the folder, the read-only data source and every dashboard on Create', async () => {
    const response = await onEvent(event('Create'), deps());

    expect(response).toEqual({
      PhysicalResourceId: 'pulse-grafana-g-abc123',
      Data: { Dashboards: 'pulse-forecast,pulse-operations' },
    });
    expect(fake.folders.get('pulse')).toEqual({ uid: 'pulse', title: 'Pulse' });
    expect(fake.dataSources.get('pulse-postgres')).toMatchObject({
      type: DATA_SOURCE_TYPE,
      access: 'proxy',
      url: 'pulse.abc.eu-west-1.rds.amazonaws.com:5432',
      user: 'pulse_reader_user',
      jsonData: { database: 'pulse', sslmode: 'verify-full', tlsConfigurationMethod: 'file-content' },
      secureJsonData: { password: 'first-password' },
    });
    // The data source trusts the database's region's RDS authorities only.
    const cas = fake.dataSources.get('pulse-postgres')!.secureJsonData.tlsCACert as string;
    const subjects = cas
      .match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)!
      .map((pem) => new X509Certificate(pem).subject);
    expect(subjects.length).toBeGreaterThanOrEqual(3);
    for (const subject of subjects) expect(subject).toContain('Amazon RDS eu-west-1 Root CA');
    expect([...fake.dashboards.keys()].sort()).toEqual(['pulse-forecast', 'pulse-operations']);
    // The instance-local numeric id is dropped so the dashboard can land in any workspace.
    expect(fake.dashboards.get('pulse-forecast')!.dashboard.id).toBeNull();
    expect(fake.dashboards.get('pulse-operations')!.folderUid).toBe('pulse');
  });

  it('changes nothing but versions when run again, and uses the existing service account', async () => {
    await onEvent(event('Create'), deps());
    grafanaApi.on(ListWorkspaceServiceAccountsCommand).resolves({
      serviceAccounts: [{ id: 'sa-1', name: 'pulse-provisioner', grafanaRole: 'ADMIN', isDisabled: 'false' }],
      workspaceId: 'g-abc123',
    });
    const before = {
      folders: fake.folders.size,
      dataSources: fake.dataSources.size,
      dashboards: fake.dashboards.size,
    };
    grafanaApi.resetHistory();

    await onEvent(event('Update'), deps());

    expect({
      folders: fake.folders.size,
      dataSources: fake.dataSources.size,
      dashboards: fake.dashboards.size,
    }).toEqual(before);
    expect(grafanaApi.commandCalls(CreateWorkspaceServiceAccountCommand)).toHaveLength(0);
    expect(fake.dashboards.get('pulse-forecast')!.version).toBe(2);
  });

  it('puts the rotated reader credentials into the existing data source', async () => {
    await onEvent(event('Create'), deps());
    reader('pulse_reader_user_clone', 'second-password');

    await onEvent(event('Update'), deps());

    expect(fake.dataSources.get('pulse-postgres')).toMatchObject({
      user: 'pulse_reader_user_clone',
      secureJsonData: { password: 'second-password' },
    });
    expect(fake.requests).toContain('PUT /api/datasources/uid/pulse-postgres');
  });

  it('asks for a short-lived token and deletes it afterwards', async () => {
    await onEvent(event('Create'), deps());

    const [create] = grafanaApi.commandCalls(CreateWorkspaceServiceAccountTokenCommand);
    expect(create!.args[0].input).toMatchObject({
      workspaceId: 'g-abc123',
      serviceAccountId: 'sa-1',
      secondsToLive: 600,
    });
    const deletes = grafanaApi.commandCalls(DeleteWorkspaceServiceAccountTokenCommand);
    expect(deletes.map((c) => c.args[0].input)).toEqual([
      { workspaceId: 'g-abc123', serviceAccountId: 'sa-1', tokenId: 'tok-1' },
    ]);
  });

  it('deletes the token and fails the deployment when Grafana rejects a dashboard', async () => {
    fake.failDashboards = true;

    await expect(onEvent(event('Create'), deps())).rejects.toThrow(
      /POST \/api\/dashboards\/db failed with HTTP 500: database is locked/,
    );
    expect(grafanaApi.commandCalls(DeleteWorkspaceServiceAccountTokenCommand)).toHaveLength(1);
  });

  it('retries while a new workspace answers 503, with growing waits', async () => {
    fake.unavailable = 3;
    const time = fakeTime(120_000);
    const first = fake.requests.length;

    const response = await onEvent(event('Create'), deps(time));

    expect(response.Data).toEqual({ Dashboards: 'pulse-forecast,pulse-operations' });
    expect(time.waits).toEqual([1000, 2000, 4000]);
    expect(fake.requests.slice(first, first + 5)).toEqual([
      ...Array(4).fill('GET /api/folders/pulse'),
      'POST /api/folders',
    ]);
  });

  it('retries a host that does not resolve yet, then gives up inside its time limit', async () => {
    const time = fakeTime(60_000);
    const unresolvable = { ...deps(time), baseUrl: 'http://g-abc123.grafana-workspace.invalid' };

    await expect(onEvent(event('Create'), unresolvable)).rejects.toThrow(
      /GET \/api\/folders\/pulse still failing after \d+ attempts, out of time: .*(ENOTFOUND|EAI_AGAIN)/,
    );
    // 1 + 2 + 4 + 8 + 16 + 20 s of waits fit in the minute; the token is deleted all the same.
    expect(time.waits).toEqual([1000, 2000, 4000, 8000, 16000, 20000]);
    expect(grafanaApi.commandCalls(DeleteWorkspaceServiceAccountTokenCommand)).toHaveLength(1);
  });

  it('keeps every RDS authority when the host names no region', () => {
    const all = caCertificatesFor('db.example.internal', caBundle);
    expect(all.match(/BEGIN CERTIFICATE/g)!.length).toBe(caBundle.match(/BEGIN CERTIFICATE/g)!.length);
  });

  it('does nothing on Delete: the workspace goes with the stack', async () => {
    const requestsBefore = fake.requests.length;

    const response = await onEvent(event('Delete'), deps());

    expect(response).toEqual({ PhysicalResourceId: 'pulse-grafana-g-abc123' });
    expect(fake.requests.length).toBe(requestsBefore);
    expect(grafanaApi.calls()).toHaveLength(0);
  });

  it('names a missing property instead of calling anything', async () => {
    const bad = event('Create');
    const { DatabaseHost: _, ...rest } = bad.ResourceProperties;
    await expect(
      onEvent({ ...bad, ResourceProperties: rest as typeof bad.ResourceProperties }, deps()),
    ).rejects.toThrow('custom resource property missing: DatabaseHost');
    expect(grafanaApi.calls()).toHaveLength(0);
  });
});
