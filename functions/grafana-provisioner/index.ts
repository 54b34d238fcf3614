import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { GrafanaClient } from '@aws-sdk/client-grafana';
import { createProvisioningHandler } from '../../src/adapters/grafana/handler.ts';
import { lambdaHandler } from '../../src/adapters/lambda/handler.ts';

/** The Grafana provisioner custom resource; the bundle carries the dashboards and the RDS CA bundle. */
export const handler = lambdaHandler('grafana-provisioner', (runtime) =>
  createProvisioningHandler(
    {
      grafana: new GrafanaClient({}),
      secrets: runtime.secrets(),
      dashboardsDir: fileURLToPath(new URL('./dashboards/', import.meta.url)),
      caBundle: readFileSync(fileURLToPath(new URL('./rds-global-bundle.pem', import.meta.url)), 'utf8'),
    },
    runtime.logger,
  ),
);
