import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  Aws,
  CfnElement,
  CfnMapping,
  Duration,
  RemovalPolicy,
  Size,
  Stack,
  Token,
  Validations,
} from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  MathExpression,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { SfnStateMachine } from 'aws-cdk-lib/aws-events-targets';
import { InstanceType } from 'aws-cdk-lib/aws-ec2';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Asset } from 'aws-cdk-lib/aws-s3-assets';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import {
  DefinitionBody,
  DistributedMap,
  JsonPath,
  LogLevel,
  StateMachine,
  StateMachineType,
  TaskInput,
  type IChainable,
  IntegrationPattern,
} from 'aws-cdk-lib/aws-stepfunctions';
import {
  DockerImage,
  InputMode,
  LambdaInvoke,
  S3DataType,
  S3Location,
  SageMakerCreateTrainingJob,
  type S3LocationConfig,
} from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { writeTarGz } from '../src/adapters/archive/tar.ts';
import { recipeFromSetting, TRAINING_CHANNEL } from '../src/adapters/lambda/retraining.ts';
import { RETRAIN_SCHEDULE } from '../src/adapters/training/retraining-cycle.ts';
import type { ModelLayer, OnnxRuntimeLayer } from './layers.ts';
import {
  METRICS_NAMESPACE,
  PulseFunction,
  REPO_ROOT,
  RDS_CA_BUNDLE,
  type PulseFunctionProps,
} from './pulse-function.ts';

/** Key prefixes in the model bucket. */
export const MODEL_STORE_PREFIX = 'models';
export const TRAINING_DATA_PREFIX = 'training';

/** The monthly cycle, at the same minute `pulse serve` runs it (RETRAIN_SCHEDULE, UTC). */
export const RETRAIN_CRON = `cron(${RETRAIN_SCHEDULE.minute} ${RETRAIN_SCHEDULE.hourUtc} ${RETRAIN_SCHEDULE.dayOfMonth} * ? *)`;

/**
 * AWS's prebuilt PyTorch CPU training image for SageMaker (Deep Learning Containers, "SageMaker
 * Framework Containers": `<account>.dkr.ecr.<region>.amazonaws.com/pytorch-training:<tag>`). The
 * trainer needs only torch and numpy, both in the image; no Docker build at deploy.
 */
export const TRAINING_IMAGE_REPOSITORY = 'pytorch-training';
export const TRAINING_IMAGE_TAG = '2.7.1-cpu-py312-ubuntu22.04-sagemaker';

/**
 * The account that publishes the Deep Learning Containers in each region (AWS's DLC "available
 * images" list). Regions not listed here are refused at synth.
 */
export const DLC_ACCOUNTS: Readonly<Record<string, string>> = {
  'us-east-1': '763104351884',
  'us-east-2': '763104351884',
  'us-west-1': '763104351884',
  'us-west-2': '763104351884',
  'af-south-1': '626614931356',
  'ap-east-1': '871362719292',
  'ap-east-2': '763104351884',
  'ap-south-1': '763104351884',
  'ap-south-2': '772153158452',
  'ap-southeast-1': '763104351884',
  'ap-southeast-2': '763104351884',
  'ap-southeast-3': '907027046896',
  'ap-southeast-4': '457447274322',
  'ap-southeast-5': '550225433462',
  'ap-southeast-7': '590183813437',
  'ap-northeast-1': '763104351884',
  'ap-northeast-2': '763104351884',
  'ap-northeast-3': '364406365360',
  'ca-central-1': '763104351884',
  'ca-west-1': '204538143572',
  'eu-central-1': '763104351884',
  'eu-central-2': '380420809688',
  'eu-north-1': '763104351884',
  'eu-south-1': '692866216735',
  'eu-south-2': '503227376785',
  'eu-west-1': '763104351884',
  'eu-west-2': '763104351884',
  'eu-west-3': '763104351884',
  'il-central-1': '780543022126',
  'me-central-1': '914824155844',
  'me-south-1': '217643126080',
  'mx-central-1': '637423239942',
  'sa-east-1': '763104351884',
};

