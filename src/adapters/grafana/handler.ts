import type { Logger } from '@aws-lambda-powertools/logger';
import { ConfigurationError } from '../../core/errors.ts';
import { withFailureLogging, type Handler } from '../lambda/handler.ts';
import type { Context } from 'aws-lambda';
import { provision, type ProvisioningConfig, type ProvisioningDeps } from './provision.ts';
import type { RetryPolicy } from './retry.ts';

/** Time kept back from the function's limit so a last failure is still reported to CloudFormation. */
export const RETRY_MARGIN_MS = 20_000;

/**
 * Custom resource (CDK Provider framework onEvent) that provisions the Grafana workspace. The same
 * function runs when the read-only user's password rotates (an EventBridge rule sends the same
 * properties with RequestType "Update"), so Grafana never keeps a password that stopped working.
 */
export interface ProvisioningEvent {
  readonly RequestType: 'Create' | 'Update' | 'Delete';
  readonly PhysicalResourceId?: string;
  readonly ResourceProperties: ProvisioningConfig & {
    readonly ServiceToken?: string;
    readonly ContentHash?: string;
  };
}

export interface ProvisioningResponse {
  readonly PhysicalResourceId: string;
  readonly Data?: Record<string, string>;
}

const REQUIRED: ReadonlyArray<keyof ProvisioningConfig> = [
  'WorkspaceId',
  'WorkspaceEndpoint',
  'ReaderSecretArn',
  'DatabaseHost',
  'DatabasePort',
  'DatabaseName',
  'DataSourceUid',
  'FolderUid',
];

export async function onEvent(
  event: ProvisioningEvent,
  deps: ProvisioningDeps & { readonly logger?: Logger },
): Promise<ProvisioningResponse> {
  const props = event.ResourceProperties;
  const missing = REQUIRED.filter((key) => !props[key]);
  if (missing.length) throw new ConfigurationError(`custom resource property missing: ${missing.join(', ')}`);
  const physicalId = `pulse-grafana-${props.WorkspaceId}`;
  // The workspace is deleted with the stack; removing dashboards first would only slow that down.
  if (event.RequestType === 'Delete') return { PhysicalResourceId: event.PhysicalResourceId ?? physicalId };
  const result = await provision(props, deps);
  deps.logger?.info('grafana provisioned', { workspaceId: props.WorkspaceId, ...result });
  return { PhysicalResourceId: physicalId, Data: { Dashboards: result.dashboards.join(',') } };
}

/** Transient failures of a new workspace are retried until RETRY_MARGIN_MS before the invocation's limit. */
export function retryWithin(context: Context | undefined, logger: Logger, now = Date.now()): RetryPolicy {
  return {
    deadline: now + (context?.getRemainingTimeInMillis() ?? 60_000) - RETRY_MARGIN_MS,
    onRetry: ({ what, attempt, delayMs, error }) =>
      logger.warn('grafana not ready, retrying', { what, attempt, delayMs, error: String(error) }),
  };
}

/** The custom resource's handler: provisions on Create and Update, logs a failure and rethrows it. */
export function createProvisioningHandler(
  deps: ProvisioningDeps,
  logger: Logger,
): Handler<ProvisioningEvent, ProvisioningResponse> {
  return withFailureLogging('grafana-provisioner', logger, (event, context) =>
    onEvent(event, { ...deps, logger, retry: deps.retry ?? retryWithin(context, logger) }),
  );
}
