import {
  ConflictException,
  CreateWorkspaceServiceAccountCommand,
  CreateWorkspaceServiceAccountTokenCommand,
  DeleteWorkspaceServiceAccountTokenCommand,
  ListWorkspaceServiceAccountsCommand,
  type GrafanaClient,
} from '@aws-sdk/client-grafana';

/** The service account the provisioner acts as; created once per workspace, then reused. */
export const SERVICE_ACCOUNT_NAME = 'pulse-provisioner';
/** Long enough for one provisioning run, short enough to be worthless once it ends. */
export const TOKEN_SECONDS_TO_LIVE = 600;

async function findServiceAccount(client: GrafanaClient, workspaceId: string): Promise<string | undefined> {
  let nextToken: string | undefined;
  do {
    const page = await client.send(new ListWorkspaceServiceAccountsCommand({ workspaceId, nextToken }));
    const match = page.serviceAccounts?.find((account) => account.name === SERVICE_ACCOUNT_NAME);
    if (match?.id) return match.id;
    nextToken = page.nextToken;
  } while (nextToken);
  return undefined;
}

async function ensureServiceAccount(client: GrafanaClient, workspaceId: string): Promise<string> {
  const existing = await findServiceAccount(client, workspaceId);
  if (existing) return existing;
  try {
    const created = await client.send(
      new CreateWorkspaceServiceAccountCommand({
        workspaceId,
        name: SERVICE_ACCOUNT_NAME,
        grafanaRole: 'ADMIN',
      }),
    );
    if (!created.id) throw new Error('CreateWorkspaceServiceAccount returned no id');
    return created.id;
  } catch (error) {
    // Another run created it between our list and create.
    if (error instanceof ConflictException) {
      const raced = await findServiceAccount(client, workspaceId);
      if (raced) return raced;
    }
    throw error;
  }
}

/**
 * Runs `work` with a fresh short-lived token of the provisioner's service account, and deletes the
 * token afterwards whether `work` succeeded or not; a token is never stored anywhere.
 */
export async function withServiceAccountToken<T>(
  client: GrafanaClient,
  workspaceId: string,
  work: (token: string) => Promise<T>,
): Promise<T> {
  const serviceAccountId = await ensureServiceAccount(client, workspaceId);
  const { serviceAccountToken } = await client.send(
    new CreateWorkspaceServiceAccountTokenCommand({
      workspaceId,
      serviceAccountId,
      name: `pulse-provisioner-${Date.now()}`,
      secondsToLive: TOKEN_SECONDS_TO_LIVE,
    }),
  );
  if (!serviceAccountToken?.key || !serviceAccountToken.id)
    throw new Error('CreateWorkspaceServiceAccountToken returned no key');
  try {
    return await work(serviceAccountToken.key);
  } finally {
    await client.send(
      new DeleteWorkspaceServiceAccountTokenCommand({
        workspaceId,
        serviceAccountId,
        tokenId: serviceAccountToken.id,
      }),
    );
  }
}
