/* eslint-disable @typescript-eslint/no-explicit-any -- CloudFormation JSON is untyped; the assertions are the types. */
import { Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { synthPulse } from './synth.ts';

// Template assertions only: bundling is skipped (the bundles are the same as in stack.test.ts).
const noBundling = { 'aws:cdk:bundling-stacks': [] };

type Resources = Record<string, { Type: string; Properties: Record<string, any> }>;

function functionNamed(resources: Resources, description: RegExp): Record<string, any> {
  const found = Object.values(resources).filter(
    (r) => r.Type === 'AWS::Lambda::Function' && description.test(String(r.Properties.Description ?? '')),
  );
  expect(found).toHaveLength(1);
  return found[0]!.Properties;
}

function secretReadsOf(resources: Resources, fn: Record<string, any>): string[] {
  const roleId = (fn.Role['Fn::GetAtt'] as string[])[0];
  return Object.values(resources)
    .filter(
      (r) =>
        r.Type === 'AWS::IAM::Policy' &&
        (r.Properties.Roles as Array<{ Ref: string }>).some((role) => role.Ref === roleId),
    )
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Array<Record<string, any>>)
    .filter((s) => [s.Action].flat().includes('secretsmanager:GetSecretValue'))
    .flatMap((s) => [s.Resource].flat())
    .map((r) => (typeof r === 'string' ? r : String(r.Ref)));
}

describe('weather settings of the ingest and forecast functions', () => {
  it('fetches no weather by default, and the forecast still knows how old a forecast may be', () => {
    const { template } = synthPulse(noBundling);
    const resources = template.toJSON().Resources as Resources;
    const ingest = functionNamed(resources, /^Pulse: pull/).Environment.Variables;
    expect(ingest.WEATHER_SOURCE).toBeUndefined();
    expect(ingest.WEATHER_SECRET_ARN).toBeUndefined();
    expect(functionNamed(resources, /^Pulse: forecast/).Environment.Variables.WEATHER_MAX_AGE_HOURS).toBe(
      '12',
    );
    template.resourcePropertiesCountIs(
      'AWS::SecretsManager::Secret',
      { Description: Match.stringLikeRegexp('weather') },
      0,
    );
  });

  it('wires Open-Meteo, its URL, model and age limit, and a placeholder key secret only the ingest function reads', () => {
    const { template, stack } = synthPulse({
      ...noBundling,
      'pulse:weatherSource': 'open-meteo',
      'pulse:weatherUrl': 'https://customer-api.open-meteo.com/v1/forecast',
      'pulse:weatherModel': 'ecmwf_ifs025',
      'pulse:weatherMaxAgeHours': '9',
    });
    const resources = template.toJSON().Resources as Resources;
    const secrets = Object.entries(
      template.findResources('AWS::SecretsManager::Secret', {
        Properties: { Description: Match.stringLikeRegexp('weather API key') },
      }),
    );
    expect(secrets).toHaveLength(1);
    const [secretId, secret] = secrets[0]!;
    // An empty key = the free tier until the operator puts the commercial key in.
    expect(JSON.parse(secret.Properties.GenerateSecretString.SecretStringTemplate)).toEqual({ apiKey: '' });

    const ingest = functionNamed(resources, /^Pulse: pull/);
    expect(ingest.Environment.Variables).toMatchObject({
      WEATHER_SOURCE: 'open-meteo',
      WEATHER_URL: 'https://customer-api.open-meteo.com/v1/forecast',
      WEATHER_MODEL: 'ecmwf_ifs025',
      WEATHER_MAX_AGE_HOURS: '9',
      WEATHER_SECRET_ARN: { Ref: secretId },
    });
    // The key itself is never in an environment, only the secret's ARN.
    expect(JSON.stringify(ingest.Environment)).not.toMatch(/apiKey/);
    expect(secretReadsOf(resources, ingest)).toEqual([
      expect.stringMatching(/^DatabaseAppSecret/),
      expect.stringMatching(/IngestCredentials/),
      secretId,
    ]);
    const forecast = functionNamed(resources, /^Pulse: forecast/);
    expect(forecast.Environment.Variables.WEATHER_MAX_AGE_HOURS).toBe('9');
    expect(forecast.Environment.Variables.WEATHER_SECRET_ARN).toBeUndefined();
    expect(secretReadsOf(resources, forecast)).not.toContain(secretId);
    template.hasOutput('WeatherSecretArn', { Value: { Ref: secretId } });
    expect(stack.functions.weatherSecret).toBeDefined();
    // cdk-nag: the key cannot be rotated by Secrets Manager (SMG4), acknowledged with its reason; nothing else.
    const report = new AwsSolutionsChecks().validateScope(stack.node.root);
    expect(report.violations.map((v) => v.ruleName)).toEqual([]);
  });

  it('uses an existing key secret by its ARN instead of creating one', () => {
    const arn = 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:pulse/open-meteo-AbCdEf';
    const { template } = synthPulse({
      ...noBundling,
      'pulse:weatherSource': 'open-meteo',
      'pulse:weatherSecretArn': arn,
    });
    const resources = template.toJSON().Resources as Resources;
    template.resourcePropertiesCountIs(
      'AWS::SecretsManager::Secret',
      { Description: Match.stringLikeRegexp('weather') },
      0,
    );
    const ingest = functionNamed(resources, /^Pulse: pull/);
    expect(ingest.Environment.Variables.WEATHER_SECRET_ARN).toBe(arn);
    expect(secretReadsOf(resources, ingest)).toContain(arn);
  });

  it('refuses an unknown weather source at synth', () => {
    expect(() => synthPulse({ ...noBundling, 'pulse:weatherSource': 'dwd' })).toThrow(
      /pulse:weatherSource must be open-meteo or none, got dwd/,
    );
  });
});
