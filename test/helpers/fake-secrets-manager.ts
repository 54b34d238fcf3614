import { startFakeHttpServer, type FakeHttpServer } from './fake-http-server.ts';

/**
 * Secrets Manager's GetSecretValue on 127.0.0.1, for code that runs in another process (a bundle in
 * the Lambda-layout test) where aws-sdk-client-mock cannot reach: point the SDK at it with
 * AWS_ENDPOINT_URL_SECRETS_MANAGER. `secrets` maps SecretId to the secret's JSON; change it at will.
 */
export async function startFakeSecretsManager(): Promise<FakeHttpServer & { secrets: Map<string, object> }> {
  const server = await startFakeHttpServer();
  const secrets = new Map<string, object>();
  server.route('POST', '/', (request) => {
    const target = String(request.headers['x-amz-target'] ?? '');
    const { SecretId } = JSON.parse(request.body || '{}') as { SecretId?: string };
    const json = { 'content-type': 'application/x-amz-json-1.1' };
    if (target !== 'secretsmanager.GetSecretValue')
      return {
        status: 400,
        headers: json,
        body: JSON.stringify({ __type: 'InvalidRequestException', message: target }),
      };
    const value = SecretId ? secrets.get(SecretId) : undefined;
    if (!value)
      return {
        status: 400,
        headers: json,
        body: JSON.stringify({ __type: 'ResourceNotFoundException', message: `no secret ${SecretId}` }),
      };
    return {
      status: 200,
      headers: json,
      body: JSON.stringify({
        ARN: SecretId,
        Name: SecretId,
        VersionId: 'v1',
        SecretString: JSON.stringify(value),
      }),
    };
  });
  return Object.assign(server, { secrets });
}
