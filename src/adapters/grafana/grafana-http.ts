import {
  isTransientNetworkError,
  TRANSIENT_STATUSES,
  TransientError,
  withRetry,
  type RetryPolicy,
} from './retry.ts';

/**
 * The few calls of the Grafana HTTP API (10.x–12.x) that provisioning needs, each an upsert so a rerun
 * changes nothing that is already right. Every call is retried on transient failures (see retry.ts).
 */

export class GrafanaHttpError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'GrafanaHttpError';
  }
}

/** Grafana answers JSON, except proxies and some errors: keep the start of such a body as the message. */
function parseBody(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return { message: text.slice(0, 200) };
  }
}

function describeNetworkError(error: unknown): string {
  const e = error as Error & { cause?: { code?: string; message?: string } };
  return e.cause?.code ? `${e.cause.code} ${e.cause.message ?? ''}`.trim() : `${e.name}: ${e.message}`;
}

export interface DataSourceSpec {
  readonly uid: string;
  readonly name: string;
  readonly type: string;
  readonly url: string;
  readonly user: string;
  readonly jsonData: Record<string, unknown>;
  readonly secureJsonData: Record<string, string>;
}

export class GrafanaHttp {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
    /** @default one attempt: no retry */
    private readonly retry: RetryPolicy = { deadline: 0 },
    private readonly timeoutMs = 15_000,
  ) {}

  private request(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    return withRetry(`${method} ${path}`, () => this.attempt(method, path, body), this.retry);
  }

  private async attempt(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; json: unknown }> {
    let response: Response;
    try {
      response = await this.send(method, path, body);
    } catch (error) {
      if (isTransientNetworkError(error))
        throw new TransientError(`${method} ${path}: ${describeNetworkError(error)}`, { cause: error });
      throw error;
    }
    const text = await response.text();
    if (TRANSIENT_STATUSES.has(response.status)) {
      const message = (parseBody(text) as { message?: string } | undefined)?.message ?? '';
      throw new TransientError(`${method} ${path} answered HTTP ${response.status}: ${message}`);
    }
    return { status: response.status, json: parseBody(text) };
  }

  private send(method: string, path: string, body?: unknown): Promise<Response> {
    return fetch(new URL(path, this.baseUrl), {
      method,
      headers: {
        authorization: `Bearer ${this.token}`,
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
  }

  private async expectOk(method: string, path: string, body?: unknown): Promise<unknown> {
    const { status, json } = await this.request(method, path, body);
    if (status < 200 || status >= 300) {
      const message = (json as { message?: string } | undefined)?.message ?? '';
      throw new GrafanaHttpError(`${method} ${path} failed with HTTP ${status}: ${message}`, status);
    }
    return json;
  }

  /** Creates the folder, or renames it back when someone changed its title. */
  async upsertFolder(uid: string, title: string): Promise<'created' | 'updated'> {
    const found = await this.request('GET', `/api/folders/${encodeURIComponent(uid)}`);
    if (found.status === 404) {
      await this.expectOk('POST', '/api/folders', { uid, title });
      return 'created';
    }
    if (found.status !== 200)
      throw new GrafanaHttpError(`GET /api/folders/${uid} failed with HTTP ${found.status}`, found.status);
    await this.expectOk('PUT', `/api/folders/${encodeURIComponent(uid)}`, { title, overwrite: true });
    return 'updated';
  }

  async upsertDataSource(spec: DataSourceSpec): Promise<'created' | 'updated'> {
    const body = { ...spec, access: 'proxy', isDefault: true, editable: false };
    const path = `/api/datasources/uid/${encodeURIComponent(spec.uid)}`;
    const found = await this.request('GET', path);
    if (found.status === 404) {
      await this.expectOk('POST', '/api/datasources', body);
      return 'created';
    }
    if (found.status !== 200)
      throw new GrafanaHttpError(`GET ${path} failed with HTTP ${found.status}`, found.status);
    await this.expectOk('PUT', path, body);
    return 'updated';
  }

  /** Saves the dashboard by its uid, replacing whatever version is there. */
  async upsertDashboard(dashboard: Record<string, unknown>, folderUid: string): Promise<void> {
    if (typeof dashboard.uid !== 'string' || !dashboard.uid)
      throw new Error(`dashboard "${String(dashboard.title)}" has no uid`);
    // id is the numeric key of one Grafana instance; the uid is what identifies a dashboard across them.
    await this.expectOk('POST', '/api/dashboards/db', {
      dashboard: { ...dashboard, id: null },
      folderUid,
      overwrite: true,
      message: 'Provisioned by the Pulse stack',
    });
  }
}
