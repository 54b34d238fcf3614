import path from 'node:path';
import { Duration, RemovalPolicy, Size, Validations } from 'aws-cdk-lib';
import type { ISecurityGroup, IVpc, SubnetSelection } from 'aws-cdk-lib/aws-ec2';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime, type ILayerVersion } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, type ICommandHooks } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { DEFAULT_METRICS_NAMESPACE } from '../src/adapters/config.ts';

/** The repository root: entries, the lock file and the files copied into bundles are found from here. */
export const REPO_ROOT = path.resolve(import.meta.dirname, '..');

/** The namespace the handlers publish to; PutMetricData is allowed for this namespace only. */
export const METRICS_NAMESPACE = DEFAULT_METRICS_NAMESPACE;

/** How every function is bundled (ESM for Node 22, minified); the bench builds its bundles with the same. */
export const BUNDLE = {
  target: 'node22',
  mainFields: ['module', 'main'],
  // Some dependencies are CommonJS and call require() for Node built-ins.
  banner:
    "import { createRequire as __pulseCreateRequire } from 'node:module'; const require = __pulseCreateRequire(import.meta.url);",
  minify: true,
  keepNames: true,
  sourceMap: false,
} as const;

/** The RDS certificate authorities (certs/), shipped in every bundle that connects to the database. */
export const RDS_CA_BUNDLE: BundledFile = {
  source: 'certs/rds-global-bundle.pem',
  target: 'rds-global-bundle.pem',
};

/** TLS of every database client in AWS: the server's certificate must chain to the RDS bundle and name the host. */
export const DATABASE_TLS_ENVIRONMENT = {
  DATABASE_SSL: 'verify-full',
  DATABASE_CA_BUNDLE: `/var/task/${RDS_CA_BUNDLE.target}`,
} as const;

/** Files copied next to a bundle, for code that reads them at run time (SQL migrations, dashboards). */
export interface BundledFile {
  /** Path relative to the repository root, or absolute. */
  readonly source: string;
  /** Path inside the bundle (the function sees it under /var/task). */
  readonly target: string;
}

export interface PulseFunctionProps {
  /** Entry file relative to the repository root, exporting `handler`. */
  readonly entry: string;
  readonly description: string;
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly environment?: Record<string, string>;
  /**
   * Concurrent executions reserved (and capped). 1 keeps two scheduled runs from overlapping.
   * @default no reservation
   */
  readonly reservedConcurrentExecutions?: number;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** @default none */
  readonly layers?: ILayerVersion[];
  /** Present for functions that connect to the database. @default outside any VPC */
  readonly vpc?: {
    readonly vpc: IVpc;
    readonly subnets: SubnetSelection;
    readonly securityGroup: ISecurityGroup;
  };
  /** Secrets the function reads; each is granted read access on its own ARN. @default none */
  readonly secrets?: ISecret[];
  /** Allow cloudwatch:PutMetricData in the Pulse namespace. @default false */
  readonly publishesMetrics?: boolean;
  /** @default none */
  readonly bundledFiles?: readonly BundledFile[];
  /** Kept out of the bundle because a layer provides them. @default none */
  readonly layerModules?: string[];
  /**
   * Bundle the AWS SDK instead of using the runtime's copy: pins the version for APIs newer than
   * the runtime may carry. @default false
   */
  readonly bundleAwsSdk?: boolean;
  /** Lambda's /tmp. @default 512 MiB */
  readonly ephemeralStorageMiB?: number;
  /** Whether log groups outlive the stack. @default RemovalPolicy.DESTROY */
  readonly logRemovalPolicy?: RemovalPolicy;
}

/**
 * A Pulse Lambda function: Node 22 on ARM64, bundled by the local esbuild into one ESM file, with an
 * explicit log group and only the permissions its props name.
 */
export class PulseFunction extends Construct {
  public readonly fn: NodejsFunction;

  constructor(scope: Construct, id: string, props: PulseFunctionProps) {
    super(scope, id);
    const logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.DESTROY,
    });
    const commandHooks: ICommandHooks | undefined = props.bundledFiles?.length
      ? {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (inputDir: string, outputDir: string) =>
            props.bundledFiles!.map(
              (f) =>
                `mkdir -p "${path.posix.dirname(`${outputDir}/${f.target}`)}" && cp "${path.isAbsolute(f.source) ? f.source : `${inputDir}/${f.source}`}" "${outputDir}/${f.target}"`,
            ),
        }
      : undefined;

    this.fn = new NodejsFunction(this, 'Function', {
      entry: path.join(REPO_ROOT, props.entry),
      handler: 'handler',
      description: props.description,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      logGroup,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      layers: props.layers,
      environment: props.environment,
      ...(props.ephemeralStorageMiB
        ? { ephemeralStorageSize: Size.mebibytes(props.ephemeralStorageMiB) }
        : {}),
      projectRoot: REPO_ROOT,
      depsLockFilePath: path.join(REPO_ROOT, 'package-lock.json'),
      ...(props.vpc
        ? { vpc: props.vpc.vpc, vpcSubnets: props.vpc.subnets, securityGroups: [props.vpc.securityGroup] }
        : {}),
      bundling: {
        forceDockerBundling: false,
        format: OutputFormat.ESM,
        ...BUNDLE,
        mainFields: [...BUNDLE.mainFields],
        // The runtime's AWS SDK v3, and modules that layers provide.
        externalModules: [...(props.bundleAwsSdk ? [] : ['@aws-sdk/*']), ...(props.layerModules ?? [])],
        commandHooks,
      },
    });

    for (const secret of props.secrets ?? []) secret.grantRead(this.fn);
    if (props.publishesMetrics) {
      this.fn.addToRolePolicy(
        new PolicyStatement({
          actions: ['cloudwatch:PutMetricData'],
          resources: ['*'],
          conditions: { StringEquals: { 'cloudwatch:namespace': METRICS_NAMESPACE } },
        }),
      );
    }
    acknowledgeLambdaDefaults(this.fn, Boolean(props.vpc), Boolean(props.publishesMetrics));
  }
}

/** The cdk-nag findings every Pulse function carries, each with its reason. */
function acknowledgeLambdaDefaults(fn: NodejsFunction, inVpc: boolean, publishesMetrics: boolean): void {
  Validations.of(fn).acknowledge(
    {
      id: 'AwsSolutions-L1',
      reason:
        'Pinned to Node.js 22 on purpose: the handlers, the onnxruntime-node N-API build and CI are tested on 22; moving runtime is a reviewed change.',
    },
    {
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason:
        "AWS-maintained policy for writing the function's own CloudWatch logs; the log group is created by the stack.",
    },
    ...(inVpc
      ? [
          {
            id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
            reason:
              'AWS-maintained policy that lets Lambda manage the network interfaces of a function in a VPC; it grants nothing else.',
          },
        ]
      : []),
    ...(publishesMetrics
      ? [
          {
            id: 'AwsSolutions-IAM5[Resource::*]',
            reason:
              'cloudwatch:PutMetricData has no resource-level permissions; the statement is limited to the Pulse namespace by a condition.',
          },
        ]
      : []),
  );
}
