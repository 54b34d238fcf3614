/* eslint-disable @typescript-eslint/no-explicit-any -- CloudFormation JSON is untyped; the assertions are the types. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { readTarGz } from '../../src/adapters/archive/tar.ts';
import {
  DLC_ACCOUNTS,
  RETRAIN_CRON,
  TRAINER_SOURCE_FILES,
  TRAINING_IMAGE_TAG,
} from '../../lib/retraining.ts';
import { synthPulse } from './synth.ts';

// Template assertions: bundling skipped (the function bundles are stack.test.ts's business); the
// trainer's source archive is a file asset and is staged anyway.
const noBundling = { 'aws:cdk:bundling-stacks': [] };
const { template, stack, assembly } = synthPulse(noBundling);
const resources = template.toJSON().Resources as Record<
  string,
  { Type: string; Properties: Record<string, any> }
>;
const mappings = template.toJSON().Mappings as Record<string, Record<string, Record<string, string>>>;

const idOf = (type: string, pattern: RegExp): string => {
  const ids = Object.keys(resources).filter((id) => resources[id]!.Type === type && pattern.test(id));
  expect(ids, `${type} ${pattern}`).toHaveLength(1);
  return ids[0]!;
};
const bucketId = idOf('AWS::S3::Bucket', /^RetrainingBucket/);
const stateMachineId = idOf('AWS::StepFunctions::StateMachine', /^RetrainingCycle/);
const trainingRoleId = idOf('AWS::IAM::Role', /^RetrainingTrainingRole/);
const functionId = (description: RegExp): string => {
  const ids = Object.entries(resources)
    .filter(
      ([, r]) =>
        r.Type === 'AWS::Lambda::Function' && description.test(String(r.Properties.Description ?? '')),
    )
    .map(([id]) => id);
  expect(ids).toHaveLength(1);
  return ids[0]!;
};
const trainingDataId = functionId(/^Pulse: list the series of a retraining cycle/);
const promotionId = functionId(/^Pulse: check parity, back-test and promote/);
const forecastId = functionId(/^Pulse: forecast/);

/** The state machine's definition with every CloudFormation expression replaced by a readable marker. */
const definition = (() => {
  const parts = resources[stateMachineId]!.Properties.DefinitionString['Fn::Join'][1] as unknown[];
  const text = parts
    .map((p) => {
      if (typeof p === 'string') return p;
      const o = p as Record<string, any>;
      if (o['Fn::GetAtt']) return `<${o['Fn::GetAtt'][0]}.Arn>`;
      if (o.Ref) return `<${o.Ref}>`;
      if (o['Fn::FindInMap']) return `<map:${o['Fn::FindInMap'][0]}>`;
      if (o['Fn::Sub']) return `<sub:${o['Fn::Sub']}>`;
      return '<expr>';
    })
    .join('');
  return JSON.parse(text) as Record<string, any>;
})();
const perSeries = definition.States.EachSeries.ItemProcessor.States as Record<string, any>;

/** Every statement of the policies attached to a role. */
const statementsOfRole = (roleId: string) =>
  Object.values(resources)
    .filter(
      (r) =>
        r.Type === 'AWS::IAM::Policy' &&
        (r.Properties.Roles as Array<{ Ref: string }>).some((x) => x.Ref === roleId),
    )
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Array<Record<string, any>>);
const roleOf = (fnId: string) => (resources[fnId]!.Properties.Role['Fn::GetAtt'] as string[])[0]!;
/** The S3 object patterns an identity may use with `action`, as "<prefix pattern>". */
const s3Keys = (roleId: string, action: string): string[] =>
  statementsOfRole(roleId)
    .filter((s) => [s.Action].flat().includes(action))
    .flatMap((s) => [s.Resource].flat())
    .map((r: any) => {
      const parts = r['Fn::Join']?.[1] as unknown[] | undefined;
      if (!parts) return JSON.stringify(r);
      const bucket = (parts[0] as any)?.['Fn::GetAtt']?.[0];
      return bucket === bucketId ? String(parts[1]).replace(/^\//, '') : JSON.stringify(r);
    })
    .sort();

describe('model store bucket', () => {
  it('is versioned, encrypted, private, TLS-only (1.2+) and kept when the stack goes', () => {
    const bucket = template.toJSON().Resources[bucketId];
    expect(bucket.DeletionPolicy).toBe('Retain');
    expect(bucket.Properties).toMatchObject({
      VersioningConfiguration: { Status: 'Enabled' },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
    });
    const statements = Object.values(template.findResources('AWS::S3::BucketPolicy')).flatMap(
      (p) => p.Properties.PolicyDocument.Statement as Array<Record<string, any>>,
    );
    expect(statements).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        expect.objectContaining({
          Effect: 'Deny',
          Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } },
        }),
      ]),
    );
  });

  it('expires training runs after 30 days and old object versions after 90, never a model', () => {
    const rules = resources[bucketId]!.Properties.LifecycleConfiguration.Rules as Array<Record<string, any>>;
    expect(rules).toEqual([
      expect.objectContaining({ Prefix: 'training/', ExpirationInDays: 30, Status: 'Enabled' }),
      expect.objectContaining({ NoncurrentVersionExpiration: { NoncurrentDays: 90 }, Status: 'Enabled' }),
    ]);
  });

  it('is the store the forecast function loads promoted models from, read-only and models/ only', () => {
    expect(resources[forecastId]!.Properties.Environment.Variables.MODEL_STORE).toEqual({
      'Fn::Join': ['', ['s3://', { Ref: bucketId }, '/models']],
    });
    expect(s3Keys(roleOf(forecastId), 's3:GetObject')).toEqual(['models/*']);
    expect(s3Keys(roleOf(forecastId), 's3:PutObject')).toEqual([]);
  });
});

