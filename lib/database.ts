import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import {
  InstanceClass,
  InstanceSize,
  InstanceType,
  Port,
  type ISecurityGroup,
  type IVpc,
  type SubnetSelection,
} from 'aws-cdk-lib/aws-ec2';
import {
  CaCertificate,
  Credentials,
  DatabaseInstance,
  DatabaseInstanceEngine,
  DatabaseSecret,
  PostgresEngineVersion,
  StorageType,
} from 'aws-cdk-lib/aws-rds';
import { CfnRotationSchedule, CfnSecret, CfnSecretTargetAttachment } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct, type IConstruct } from 'constructs';

/** Login users created by the migrate function; each is granted one group role from 0002_roles.sql. */
export const LOGIN_USERS = {
  app: { username: 'pulse_app_user', groupRole: 'pulse_app' },
  reader: { username: 'pulse_reader_user', groupRole: 'pulse_reader' },
} as const;

/** PostgreSQL's default port; the security groups are the control, not the number. */
export const POSTGRES_PORT = 5432;

/** Characters that break connection strings or shell quoting; kept out of generated passwords. */
const EXCLUDED_PASSWORD_CHARACTERS = ` %+~\`#$&*()|[]{}:;<>?!'/@"\\=,.^`;

export interface PulseDatabaseProps {
  readonly vpc: IVpc;
  readonly subnets: SubnetSelection;
  /** Clients allowed on the PostgreSQL port: the functions' and Grafana's groups, nobody else. */
  readonly clients: readonly ISecurityGroup[];
  /**
   * Security group of the rotation functions (they connect to the database to change passwords). Its own
   * group: each rotation adds the rule admitting it, so it must not be one of `clients` (a second,
   * identical rule for the same group is rejected by EC2).
   */
  readonly rotationSecurityGroup: ISecurityGroup;
  /** Subnets of the rotation functions; they need a path to Secrets Manager. */
  readonly rotationSubnets: SubnetSelection;
  /**
   * Production: deletion protection, a final snapshot on delete, Multi-AZ, longer backups.
   * @default false
   */
  readonly production?: boolean;
  /** @default db.t4g.micro (db.t4g.small in production) */
  readonly instanceType?: InstanceType;
  /** @default 20 */
  readonly allocatedStorageGiB?: number;
  /** @default 'pulse' */
  readonly databaseName?: string;
  /** @default Duration.days(30) */
  readonly rotateEvery?: Duration;
}

/**
 * RDS PostgreSQL 17 in isolated subnets. Three secrets, each rotated by Secrets Manager: the master
 * (used only by the migrate function), the functions' login user, and Grafana's read-only login user.
 */
export class PulseDatabase extends Construct {
  public readonly instance: DatabaseInstance;
  public readonly databaseName: string;
  /** Master credentials: schema changes and user management, nothing else. */
  public readonly masterSecret: DatabaseSecret;
  /** Login user in group role pulse_app: what the scheduled functions connect as. */
  public readonly appSecret: DatabaseSecret;
  /** Login user in group role pulse_reader: what Grafana connects as. */
  public readonly readerSecret: DatabaseSecret;
  /**
   * The three rotation schedules. A schedule rotates as soon as it is created, so the stack makes them
   * wait for the migrate trigger: the multi-user rotations need the login users it creates, and a master
   * rotation while migrate connects would fail the first deploy.
   */
  public readonly rotationSchedules: CfnRotationSchedule[];
  /**
   * What a client of the database needs before it can connect (instance, security group rules, the
   * three secrets and their attachments), without the rotation schedules; the migrate trigger runs after these.
   */
  public readonly connectable: IConstruct[];