/** The training job's machine: 4 vCPUs, 8 GiB (the recipe trains 2 members at a time, 1 BLAS thread each). */
export const DEFAULT_TRAINING_INSTANCE = 'ml.c5.xlarge';

/** The files of training/ the job runs (sagemaker_entry.py → train.py → model.py, contract.py + schema). */
export const TRAINER_SOURCE_FILES = [
  'sagemaker_entry.py',
  'train.py',
  'model.py',
  'contract.py',
  'contract.schema.json',
] as const;

/**
 * training/ as the `sourcedir.tar.gz` SageMaker's training toolkit unpacks into /opt/ml/code: built at
 * synth from the files themselves (no Docker), byte-for-byte the same for the same files.
 */
export function trainerSourceArchive(trainingDir = path.join(REPO_ROOT, 'training')): string {
  const archive = writeTarGz(
    TRAINER_SOURCE_FILES.map((name) => ({ name, data: readFileSync(path.join(trainingDir, name)) })),
  );
  const hash = createHash('sha256').update(archive).digest('hex').slice(0, 16);
  const dir = path.join(tmpdir(), `pulse-trainer-source-${hash}`);
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'sourcedir.tar.gz');
  writeFileSync(file, archive);
  return file;
}

/**
 * An S3 location taken from the state (each run's own prefix). CDK's `S3Location.fromJsonExpression`
 * grants the job's role s3:GetObject and s3:ListBucket on every bucket ("*"); this one grants nothing:
 * the training role's policy names the run prefixes itself.
 */
class RunLocation extends S3Location {
  constructor(private readonly path: string) {
    super();
  }
  bind(): S3LocationConfig {
    return { uri: JsonPath.stringAt(this.path) };
  }
}

export interface PulseRetrainingProps {
  readonly network: { readonly vpcPlacement: NonNullable<PulseFunctionProps['vpc']> };
  /** The database functions' environment and secrets. */
  readonly databaseEnvironment: Record<string, string>;
  readonly databaseSecrets: PulseFunctionProps['secrets'];
  readonly onnxRuntime: OnnxRuntimeLayer;
  readonly models: ModelLayer;
  /** Loads promoted models from the store (MODEL_STORE and read access are added to it). */
  readonly forecast: NodejsFunction;
  /** Where the failed-cycle alarm notifies. */
  readonly alarmTopic: ITopic;
  /**
   * When the cycle starts (EventBridge schedule expression), or `null` for no schedule (start it by
   * hand). @default RETRAIN_CRON, day 1 of each month 03:37 UTC
   */
  readonly schedule?: string | null;
  /** Series trained at the same time. @default 4 */
  readonly maxConcurrency?: number;
  /** @default DEFAULT_TRAINING_INSTANCE */
  readonly instanceType?: string;
  /** A training job running longer is stopped (and recorded as failed). @default 4 hours */
  readonly maxTrainingTime?: Duration;
  readonly production?: boolean;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /**
   * The recipe the cycle trains, as JSON fields over the default recipe (RETRAIN_RECIPE), checked at
   * synth. @default the default recipe
   */
  readonly recipe?: string;
}

/**
 * The model store and the scheduled champion/challenger cycle in AWS: a versioned, encrypted,
 * TLS-only bucket (`models/` is the store the forecast function loads promoted models from,
 * `training/` each run's tensors and job outputs, expired after 30 days); a Step Functions state
 * machine that lists the series, then per series (a Distributed Map, bounded concurrency) stages the
 * training tensors (Lambda), trains on SageMaker with AWS's PyTorch CPU image and training/ as its
 * source (no Docker build), and lets a Lambda check parity, back-test and decide; a monthly schedule;
 * an alarm when a cycle or a series fails.
 */
export class PulseRetraining extends Construct {
  public readonly bucket: Bucket;
  public readonly stateMachine: StateMachine;
  public readonly trainingData: NodejsFunction;
  public readonly promotion: NodejsFunction;
  public readonly trainingRole: Role;
  public readonly schedule?: Rule;
  public readonly alarm: Alarm;
  /** The training image's URI (a CloudFormation expression of the region). */
  public readonly trainingImage: string;