describe('retraining state machine', () => {
  it('lists the series, then trains each in a Distributed Map of child workflows, 4 at a time', () => {
    expect(definition.StartAt).toBe('ListSeries');
    expect(definition.States.ListSeries).toMatchObject({
      Resource: `<${trainingDataId}.Arn>`,
      Parameters: { step: 'list', 'series.$': '$.series' },
      Next: 'EachSeries',
    });
    expect(definition.States.EachSeries).toMatchObject({
      Type: 'Map',
      ItemsPath: '$.series',
      MaxConcurrency: 4,
      ItemSelector: { 'series.$': '$$.Map.Item.Value', 'startedAt.$': '$$.Execution.StartTime' },
      ItemProcessor: {
        ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
        StartAt: 'PrepareTensors',
      },
      ResultPath: null,
    });
    expect(definition.TimeoutSeconds).toBe(24 * 3600);
  });

  it('stages tensors, waits for the SageMaker job (.sync), then promotes; any failure is recorded', () => {
    expect(perSeries.PrepareTensors).toMatchObject({
      Resource: `<${trainingDataId}.Arn>`,
      Parameters: { step: 'prepare', 'series.$': '$.series', 'startedAt.$': '$.startedAt' },
      ResultPath: '$.job',
      Next: 'Train',
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'RecordFailureBeforeJob' }],
    });
    expect(perSeries.Train.Resource).toBe('arn:<AWS::Partition>:states:::sagemaker:createTrainingJob.sync');
    expect(perSeries.Train).toMatchObject({
      Next: 'Promote',
      ResultSelector: { 'modelArtifacts.$': '$.ModelArtifacts.S3ModelArtifacts' },
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'RecordFailure' }],
    });
    expect(perSeries.Promote).toMatchObject({
      Resource: `<${promotionId}.Arn>`,
      Parameters: { step: 'promote', 'job.$': '$.job', 'modelArtifacts.$': '$.training.modelArtifacts' },
      End: true,
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'RecordFailure' }],
    });
    expect(perSeries.RecordFailure).toMatchObject({
      Resource: `<${promotionId}.Arn>`,
      Parameters: { step: 'failed', 'series.$': '$.series', 'job.$': '$.job', 'error.$': '$.error' },
    });
    expect(perSeries.RecordFailureBeforeJob.Parameters).toEqual({
      step: 'failed',
      'series.$': '$.series',
      'error.$': '$.error',
    });
  });

  it("runs the training job on AWS's PyTorch CPU image, with its role, the run's S3 paths and training/ as source", () => {
    const params = perSeries.Train.Parameters;
    expect(params).toMatchObject({
      'TrainingJobName.$': '$.job.jobName',
      RoleArn: `<${trainingRoleId}.Arn>`,
      AlgorithmSpecification: { TrainingInputMode: 'File' },
      InputDataConfig: [
        {
          ChannelName: 'tensors',
          DataSource: { S3DataSource: { 'S3Uri.$': '$.job.inputUri', S3DataType: 'S3Prefix' } },
        },
      ],
      OutputDataConfig: { 'S3OutputPath.$': '$.job.outputUri' },
      ResourceConfig: { InstanceCount: 1, InstanceType: 'ml.c5.xlarge', VolumeSizeInGB: 10 },
      StoppingCondition: { MaxRuntimeInSeconds: 4 * 3600 },
      HyperParameters: { sagemaker_program: 'sagemaker_entry.py' },
    });
    expect(params.AlgorithmSpecification.TrainingImage).toMatch(
      new RegExp(
        `^<map:RetrainingDlcAccounts[0-9A-F]+>\\.dkr\\.ecr\\.<AWS::Region>\\.<AWS::URLSuffix>/pytorch-training:${TRAINING_IMAGE_TAG}$`,
      ),
    );
    expect(TRAINING_IMAGE_TAG).toBe('2.7.1-cpu-py312-ubuntu22.04-sagemaker');
    expect(params.HyperParameters.sagemaker_submit_directory).toMatch(
      /^<sub:s3:\/\/cdk-.*-assets-.*\/[0-9a-f]{64}\.gz>$/,
    );
  });

  it('resolves the image account per region from the Deep Learning Containers list', () => {
    const [mapping] = Object.entries(mappings).filter(([id]) => id.startsWith('RetrainingDlcAccounts'));
    expect(mapping![1]['eu-central-1']).toEqual({ account: '763104351884' });
    expect(mapping![1]['us-east-1']).toEqual({ account: '763104351884' });
    expect(mapping![1]['me-south-1']).toEqual({ account: '217643126080' });
    expect(Object.keys(mapping![1]).sort()).toEqual(Object.keys(DLC_ACCOUNTS).sort());
  });

  it('ships exactly the trainer files as the job source, byte for byte', () => {
    const hash = /([0-9a-f]{64})\.gz/.exec(
      String(perSeries.Train.Parameters.HyperParameters.sagemaker_submit_directory),
    )![1];
    const archive = readFileSync(path.join(assembly.directory, `asset.${hash}.tar.gz`));
    const files = readTarGz(archive);
    expect(files.map((f) => f.name)).toEqual([...TRAINER_SOURCE_FILES]);
    for (const f of files)
      expect(Buffer.from(f.data).equals(readFileSync(path.join('training', f.name))), f.name).toBe(true);
  });

  it('logs every state and traces with X-Ray', () => {
    expect(resources[stateMachineId]!.Properties).toMatchObject({
      LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: false },
      TracingConfiguration: { Enabled: true },
    });
  });
});

