import {
  FlowLogDestination,
  FlowLogTrafficType,
  GatewayVpcEndpointAwsService,
  InterfaceVpcEndpointAwsService,
  IpAddresses,
  Port,
  SecurityGroup,
  SubnetType,
  Vpc,
  type SubnetSelection,
} from 'aws-cdk-lib/aws-ec2';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/**
 * How functions inside the VPC reach AWS APIs and the internet.
 * - `nat`: one NAT gateway. Every function reaches Secrets Manager, CloudWatch and the ingest
 *   source (the EPİAŞ API is on the internet) through it.
 * - `endpoints`: no internet path at all; interface endpoints for Secrets Manager, CloudWatch
 *   monitoring and CloudWatch Logs. The ingest function cannot reach an internet source, so the
 *   stack does not deploy it; actuals are then loaded with `pulse` from outside.
 */
export type Egress = 'nat' | 'endpoints';

export interface PulseNetworkProps {
  /** @default 'nat' */
  readonly egress?: Egress;
  /**
   * Availability zones; RDS needs subnets in two even for a single-AZ instance.
   * @default 2
   */
  readonly maxAzs?: number;
  /** @default RetentionDays.ONE_MONTH */
  readonly flowLogRetention?: RetentionDays;
}

/** The VPC, its way out, and the security groups that decide who reaches the database. */
export class PulseNetwork extends Construct {
  public readonly vpc: Vpc;
  public readonly egress: Egress;
  /** Subnets for the functions that talk to the database. */
  public readonly functionSubnets: SubnetSelection;
  /** Subnets for the database: never a route to the internet. */
  public readonly databaseSubnets: SubnetSelection;
  /** Carried by every Pulse function that connects to the database. */
  public readonly functionsSecurityGroup: SecurityGroup;
  /** Carried by the Secrets Manager rotation functions (they connect to the database to change passwords). */
  public readonly rotationSecurityGroup: SecurityGroup;
  /** Carried by the Grafana workspace's network interfaces in the VPC. */
  public readonly grafanaSecurityGroup: SecurityGroup;

  constructor(scope: Construct, id: string, props: PulseNetworkProps = {}) {
    super(scope, id);
    this.egress = props.egress ?? 'nat';
    const nat = this.egress === 'nat';

    this.vpc = new Vpc(this, 'Vpc', {
      ipAddresses: IpAddresses.cidr('10.40.0.0/16'),
      maxAzs: props.maxAzs ?? 2,
      natGateways: nat ? 1 : 0,
      subnetConfiguration: [
        ...(nat ? [{ name: 'public', subnetType: SubnetType.PUBLIC, cidrMask: 24 }] : []),
        {
          name: 'app',
          subnetType: nat ? SubnetType.PRIVATE_WITH_EGRESS : SubnetType.PRIVATE_ISOLATED,
          cidrMask: 22,
        },
        { name: 'data', subnetType: SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
      ],
      restrictDefaultSecurityGroup: true,
    });
    this.functionSubnets = { subnetGroupName: 'app' };
    this.databaseSubnets = { subnetGroupName: 'data' };

    // Rejected traffic only: enough to investigate a blocked connection, a fraction of the cost of ALL.
    this.vpc.addFlowLog('RejectedFlows', {
      trafficType: FlowLogTrafficType.REJECT,
      destination: FlowLogDestination.toCloudWatchLogs(
        new LogGroup(this, 'FlowLogs', { retention: props.flowLogRetention ?? RetentionDays.ONE_MONTH }),
      ),
    });

    this.functionsSecurityGroup = new SecurityGroup(this, 'FunctionsSg', {
      vpc: this.vpc,
      description: 'Pulse functions: out to AWS APIs, the ingest source and the database',
      allowAllOutbound: true,
    });
    this.rotationSecurityGroup = new SecurityGroup(this, 'RotationSg', {
      vpc: this.vpc,
      description: 'Pulse secret rotation functions: out to Secrets Manager and the database',
      allowAllOutbound: true,
    });
    this.grafanaSecurityGroup = new SecurityGroup(this, 'GrafanaSg', {
      vpc: this.vpc,
      description: 'Amazon Managed Grafana network interfaces: out to the database only',
      allowAllOutbound: false,
    });

    // Free, and the only way to the model store when there is no internet egress; with NAT it keeps the
    // model downloads and training data off the NAT gateway's per-GB charge.
    this.vpc.addGatewayEndpoint('S3', {
      service: GatewayVpcEndpointAwsService.S3,
      subnets: [this.functionSubnets],
    });

    if (!nat) {
      for (const [name, service] of [
        ['SecretsManager', InterfaceVpcEndpointAwsService.SECRETS_MANAGER],
        ['Monitoring', InterfaceVpcEndpointAwsService.CLOUDWATCH_MONITORING],
        ['Logs', InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS],
      ] as const) {
        const endpoint = this.vpc.addInterfaceEndpoint(name, {
          service,
          subnets: this.functionSubnets,
          open: false,
        });
        endpoint.connections.allowFrom(
          this.functionsSecurityGroup,
          Port.tcp(443),
          'HTTPS from the Pulse functions',
        );
        if (name === 'SecretsManager') {
          endpoint.connections.allowFrom(
            this.rotationSecurityGroup,
            Port.tcp(443),
            'HTTPS from the secret rotation functions',
          );
        }
      }
    }
  }
}
