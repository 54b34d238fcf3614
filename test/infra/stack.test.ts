/* eslint-disable @typescript-eslint/no-explicit-any -- CloudFormation JSON is untyped; the assertions are the types. */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { DASHBOARDS_DIR, dashboardFiles, GRAFANA_VERSION } from '../../lib/grafana.ts';
import { SCHEDULES } from '../../lib/scheduled-functions.ts';
import { assetDir, synthPulse } from './synth.ts';

// One synthesis for the whole file: bundling five functions and two layers is the slow part.
const { template, assembly } = synthPulse();
const resources = template.toJSON().Resources as Record<
  string,
  { Type: string; Properties: Record<string, any> }
>;

function logicalIdOf(type: string, props: Record<string, unknown>): string {
  const found = Object.keys(template.findResources(type, { Properties: props }));
  expect(found, `${type} matching ${JSON.stringify(props)}`).toHaveLength(1);
  return found[0]!;
}

const functionId = (description: RegExp): string => {
  const ids = Object.entries(resources)
    .filter(
      ([, r]) =>
        r.Type === 'AWS::Lambda::Function' && description.test(String(r.Properties.Description ?? '')),
    )
    .map(([id]) => id);
  expect(ids, `one function described ${description}`).toHaveLength(1);
  return ids[0]!;
};

const forecastId = functionId(/^Pulse: forecast/);
const evaluateId = functionId(/^Pulse: score/);
const ingestId = functionId(/^Pulse: pull/);
const migrateId = functionId(/^Pulse: apply database migrations/);
const provisionerId = functionId(/^Pulse: provision the Grafana/);

describe('schedules', () => {
  it.each([
    ['forecast', forecastId, 'cron(7 * * * ? *)'],
    ['evaluate', evaluateId, 'cron(17 * * * ? *)'],
    ['ingest', ingestId, 'cron(2 * * * ? *)'],
  ])('invokes %s at its minute', (name, id, expression) => {
    expect(SCHEDULES[name as keyof typeof SCHEDULES]).toBe(expression);
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: expression,
      State: 'ENABLED',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [id, 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600 },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('FailedRuns'), 'Arn'] } },
        }),
      ],
    });
  });
});

