import { App, Validations, type AppProps } from 'aws-cdk-lib';
import { InstanceType } from 'aws-cdk-lib/aws-ec2';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { GrafanaAuthentication } from './grafana.ts';
import type { Egress } from './network.ts';
import { PulseStack } from './pulse-stack.ts';

/** The stack's name unless context `pulse:stackName` says otherwise. */
export const DEFAULT_STACK_NAME = 'Pulse';

function contextString(app: App, key: string): string | undefined {
  const value: unknown = app.node.tryGetContext(key);
  return value === undefined || value === null || value === '' ? undefined : String(value);
}

function contextNumber(app: App, key: string): number | undefined {
  const value = contextString(app, key);
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new Error(`context ${key} must be a number, got ${value}`);
  return n;
}

function grafanaAuthentication(app: App): GrafanaAuthentication | undefined {
  const provider = contextString(app, 'pulse:grafanaAuth');
  if (provider === undefined || provider === 'AWS_SSO') return provider ? { provider } : undefined;
  if (provider !== 'SAML')
    throw new Error(`context pulse:grafanaAuth must be AWS_SSO or SAML, got ${provider}`);
  const idpMetadataUrl = contextString(app, 'pulse:samlMetadataUrl');
  const admins = contextString(app, 'pulse:samlAdminRoleValues');
  if (!idpMetadataUrl || !admins)
    throw new Error('SAML needs context pulse:samlMetadataUrl and pulse:samlAdminRoleValues');
  return { provider, idpMetadataUrl, adminRoleValues: admins.split(',').map((v) => v.trim()) };
}

/**
 * The CDK app: one Pulse stack configured from context (`-c pulse:production=true` and friends, see
 * docs/deploy.md), checked by cdk-nag's AwsSolutions pack on every synth.
 */
export function createPulseApp(props: AppProps = {}): { app: App; stack: PulseStack } {
  const app = new App(props);
  const egress = contextString(app, 'pulse:egress');
  if (egress !== undefined && egress !== 'nat' && egress !== 'endpoints')
    throw new Error(`context pulse:egress must be nat or endpoints, got ${egress}`);
  for (const gone of ['pulse:ingestSource', 'pulse:ingestHttpUrl']) {
    if (contextString(app, gone) !== undefined)
      throw new Error(
        `context ${gone} is gone: each series' source is set in the series configuration (pulse.config.json, docs/deploy.md)`,
      );
  }
  const instanceType = contextString(app, 'pulse:dbInstanceType');
  const weatherSource = contextString(app, 'pulse:weatherSource');
  if (weatherSource !== undefined && weatherSource !== 'open-meteo' && weatherSource !== 'none')
    throw new Error(`context pulse:weatherSource must be open-meteo or none, got ${weatherSource}`);
  const weatherSecretArn = contextString(app, 'pulse:weatherSecretArn');
  const retrainSchedule = contextString(app, 'pulse:retrainSchedule');
  const stack = new PulseStack(app, contextString(app, 'pulse:stackName') ?? DEFAULT_STACK_NAME, {
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
    description: 'Pulse: hourly energy-load forecasting (RDS PostgreSQL, Lambda, Amazon Managed Grafana)',
    production: contextString(app, 'pulse:production') === 'true',
    egress: egress as Egress | undefined,
    databaseInstanceType: instanceType ? new InstanceType(instanceType) : undefined,
    alarmEmail: contextString(app, 'pulse:alarmEmail'),
    staleAfterHours: contextNumber(app, 'pulse:staleAfterHours'),
    mapeThresholdPercent: contextNumber(app, 'pulse:mapeThresholdPercent'),
    fallbackRateThresholdPercent: contextNumber(app, 'pulse:fallbackRateThresholdPercent'),
    grafanaAuthentication: grafanaAuthentication(app),
    reservedConcurrentExecutions: contextNumber(app, 'pulse:reservedConcurrency'),
    forecastMemoryMb: contextNumber(app, 'pulse:forecastMemoryMb'),
    seriesConfigFile: contextString(app, 'pulse:seriesConfig'),
    weather: {
      source: weatherSource as 'open-meteo' | 'none' | undefined,
      url: contextString(app, 'pulse:weatherUrl'),
      model: contextString(app, 'pulse:weatherModel'),
      maxAgeHours: contextNumber(app, 'pulse:weatherMaxAgeHours'),
      apiKeySecretArn: weatherSecretArn,
    },
    retraining: {
      schedule: retrainSchedule === 'off' ? null : retrainSchedule,
      maxConcurrency: contextNumber(app, 'pulse:retrainConcurrency'),
      instanceType: contextString(app, 'pulse:trainingInstanceType'),
      recipe: contextString(app, 'pulse:retrainRecipe'),
    },
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}