  constructor(scope: Construct, id: string, props: PulseDatabaseProps) {
    super(scope, id);
    const production = props.production ?? false;
    this.databaseName = props.databaseName ?? 'pulse';

    this.masterSecret = new DatabaseSecret(this, 'MasterSecret', {
      username: 'pulse_admin',
      excludeCharacters: EXCLUDED_PASSWORD_CHARACTERS,
    });
    this.instance = new DatabaseInstance(this, 'Instance', {
      engine: DatabaseInstanceEngine.postgres({ version: PostgresEngineVersion.VER_17 }),
      instanceType:
        props.instanceType ??
        InstanceType.of(
          InstanceClass.BURSTABLE4_GRAVITON,
          production ? InstanceSize.SMALL : InstanceSize.MICRO,
        ),
      vpc: props.vpc,
      vpcSubnets: props.subnets,
      credentials: Credentials.fromSecret(this.masterSecret),
      databaseName: this.databaseName,
      port: POSTGRES_PORT,
      allocatedStorage: props.allocatedStorageGiB ?? 20,
      maxAllocatedStorage: (props.allocatedStorageGiB ?? 20) * 5,
      storageType: StorageType.GP3,
      storageEncrypted: true,
      multiAz: production,
      publiclyAccessible: false,
      backupRetention: Duration.days(production ? 14 : 7),
      deleteAutomatedBackups: !production,
      deletionProtection: production,
      removalPolicy: production ? RemovalPolicy.SNAPSHOT : RemovalPolicy.DESTROY,
      autoMinorVersionUpgrade: true,
      caCertificate: CaCertificate.RDS_CA_RSA2048_G1,
      // TLS only: the functions set sslmode=require and Grafana's data source uses require too.
      parameters: { 'rds.force_ssl': '1', log_min_duration_statement: '2000' },
      cloudwatchLogsExports: ['postgresql'],
      enablePerformanceInsights: false,
    });
    if (props.clients.includes(props.rotationSecurityGroup))
      throw new Error(
        'the rotation security group must not be a database client too: the rule would be duplicated',
      );
    // Only the functions and Grafana; each rotation admits the rotation functions' group itself.
    for (const client of props.clients) {
      this.instance.connections.allowFrom(
        client,
        Port.tcp(POSTGRES_PORT),
        `PostgreSQL from ${client.node.id}`,
      );
    }

    const rotation = {
      automaticallyAfter: props.rotateEvery ?? Duration.days(30),
      vpcSubnets: props.rotationSubnets,
      securityGroup: props.rotationSecurityGroup,
    };
    this.instance.addRotationSingleUser(rotation);

    const loginSecret = (name: string, username: string): DatabaseSecret => {
      const secret = new DatabaseSecret(this, name, {
        username,
        dbname: this.databaseName,
        masterSecret: this.masterSecret,
        excludeCharacters: EXCLUDED_PASSWORD_CHARACTERS,
      });
      // Adds host, port and engine to the secret: the RDS format the rotation functions expect.
      const attached = secret.attach(this.instance);
      // Multi-user rotation alternates between `username` and `username_clone`, so the user that a
      // client just read stays valid for one more rotation period after the secret moves on.
      this.instance.addRotationMultiUser(`${name}Rotation`, { secret: attached, ...rotation });
      return secret;
    };
    this.appSecret = loginSecret('AppSecret', LOGIN_USERS.app.username);
    this.readerSecret = loginSecret('ReaderSecret', LOGIN_USERS.reader.username);

    const secrets = [this.masterSecret, this.appSecret, this.readerSecret];
    this.rotationSchedules = secrets.flatMap((secret) =>
      secret.node.findAll().filter((c): c is CfnRotationSchedule => c instanceof CfnRotationSchedule),
    );
    // The secrets themselves and their attachments, not the rotation schedules inside them.
    this.connectable = [
      this.instance,
      ...secrets.flatMap((secret) =>
        secret.node.findAll().filter((c) => c instanceof CfnSecret || c instanceof CfnSecretTargetAttachment),
      ),
    ];

    Validations.of(this.instance).acknowledge(
      {
        id: 'AwsSolutions-RDS11',
        reason:
          'A non-default port is obscurity, not a control; ingress is limited to two security groups and TLS is forced.',
      },
      ...(production
        ? []
        : [
            {
              id: 'AwsSolutions-RDS3',
              reason:
                'Non-production stacks run single-AZ to halve the instance cost; production sets multiAz.',
            },
            {
              id: 'AwsSolutions-RDS10',
              reason:
                'Non-production stacks can be torn down freely; production sets deletion protection and snapshots on delete.',
            },
          ]),
    );
  }

  /** The PostgreSQL port as CloudFormation gives it (a string token). */
  get port(): string {
    return this.instance.dbInstanceEndpointPort;
  }

  get host(): string {
    return this.instance.dbInstanceEndpointAddress;
  }
}