describe('least privilege', () => {
  it('lets the training job read only its tensors and source, write only its outputs, pull only the PyTorch image', () => {
    const role = resources[trainingRoleId]!.Properties;
    expect(role.AssumeRolePolicyDocument.Statement).toEqual([
      expect.objectContaining({
        Principal: { Service: 'sagemaker.amazonaws.com' },
        Action: 'sts:AssumeRole',
      }),
    ]);
    expect(role.ManagedPolicyArns).toBeUndefined();
    const statements = statementsOfRole(trainingRoleId);
    expect(s3Keys(trainingRoleId, 's3:GetObject').filter((k) => !k.includes('cdk-'))).toEqual([
      'training/*/input/*',
    ]);
    expect(s3Keys(trainingRoleId, 's3:PutObject')).toEqual(['training/*/output/*']);
    expect(statements.find((s) => s.Action === 's3:ListBucket')).toMatchObject({
      Resource: { 'Fn::GetAtt': [bucketId, 'Arn'] },
      Condition: { StringLike: { 's3:prefix': ['training/*'] } },
    });
    const ecr = statements.find((s) => [s.Action].flat().includes('ecr:BatchGetImage'))!;
    expect(JSON.stringify(ecr.Resource)).toMatch(/repository\/pytorch-training"/);
    // Wildcard resources only where AWS has no resource-level permissions.
    expect(statements.filter((s) => s.Resource === '*').map((s) => s.Action)).toEqual([
      'cloudwatch:PutMetricData',
      'ecr:GetAuthorizationToken',
    ]);
    expect(statements.find((s) => s.Action === 'cloudwatch:PutMetricData')!.Condition).toEqual({
      StringEquals: { 'cloudwatch:namespace': '/aws/sagemaker/TrainingJobs' },
    });
  });

  it('lets the training-data function write only tensors, and the promotion function write only models', () => {
    expect(s3Keys(roleOf(trainingDataId), 's3:PutObject')).toEqual(['training/*/input/*']);
    expect(s3Keys(roleOf(trainingDataId), 's3:GetObject')).toEqual([]);
    expect(s3Keys(roleOf(promotionId), 's3:GetObject')).toEqual(['models/*', 'training/*']);
    expect(s3Keys(roleOf(promotionId), 's3:PutObject')).toEqual(['models/*']);
    expect(resources[trainingDataId]!.Properties.Environment.Variables.TRAINING_DATA_URI).toEqual({
      'Fn::Join': ['', ['s3://', { Ref: bucketId }, '/training']],
    });
    expect(resources[promotionId]!.Properties.Environment.Variables).toMatchObject({
      MODEL_DIR: '/opt/models',
      MODEL_STORE: { 'Fn::Join': ['', ['s3://', { Ref: bucketId }, '/models']] },
    });
    // Both run in the VPC with the database's login secret, like the scheduled functions.
    for (const id of [trainingDataId, promotionId])
      expect(resources[id]!.Properties.VpcConfig.SubnetIds.length, id).toBeGreaterThan(0);
  });

  it('lets the state machine pass only the training role and run only its own functions', () => {
    const statements = statementsOfRole(
      (resources[stateMachineId]!.Properties.RoleArn['Fn::GetAtt'] as string[])[0]!,
    );
    const passRole = statements.filter((s) => [s.Action].flat().includes('iam:PassRole'));
    expect(passRole.flatMap((s) => [s.Resource].flat())).toEqual([{ 'Fn::GetAtt': [trainingRoleId, 'Arn'] }]);
    const invoked = statements
      .filter((s) => [s.Action].flat().includes('lambda:InvokeFunction'))
      .flatMap((s) => [s.Resource].flat())
      .map((r: any) => JSON.stringify(r));
    expect(invoked.every((r) => r.includes(trainingDataId) || r.includes(promotionId))).toBe(true);
    const sagemaker = statements.filter((s) => [s.Action].flat().includes('sagemaker:CreateTrainingJob'));
    expect(JSON.stringify(sagemaker.map((s) => s.Resource))).toMatch(/training-job\/\*/);
  });

  it('passes cdk-nag with every acknowledgement scoped to a named resource pattern', () => {
    const report = new AwsSolutionsChecks().validateScope(stack.node.root);
    expect(report.violations.map((v) => v.ruleName)).toEqual([]);
  });
});

describe('schedule and alarm', () => {
  it('starts the cycle monthly, day 1 at 03:37 UTC (as pulse serve), for every active series', () => {
    expect(RETRAIN_CRON).toBe('cron(37 3 1 * ? *)');
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: RETRAIN_CRON,
      State: 'ENABLED',
      Targets: [Match.objectLike({ Arn: { Ref: stateMachineId }, Input: '{"series":null}' })],
    });
  });

  it('takes another schedule, or none, from context', () => {
    const weekly = synthPulse({
      ...noBundling,
      'pulse:retrainSchedule': 'cron(0 2 ? * SUN *)',
      'pulse:retrainConcurrency': '2',
      'pulse:retrainRecipe': '{"windowHours":168,"lr":0.001}',
    });
    weekly.template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'cron(0 2 ? * SUN *)' });
    expect(JSON.stringify(weekly.template.toJSON())).toContain('\\"MaxConcurrency\\":2');
    const data = Object.values(weekly.template.findResources('AWS::Lambda::Function')).find((r) =>
      String(r.Properties.Description).startsWith('Pulse: list the series of a retraining cycle'),
    )!;
    expect(data.Properties.Environment.Variables.RETRAIN_RECIPE).toBe('{"windowHours":168,"lr":0.001}');
    expect(() => synthPulse({ ...noBundling, 'pulse:retrainRecipe': '{"windowHours":24}' })).toThrow(
      /RETRAIN_RECIPE: windowHours:/,
    );
    const off = synthPulse({ ...noBundling, 'pulse:retrainSchedule': 'off' });
    const rules = Object.values(off.template.findResources('AWS::Events::Rule')).map(
      (r) => r.Properties.ScheduleExpression,
    );
    expect(rules.filter((e) => e === RETRAIN_CRON)).toEqual([]);
    off.template.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
  });

  it('alarms when a cycle fails, times out or is aborted, or a series could not be retrained', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).filter((a) =>
      String(a.Properties.AlarmDescription).startsWith('A retraining cycle failed'),
    );
    expect(alarms).toHaveLength(1);
    const alarm = alarms[0]!.Properties;
    expect(alarm).toMatchObject({
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      EvaluationPeriods: 1,
    });
    const metrics = alarm.Metrics as Array<Record<string, any>>;
    const expression = metrics.find((m) => m.Expression)!;
    expect(expression.Expression).toBe(
      'FILL(failed, 0) + FILL(timedOut, 0) + FILL(aborted, 0) + FILL(series, 0)',
    );
    const byId = Object.fromEntries(
      metrics.filter((m) => m.MetricStat).map((m) => [m.Id, m.MetricStat.Metric]),
    );
    expect(byId.failed).toMatchObject({
      Namespace: 'AWS/States',
      MetricName: 'ExecutionsFailed',
      Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: stateMachineId } }],
    });
    expect(byId.timedOut.MetricName).toBe('ExecutionsTimedOut');
    expect(byId.aborted.MetricName).toBe('ExecutionsAborted');
    expect(byId.series).toMatchObject({
      Namespace: 'Pulse',
      MetricName: 'RetrainingFailedSeries',
      Dimensions: [{ Name: 'service', Value: 'pulse' }],
    });
    const topic = idOf('AWS::SNS::Topic', /^AlarmsTopic/);
    expect(alarm.AlarmActions).toEqual([{ Ref: topic }]);
    expect(alarm.OKActions).toEqual([{ Ref: topic }]);
  });
});