describe('functions', () => {
  it('runs every function on Node 22 ARM64 with explicit memory and timeout', () => {
    for (const id of [forecastId, evaluateId, ingestId, migrateId, provisionerId]) {
      const fn = resources[id]!.Properties;
      expect(fn.Runtime, id).toBe('nodejs22.x');
      expect(fn.Architectures, id).toEqual(['arm64']);
      expect(fn.MemorySize, id).toBeGreaterThanOrEqual(256);
      expect(fn.Timeout, id).toBeGreaterThan(0);
      expect(fn.LoggingConfig?.LogGroup, `${id} logs to its own log group`).toBeDefined();
    }
    expect(resources[forecastId]!.Properties).toMatchObject({ MemorySize: 1024, Timeout: 600 });
  });

  it("takes the forecast function's memory from context, which bounds the per-series models it holds", () => {
    const noBundling = { 'aws:cdk:bundling-stacks': [] };
    const big = synthPulse({ ...noBundling, 'pulse:forecastMemoryMb': '2048' }).template;
    const forecast = Object.values(big.findResources('AWS::Lambda::Function')).find((r) =>
      String(r.Properties.Description).startsWith('Pulse: forecast'),
    )!;
    expect(forecast.Properties.MemorySize).toBe(2048);
    // Lambda tells the function its memory (AWS_LAMBDA_FUNCTION_MEMORY_SIZE): no variable of ours to keep in step.
    expect(forecast.Properties.Environment.Variables.PULSE_MAX_MODELS).toBeUndefined();
    expect(() => synthPulse({ ...noBundling, 'pulse:forecastMemoryMb': '512' })).toThrow(
      /pulse:forecastMemoryMb must be a whole number of MB from 1024 to 10240, got 512/,
    );
  });

  it('reserves no concurrency by default, so an account with the quota of 10 can deploy', () => {
    for (const id of [forecastId, evaluateId, ingestId, migrateId, provisionerId]) {
      expect(resources[id]!.Properties.ReservedConcurrentExecutions, id).toBeUndefined();
    }
  });

  it('verifies the database server against the RDS authorities shipped in each bundle', () => {
    for (const id of [forecastId, evaluateId, ingestId, migrateId]) {
      expect(resources[id]!.Properties.Environment.Variables, id).toMatchObject({
        DATABASE_SSL: 'verify-full',
        DATABASE_CA_BUNDLE: '/var/task/rds-global-bundle.pem',
      });
    }
    for (const id of [forecastId, evaluateId, ingestId, migrateId, provisionerId]) {
      const bundle = assetDir(assembly, resources[id]!.Properties.Code.S3Key);
      const pem = readFileSync(path.join(bundle, 'rds-global-bundle.pem'), 'utf8');
      expect(pem.match(/BEGIN CERTIFICATE/g)!.length, id).toBeGreaterThan(20);
    }
  });

  it('keeps log groups for a month', () => {
    for (const id of [forecastId, evaluateId, ingestId, migrateId, provisionerId]) {
      const groupRef = resources[id]!.Properties.LoggingConfig.LogGroup.Ref as string;
      expect(resources[groupRef]!.Properties.RetentionInDays, id).toBe(30);
    }
  });

  it('gives the forecast function the ONNX runtime and model layers and the handler environment', () => {
    const fn = resources[forecastId]!.Properties;
    const layerIds = (fn.Layers as Array<{ Ref: string }>).map((l) => l.Ref);
    expect(layerIds.map((id) => resources[id]!.Type)).toEqual([
      'AWS::Lambda::LayerVersion',
      'AWS::Lambda::LayerVersion',
    ]);
    expect(layerIds.some((id) => id.startsWith('OnnxRuntime'))).toBe(true);
    expect(layerIds.some((id) => id.startsWith('Models'))).toBe(true);
    expect(fn.Environment.Variables).toMatchObject({
      DATABASE_SECRET_ARN: { Ref: expect.stringMatching(/^DatabaseAppSecret/) },
      DATABASE_HOST: { 'Fn::GetAtt': [expect.stringMatching(/^DatabaseInstance/), 'Endpoint.Address'] },
      DATABASE_NAME: 'pulse',
      MODEL_DIR: '/opt/models',
      STALE_AFTER_HOURS: '6',
      POWERTOOLS_SERVICE_NAME: 'pulse',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      POWERTOOLS_METRICS_NAMESPACE: 'Pulse',
    });
    expect(resources[evaluateId]!.Properties.Layers).toBeUndefined();
  });

  it('gives ingest its credentials secret and leaves the sources to the series configuration', () => {
    const env = resources[ingestId]!.Properties.Environment.Variables;
    expect(env).toMatchObject({ INGEST_SECRET_ARN: { Ref: expect.stringMatching(/IngestCredentials/) } });
    // INGEST_SOURCE would switch the handler to its one-series local mode.
    expect(env.INGEST_SOURCE).toBeUndefined();
    const [secret] = Object.values(
      template.findResources('AWS::SecretsManager::Secret', {
        Properties: { Description: Match.stringLikeRegexp('ingest') },
      }),
    );
    // The placeholder the ingest function recognises as "not configured".
    expect(secret!.Properties.GenerateSecretString.SecretStringTemplate).toBe('{"username":"set-me"}');
  });
});

describe('failed runs', () => {
  it('retries an asynchronous invoke twice, then sends it to the encrypted failed-runs queue', () => {
    const queueId = logicalIdOf('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
    expect(resources[queueId]!.Properties.MessageRetentionPeriod).toBe(14 * 24 * 3600);
    for (const id of [forecastId, evaluateId, ingestId]) {
      template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: id },
        MaximumRetryAttempts: 2,
        MaximumEventAgeInSeconds: 3600,
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [queueId, 'Arn'] } } },
      });
    }
  });
});