  constructor(scope: Construct, id: string, props: PulseRetrainingProps) {
    super(scope, id);
    // A bad recipe fails the synth, naming the field, not the first cycle a month later.
    recipeFromSetting(props.recipe);
    const stack = Stack.of(this);
    // How cdk-nag prints the region and partition in resource names: resolved when the stack has a region.
    const agnostic = Token.isUnresolved(stack.region);
    const region = agnostic ? '<AWS::Region>' : stack.region;
    const partition = agnostic ? '<AWS::Partition>' : stack.partition;
    const retain = props.production ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    this.bucket = new Bucket(this, 'Bucket', {
      versioned: true,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // The models a series may be served from must survive the stack (and a rollback).
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        { id: 'training-runs', prefix: `${TRAINING_DATA_PREFIX}/`, expiration: Duration.days(30) },
        { id: 'old-versions', noncurrentVersionExpiration: Duration.days(90) },
      ],
    });
    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        "Only the stack's own roles read and write this bucket, and model files are never overwritten (new versions get new keys); every write is a versioned object. Access logs would need a second bucket that itself cannot be logged; CloudTrail data events are the audit tool if one is wanted.",
    });
    const storeUri = `s3://${this.bucket.bucketName}/${MODEL_STORE_PREFIX}`;
    const trainingUri = `s3://${this.bucket.bucketName}/${TRAINING_DATA_PREFIX}`;
    const objects = (pattern: string) => this.bucket.arnForObjects(pattern);

    // The forecast function loads promoted models from the store.
    props.forecast.addEnvironment('MODEL_STORE', storeUri);
    props.forecast.addToRolePolicy(
      new PolicyStatement({ actions: ['s3:GetObject'], resources: [objects(`${MODEL_STORE_PREFIX}/*`)] }),
    );

    const vpc = props.network.vpcPlacement;
    const common = {
      vpc,
      secrets: props.databaseSecrets,
      publishesMetrics: true,
      logRetention: props.logRetention,
      logRemovalPolicy: retain,
      bundledFiles: [RDS_CA_BUNDLE],
      memorySize: 3008,
      timeout: Duration.minutes(15),
    };
    this.trainingData = new PulseFunction(this, 'TrainingData', {
      ...common,
      entry: 'functions/training-data/index.ts',
      description: "Pulse: list the series of a retraining cycle; build one series' training tensors into S3",
      // Türkiye's 76,000 windows are about 250 MB of tensors.
      ephemeralStorageMiB: 2048,
      environment: {
        ...props.databaseEnvironment,
        TRAINING_DATA_URI: trainingUri,
        ...(props.recipe ? { RETRAIN_RECIPE: JSON.stringify(JSON.parse(props.recipe)) } : {}),
      },
      // Never runs a model, but the training modules import onnxruntime-node (parity) at load.
      layers: [props.onnxRuntime.layer],
      layerModules: ['onnxruntime-node'],
    }).fn;
    this.trainingData.addToRolePolicy(
      new PolicyStatement({
        actions: ['s3:PutObject'],
        resources: [objects(`${TRAINING_DATA_PREFIX}/*/input/*`)],
      }),
    );

    this.promotion = new PulseFunction(this, 'Promotion', {
      ...common,
      entry: 'functions/promotion/index.ts',
      description: 'Pulse: check parity, back-test and promote a trained challenger, or record a failed one',
      ephemeralStorageMiB: 1024,
      environment: {
        ...props.databaseEnvironment,
        MODEL_DIR: '/opt/models',
        MODEL_STORE: storeUri,
        TRAINING_DATA_URI: trainingUri,
      },
      layers: [props.onnxRuntime.layer, props.models.layer],
      layerModules: ['onnxruntime-node'],
    }).fn;
    this.promotion.addToRolePolicy(
      new PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [objects(`${TRAINING_DATA_PREFIX}/*`), objects(`${MODEL_STORE_PREFIX}/*`)],
      }),
    );
    this.promotion.addToRolePolicy(
      new PolicyStatement({ actions: ['s3:PutObject'], resources: [objects(`${MODEL_STORE_PREFIX}/*`)] }),
    );
    const bucketArn = `<${stack.getLogicalId(this.bucket.node.defaultChild as CfnElement)}.Arn>`;
    const keysReason =
      "Object keys under fixed prefixes of the stack's own model bucket (models/<version>.*, training/<version>/…): versions are named at run time.";
    const acknowledgeKeys = (scope: Construct, ...patterns: string[]) =>
      Validations.of(scope).acknowledge(
        ...patterns.map((p) => ({
          id: `AwsSolutions-IAM5[Resource::${bucketArn}/${p}]`,
          reason: keysReason,
        })),
      );
    acknowledgeKeys(props.forecast, `${MODEL_STORE_PREFIX}/*`);
    acknowledgeKeys(this.trainingData, `${TRAINING_DATA_PREFIX}/*/input/*`);
    acknowledgeKeys(this.promotion, `${TRAINING_DATA_PREFIX}/*`, `${MODEL_STORE_PREFIX}/*`);

    // The training job: AWS's PyTorch CPU image, training/ as its source, the tensors as its channel.
    const source = new Asset(this, 'TrainerSource', { path: trainerSourceArchive() });
    const dlcAccounts = new CfnMapping(this, 'DlcAccounts', {
      mapping: Object.fromEntries(
        Object.entries(DLC_ACCOUNTS).map(([region, account]) => [region, { account }]),
      ),
    });
    const dlcAccount = dlcAccounts.findInMap(Aws.REGION, 'account');
    this.trainingImage = `${dlcAccount}.dkr.ecr.${Aws.REGION}.${Aws.URL_SUFFIX}/${TRAINING_IMAGE_REPOSITORY}:${TRAINING_IMAGE_TAG}`;
    this.trainingRole = new Role(this, 'TrainingRole', {
      assumedBy: new ServicePrincipal('sagemaker.amazonaws.com'),
      description:
        'Pulse retraining: the SageMaker training job (reads its tensors and source, writes its model.tar.gz)',
    });
    const jobLogs = `arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:log-group:/aws/sagemaker/TrainingJobs`;
    for (const statement of [
      new PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [objects(`${TRAINING_DATA_PREFIX}/*/input/*`)],
      }),
      new PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [this.bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${TRAINING_DATA_PREFIX}/*`] } },
      }),
      new PolicyStatement({
        actions: ['s3:PutObject'],
        resources: [objects(`${TRAINING_DATA_PREFIX}/*/output/*`)],
      }),
      new PolicyStatement({
        actions: [
          'logs:CreateLogGroup',
          'logs:CreateLogStream',
          'logs:PutLogEvents',
          'logs:DescribeLogStreams',
        ],
        resources: [jobLogs, `${jobLogs}:log-stream:*`],
      }),
      new PolicyStatement({
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringEquals: { 'cloudwatch:namespace': '/aws/sagemaker/TrainingJobs' } },
      }),
      new PolicyStatement({
        actions: ['ecr:BatchCheckLayerAvailability', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchGetImage'],
        resources: [
          `arn:${Aws.PARTITION}:ecr:${Aws.REGION}:${dlcAccount}:repository/${TRAINING_IMAGE_REPOSITORY}`,
        ],
      }),
      new PolicyStatement({ actions: ['ecr:GetAuthorizationToken'], resources: ['*'] }),
    ])
      this.trainingRole.addToPolicy(statement);
    // The source archive: this one object of the CDK asset bucket, read-only.
    this.trainingRole.addToPolicy(
      new PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [`arn:${Aws.PARTITION}:s3:::${source.s3BucketName}/${source.s3ObjectKey}`],
      }),
    );
    acknowledgeKeys(
      this.trainingRole,
      `${TRAINING_DATA_PREFIX}/*/input/*`,
      `${TRAINING_DATA_PREFIX}/*/output/*`,
    );
    Validations.of(this.trainingRole).acknowledge(
      {
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/sagemaker/TrainingJobs:log-stream:*]`,
        reason: "The training jobs' own log streams in SageMaker's log group; stream names are made per job.",
      },
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          "cloudwatch:PutMetricData (limited to SageMaker's namespace by a condition) and ecr:GetAuthorizationToken have no resource-level permissions.",
      },
    );

    // The state machine: list → per series (prepare → train → promote, any failure recorded) → done.
    const list = new LambdaInvoke(this, 'ListSeries', {
      lambdaFunction: this.trainingData,
      payload: TaskInput.fromObject({ step: 'list', 'series.$': '$.series' }),
      payloadResponseOnly: true,
      retryOnServiceExceptions: true,
    });
    const prepare = new LambdaInvoke(this, 'PrepareTensors', {
      lambdaFunction: this.trainingData,
      payload: TaskInput.fromObject({
        step: 'prepare',
        'series.$': '$.series',
        'startedAt.$': '$.startedAt',
      }),
      payloadResponseOnly: true,
      resultPath: '$.job',
    });
    const train = new SageMakerCreateTrainingJob(this, 'Train', {
      // .sync: the state waits for the job to finish (Step Functions polls it through an EventBridge rule).
      integrationPattern: IntegrationPattern.RUN_JOB,
      trainingJobName: JsonPath.stringAt('$.job.jobName'),
      role: this.trainingRole,
      algorithmSpecification: {
        trainingImage: DockerImage.fromRegistry(this.trainingImage),
        trainingInputMode: InputMode.FILE,
      },
      hyperparameters: {
        sagemaker_program: 'sagemaker_entry.py',
        sagemaker_submit_directory: source.s3ObjectUrl,
        sagemaker_region: Aws.REGION,
      },
      inputDataConfig: [
        {
          channelName: TRAINING_CHANNEL,
          dataSource: {
            s3DataSource: {
              s3DataType: S3DataType.S3_PREFIX,
              s3Location: new RunLocation('$.job.inputUri'),
            },
          },
        },
      ],
      outputDataConfig: { s3OutputLocation: new RunLocation('$.job.outputUri') },
      resourceConfig: {
        instanceCount: 1,
        // Rendered with SageMaker's "ml." prefix.
        instanceType: new InstanceType(
          (props.instanceType ?? DEFAULT_TRAINING_INSTANCE).replace(/^ml\./, ''),
        ),
        volumeSize: Size.gibibytes(10),
      },
      stoppingCondition: { maxRuntime: props.maxTrainingTime ?? Duration.hours(4) },
      resultSelector: { 'modelArtifacts.$': '$.ModelArtifacts.S3ModelArtifacts' },
      resultPath: '$.training',
    });
    const promote = new LambdaInvoke(this, 'Promote', {
      lambdaFunction: this.promotion,
      payload: TaskInput.fromObject({
        step: 'promote',
        'job.$': '$.job',
        'modelArtifacts.$': '$.training.modelArtifacts',
      }),
      payloadResponseOnly: true,
      // ~20 bytes per series: the Map gathers every iteration's output (256 KiB: ≈ 10,000 series).
      resultSelector: { 'promoted.$': '$.promoted' },
    });
    const recordFailure = new LambdaInvoke(this, 'RecordFailure', {
      lambdaFunction: this.promotion,
      payload: TaskInput.fromObject({
        step: 'failed',
        'series.$': '$.series',
        'job.$': '$.job',
        'error.$': '$.error',
      }),
      payloadResponseOnly: true,
      resultSelector: { 'promoted.$': '$.promoted' },
    });
    const recordFailureBeforeJob = new LambdaInvoke(this, 'RecordFailureBeforeJob', {
      lambdaFunction: this.promotion,
      payload: TaskInput.fromObject({ step: 'failed', 'series.$': '$.series', 'error.$': '$.error' }),
      payloadResponseOnly: true,
      resultSelector: { 'promoted.$': '$.promoted' },
    });
    prepare.addCatch(recordFailureBeforeJob, { resultPath: '$.error' });
    train.addCatch(recordFailure, { resultPath: '$.error' });
    promote.addCatch(recordFailure, { resultPath: '$.error' });
    const perSeries: IChainable = prepare.next(train).next(promote);

    const cycle = new DistributedMap(this, 'EachSeries', {
      itemsPath: '$.series',
      itemSelector: {
        'series.$': '$$.Map.Item.Value',
        'startedAt.$': '$$.Execution.StartTime',
      },
      maxConcurrency: props.maxConcurrency ?? 4,
      // Each series' failure is recorded by RecordFailure; what still fails (the database is down) fails the cycle.
      toleratedFailurePercentage: 0,
      mapExecutionType: StateMachineType.STANDARD,
      // The decisions are in the registry (retraining_decisions); the cycle's own output is dropped.
      resultPath: JsonPath.DISCARD,
    });
    cycle.itemProcessor(perSeries);

    const logGroup = new LogGroup(this, 'StateMachineLogs', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: retain,
    });
    this.stateMachine = new StateMachine(this, 'Cycle', {
      comment: 'Pulse: monthly champion/challenger retraining of every active series',
      definitionBody: DefinitionBody.fromChainable(list.next(cycle)),
      timeout: Duration.hours(24),
      tracingEnabled: true,
      logs: { destination: logGroup, level: LogLevel.ALL, includeExecutionData: false },
    });
    const fnArn = (fn: NodejsFunction) => `<${stack.getLogicalId(fn.node.defaultChild as CfnElement)}.Arn>:*`;
    Validations.of(this.stateMachine).acknowledge(
      ...[this.trainingData, this.promotion].map((fn) => ({
        id: `AwsSolutions-IAM5[Resource::${fnArn(fn)}]`,
        reason:
          'Step Functions may invoke any version of its own two Lambda functions (the CDK LambdaInvoke grant).',
      })),
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'X-Ray trace segments and CloudWatch Logs log delivery have no resource-level permissions (the CDK grants of tracing and logging).',
      },
      {
        id: `AwsSolutions-IAM5[Resource::arn:${partition}:sagemaker:${region}:<AWS::AccountId>:training-job/*]`,
        reason:
          "The SageMaker .sync integration creates, describes and stops this account's training jobs; their names are made per run (pulse-<series>-…).",
      },
      ...[':*', '/*:*'].map((tail) => ({
        id: `AwsSolutions-IAM5[Resource::arn:${partition}:states:${region}:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${stack.getLogicalId(this.stateMachine.node.defaultChild as CfnElement)}"}]}]}${tail}]`,
        reason: "The Distributed Map's child executions of this very state machine (the CDK grant).",
      })),
    );

    if (props.schedule !== null) {
      this.schedule = new Rule(this, 'Schedule', {
        description: 'Pulse monthly retraining cycle',
        schedule: Schedule.expression(props.schedule ?? RETRAIN_CRON),
      });
      // series null: the cycle lists every active series itself (a manual start may name some).
      this.schedule.addTarget(
        new SfnStateMachine(this.stateMachine, {
          input: RuleTargetInput.fromObject({ series: null }),
          retryAttempts: 2,
        }),
      );
    }

    // A cycle that failed, timed out or was aborted, or a series whose retraining failed.
    const states = (metricName: string) =>
      new Metric({
        namespace: 'AWS/States',
        metricName,
        dimensionsMap: { StateMachineArn: this.stateMachine.stateMachineArn },
        statistic: 'Sum',
        period: Duration.hours(1),
      });
    this.alarm = new Alarm(this, 'FailedCycle', {
      alarmDescription:
        "A retraining cycle failed, timed out or was aborted, or a series could not be retrained (its served model stays; see the promotion function's log)",
      metric: new MathExpression({
        expression: 'FILL(failed, 0) + FILL(timedOut, 0) + FILL(aborted, 0) + FILL(series, 0)',
        usingMetrics: {
          failed: states('ExecutionsFailed'),
          timedOut: states('ExecutionsTimedOut'),
          aborted: states('ExecutionsAborted'),
          series: new Metric({
            namespace: METRICS_NAMESPACE,
            metricName: 'RetrainingFailedSeries',
            dimensionsMap: { service: 'pulse' },
            statistic: 'Sum',
            period: Duration.hours(1),
          }),
        },
        period: Duration.hours(1),
        label: 'failed retraining',
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.alarm.addAlarmAction(new SnsAction(props.alarmTopic));
    this.alarm.addOkAction(new SnsAction(props.alarmTopic));
  }
}