describe('alarms', () => {
  const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map(
    (a) => a.Properties as Record<string, any>,
  );
  const byMetric = (name: string) => alarms.filter((a) => a.MetricName === name);

  it('alarms on errors of each scheduled function', () => {
    const errorAlarms = byMetric('Errors');
    expect(errorAlarms.map((a) => a.Dimensions[0].Value.Ref).sort()).toEqual(
      [evaluateId, forecastId, ingestId].sort(),
    );
  });

  it('alarms when no forecast run succeeded for two hours, counting missing data as failure', () => {
    expect(byMetric('ForecastRunSuccess')).toEqual([
      expect.objectContaining({
        Namespace: 'Pulse',
        Dimensions: [{ Name: 'service', Value: 'pulse' }],
        Statistic: 'Sum',
        Period: 3600,
        EvaluationPeriods: 2,
        DatapointsToAlarm: 2,
        Threshold: 1,
        ComparisonOperator: 'LessThanThreshold',
        TreatMissingData: 'breaching',
      }),
    ]);
  });

  it.each([
    ['DataStalenessHours', 6],
    ['RollingMape24h', 5],
    ['FallbackRate', 20],
  ])('alarms when %s exceeds %d', (metric, threshold) => {
    expect(byMetric(metric)).toEqual([
      expect.objectContaining({
        Namespace: 'Pulse',
        Threshold: threshold,
        ComparisonOperator: 'GreaterThanThreshold',
      }),
    ]);
  });

  it('alarms when the failed-runs queue holds a message', () => {
    expect(byMetric('ApproximateNumberOfMessagesVisible')).toEqual([
      expect.objectContaining({ Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' }),
    ]);
  });

  it('notifies a KMS-encrypted topic on alarm and on recovery', () => {
    const topicId = logicalIdOf('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    for (const alarm of alarms) {
      expect(alarm.AlarmActions).toEqual([{ Ref: topicId }]);
      expect(alarm.OKActions).toEqual([{ Ref: topicId }]);
    }
    // The 8 of the hourly service, and the retraining cycle's (test/infra/retraining.test.ts).
    expect(alarms).toHaveLength(9);
  });
});

describe('database', () => {
  it('is encrypted PostgreSQL 17, private, backed up, TLS only', () => {
    template.hasResourceProperties('AWS::RDS::DBInstance', {
      Engine: 'postgres',
      EngineVersion: '17',
      StorageEncrypted: true,
      PubliclyAccessible: false,
      BackupRetentionPeriod: 7,
      Port: '5432',
    });
    template.hasResourceProperties('AWS::RDS::DBParameterGroup', { Parameters: { 'rds.force_ssl': '1' } });
  });

  it('is deletable outside production', () => {
    template.hasResource('AWS::RDS::DBInstance', {
      DeletionPolicy: 'Delete',
      Properties: Match.objectLike({ DeletionProtection: false, MultiAZ: false }),
    });
  });

  it('rotates the master, functions and Grafana secrets', () => {
    const schedules = Object.values(template.findResources('AWS::SecretsManager::RotationSchedule'));
    expect(schedules).toHaveLength(3);
    for (const s of schedules) expect(s.Properties.RotationRules.ScheduleExpression).toBe('rate(30 days)');
  });

  it('starts rotating only after the migrate trigger has succeeded', () => {
    const [triggerId, trigger] = Object.entries(template.findResources('Custom::Trigger'))[0]!;
    const schedules = Object.entries(template.findResources('AWS::SecretsManager::RotationSchedule'));
    for (const [id, schedule] of schedules) expect(schedule.DependsOn, id).toContain(triggerId);
    // And the trigger waits for the instance, the secrets and the rules that admit the functions.
    const after = trigger.DependsOn as string[];
    expect(after.filter((id) => schedules.some(([s]) => s === id))).toEqual([]);
    for (const prefix of [
      'DatabaseInstance',
      'DatabaseMasterSecret',
      'DatabaseAppSecretAttachment',
      'DatabaseReaderSecretAttachment',
    ])
      expect(
        after.some((id) => id.startsWith(prefix)),
        prefix,
      ).toBe(true);
    expect(after.some((id) => /SecurityGroupfromPulseNetworkFunctionsSg/.test(id))).toBe(true);
  });

  it('admits the functions, Grafana and the rotation functions on the PostgreSQL port, one rule each', () => {
    const ingress = Object.values(template.findResources('AWS::EC2::SecurityGroupIngress')).map(
      (r) => r.Properties,
    );
    const dbIngress = ingress.filter((r) =>
      JSON.stringify(r.GroupId).includes('DatabaseInstanceSecurityGroup'),
    );
    const dbPort = [5432, { 'Fn::GetAtt': [expect.stringMatching(/^DatabaseInstance/), 'Endpoint.Port'] }];
    const sources: string[] = [];
    for (const rule of dbIngress) {
      expect(rule.IpProtocol).toBe('tcp');
      expect(dbPort).toContainEqual(rule.FromPort);
      expect(rule.ToPort).toEqual(rule.FromPort);
      sources.push(rule.SourceSecurityGroupId['Fn::GetAtt'][0]);
    }
    // EC2 rejects a second rule for the same group and port, whichever way the port is written.
    expect(sources.sort()).toEqual([
      expect.stringMatching(/^NetworkFunctionsSg/),
      expect.stringMatching(/^NetworkGrafanaSg/),
      expect.stringMatching(/^NetworkRotationSg/),
    ]);
    // No CIDR ingress anywhere in the stack.
    expect(ingress.filter((r) => r.CidrIp || r.CidrIpv6)).toEqual([]);
    const dbSg = Object.values(
      template.findResources('AWS::EC2::SecurityGroup', {
        Properties: { GroupDescription: Match.stringLikeRegexp('Database') },
      }),
    );
    for (const sg of dbSg) expect(sg.Properties.SecurityGroupIngress).toBeUndefined();
  });

  it('lets Grafana out to the database port and nowhere else', () => {
    const grafanaSg = logicalIdOf('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('Managed Grafana'),
    });
    // No inline egress (allowAllOutbound is off): its only way out is the rule below.
    expect(resources[grafanaSg]!.Properties.SecurityGroupEgress).toBeUndefined();
    const egress = Object.values(template.findResources('AWS::EC2::SecurityGroupEgress')).map(
      (r) => r.Properties,
    );
    expect(egress).toEqual([
      expect.objectContaining({
        GroupId: { 'Fn::GetAtt': [grafanaSg, 'GroupId'] },
        FromPort: 5432,
        ToPort: 5432,
        IpProtocol: 'tcp',
      }),
    ]);
  });

  it('runs migrations at deploy time from the migrate function, with the SQL files in its bundle', () => {
    template.hasResourceProperties('Custom::Trigger', {
      HandlerArn: { Ref: Match.stringLikeRegexp('^MigrationsMigrateFunctionCurrentVersion') },
    });
    expect(resources[migrateId]!.Properties.Environment.Variables).toMatchObject({
      PULSE_MIGRATIONS_DIR: '/var/task/migrations',
      PULSE_SERIES_CONFIG: '/var/task/pulse.config.json',
      MASTER_SECRET_ARN: { Ref: expect.stringMatching(/^DatabaseMasterSecret/) },
    });
    const bundle = assetDir(assembly, resources[migrateId]!.Properties.Code.S3Key);
    expect(existsSync(path.join(bundle, 'migrations', '0020_series_configuration.sql'))).toBe(true);
    // The series configuration travels in the bundle: a changed file is a changed function, so the trigger re-runs.
    expect(readFileSync(path.join(bundle, 'pulse.config.json'), 'utf8')).toBe(
      readFileSync(path.join(import.meta.dirname, '..', '..', 'pulse.config.json'), 'utf8'),
    );
  });
});

describe('IAM', () => {
  const policies = Object.entries(template.findResources('AWS::IAM::Policy'));
  const statementsOf = (fnId: string) => {
    const roleId = (resources[fnId]!.Properties.Role['Fn::GetAtt'] as string[])[0];
    return policies
      .filter(([, p]) => (p.Properties.Roles as Array<{ Ref: string }>).some((r) => r.Ref === roleId))
      .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Array<Record<string, any>>);
  };

  it('lets each scheduled function read exactly its named secrets and put metrics in the Pulse namespace only', () => {
    for (const [id, secrets] of [
      [forecastId, ['DatabaseAppSecret']],
      [evaluateId, ['DatabaseAppSecret']],
      [ingestId, ['DatabaseAppSecret', 'IngestCredentials']],
    ] as const) {
      const statements = statementsOf(id);
      const secretReads = statements.filter((s) =>
        [s.Action].flat().includes('secretsmanager:GetSecretValue'),
      );
      const secretRefs = secretReads.flatMap((s) => [s.Resource].flat()).map((r: { Ref: string }) => r.Ref);
      expect(
        secretRefs.map((r) => secrets.find((name) => r.startsWith(name) || r.startsWith(`Functions${name}`))),
      ).toEqual([...secrets]);
      const metrics = statements.filter((s) => s.Action === 'cloudwatch:PutMetricData');
      expect(metrics).toEqual([
        expect.objectContaining({
          Resource: '*',
          Condition: { StringEquals: { 'cloudwatch:namespace': 'Pulse' } },
        }),
      ]);
      // Nothing else may use a wildcard resource.
      expect(
        statements.filter((s) => s.Resource === '*' && s.Action !== 'cloudwatch:PutMetricData'),
        id,
      ).toEqual([]);
      // And only the failed-runs queue for the destination.
      const sends = statements.filter((s) => [s.Action].flat().includes('sqs:SendMessage'));
      expect(sends.flatMap((s) => [s.Resource].flat())).toEqual([
        { 'Fn::GetAtt': [expect.stringMatching(/FailedRuns/), 'Arn'] },
      ]);
    }
  });

  it('scopes the provisioner to the one workspace and the reader secret', () => {
    const statements = statementsOf(provisionerId);
    const grafana = statements.find((s) => [s.Action].flat().some((a: string) => a.startsWith('grafana:')))!;
    expect(JSON.stringify(grafana.Resource)).toContain('/workspaces/');
    expect(JSON.stringify(grafana.Resource)).toContain('GrafanaWorkspace');
    const secretRefs = statements
      .filter((s) => [s.Action].flat().includes('secretsmanager:GetSecretValue'))
      .flatMap((s) => [s.Resource].flat());
    expect(secretRefs).toEqual([{ Ref: expect.stringMatching(/^DatabaseReaderSecret/) }]);
  });
});

describe('grafana', () => {
  it('creates the workspace on the Grafana version whose dashboard schema the generated dashboards use', () => {
    expect(GRAFANA_VERSION).toBe('12.4');
    template.hasResourceProperties('AWS::Grafana::Workspace', { GrafanaVersion: '12.4' });
    const versions = dashboardFiles().map(
      (f) =>
        (
          JSON.parse(readFileSync(path.join(import.meta.dirname, '..', '..', DASHBOARDS_DIR, f), 'utf8')) as {
            schemaVersion: number;
          }
        ).schemaVersion,
    );
    expect(versions.length).toBeGreaterThanOrEqual(2);
    // Grafana 12.4 reads dashboard schema 42 at most (the last of the v1 dashboard JSON).
    for (const v of versions) expect(v).toBeLessThanOrEqual(42);
  });

  it('puts the workspace in the VPC with its own security group', () => {
    const grafanaSg = logicalIdOf('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('Managed Grafana'),
    });
    template.hasResourceProperties('AWS::Grafana::Workspace', {
      AuthenticationProviders: ['AWS_SSO'],
      AccountAccessType: 'CURRENT_ACCOUNT',
      PermissionType: 'CUSTOMER_MANAGED',
      VpcConfiguration: {
        SecurityGroupIds: [{ 'Fn::GetAtt': [grafanaSg, 'GroupId'] }],
        SubnetIds: [
          { Ref: Match.stringLikeRegexp('appSubnet1') },
          { Ref: Match.stringLikeRegexp('appSubnet2') },
        ],
      },
    });
  });

  it('provisions the data source and dashboards through a custom resource, after the migrations', () => {
    const [id, cr] = Object.entries(template.findResources('Custom::PulseGrafanaProvisioning'))[0]!;
    expect(cr.Properties).toMatchObject({
      WorkspaceId: { 'Fn::GetAtt': [expect.stringMatching(/GrafanaWorkspace/), 'Id'] },
      ReaderSecretArn: { Ref: expect.stringMatching(/^DatabaseReaderSecret/) },
      DataSourceUid: 'pulse-postgres',
      ContentHash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(cr.DependsOn).toEqual(expect.arrayContaining([expect.stringMatching(/^MigrationsRun/)]));
    expect(id).toMatch(/GrafanaProvisioning/);
  });

  it('re-provisions after the read-only password rotates', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.secretsmanager'],
        detail: {
          eventName: ['RotationSucceeded'],
          additionalEventData: { SecretId: [{ Ref: Match.stringLikeRegexp('DatabaseReaderSecret') }] },
        },
      },
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [provisionerId, 'Arn'] } })],
    });
  });
});
