import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Duration } from 'aws-cdk-lib';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Trigger } from 'aws-cdk-lib/triggers';
import { Construct } from 'constructs';
import type { PulseDatabase } from './database.ts';
import type { PulseNetwork } from './network.ts';
import { parseSeriesConfigText, SERIES_CONFIG_FILE, type SeriesConfig } from '../src/core/series-config.ts';
import { DATABASE_TLS_ENVIRONMENT, PulseFunction, RDS_CA_BUNDLE, REPO_ROOT } from './pulse-function.ts';

/** The migration files, relative to the repository root; the same files `pulse` applies locally. */
export const MIGRATIONS_DIR = 'src/adapters/postgres/migrations';
/** Where the bundle carries them; runMigrations finds them through PULSE_MIGRATIONS_DIR. */
const BUNDLED_MIGRATIONS_DIR = 'migrations';

export function migrationFiles(): string[] {
  return readdirSync(path.join(REPO_ROOT, MIGRATIONS_DIR))
    .filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f))
    .sort();
}

export interface DatabaseMigrationsProps {
  readonly network: PulseNetwork;
  readonly database: PulseDatabase;
  /** The series configuration to apply on every deploy. @default the repository's pulse.config.json */
  readonly seriesConfigFile?: string;
}

/**
 * Reads and validates the series configuration at synth time: a bad file fails `cdk synth` with the
 * entry and field named, before anything is deployed.
 */
export function loadSeriesConfig(file: string): SeriesConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`cannot read the series configuration ${file}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return parseSeriesConfigText(text, path.relative(process.cwd(), file) || file);
}

/**
 * Runs functions/migrate at deploy time, after the database and its secrets exist: again whenever
 * the function changes, and a new migration file changes the bundle, so adding one is enough.
 */
export class DatabaseMigrations extends Construct {
  public readonly fn: NodejsFunction;
  public readonly trigger: Trigger;
  /** The validated series configuration the migrate function applies. */
  public readonly seriesConfig: SeriesConfig;

  constructor(scope: Construct, id: string, props: DatabaseMigrationsProps) {
    super(scope, id);
    const { network, database } = props;
    const configFile = path.resolve(props.seriesConfigFile ?? path.join(REPO_ROOT, SERIES_CONFIG_FILE));
    this.seriesConfig = loadSeriesConfig(configFile);
    this.fn = new PulseFunction(this, 'Migrate', {
      entry: 'functions/migrate/index.ts',
      description: 'Pulse: apply database migrations and set the login users (deploy time only)',
      memorySize: 256,
      timeout: Duration.minutes(5),
      vpc: {
        vpc: network.vpc,
        subnets: network.functionSubnets,
        securityGroup: network.functionsSecurityGroup,
      },
      secrets: [database.masterSecret, database.appSecret, database.readerSecret],
      // The configuration is part of the bundle, so a changed file re-runs the trigger on the next deploy.
      bundledFiles: [
        ...migrationFiles().map((f) => ({
          source: `${MIGRATIONS_DIR}/${f}`,
          target: `${BUNDLED_MIGRATIONS_DIR}/${f}`,
        })),
        { source: configFile, target: SERIES_CONFIG_FILE },
        RDS_CA_BUNDLE,
      ],
      environment: {
        MASTER_SECRET_ARN: database.masterSecret.secretArn,
        APP_SECRET_ARN: database.appSecret.secretArn,
        READER_SECRET_ARN: database.readerSecret.secretArn,
        DATABASE_HOST: database.host,
        DATABASE_PORT: database.port,
        DATABASE_NAME: database.databaseName,
        ...DATABASE_TLS_ENVIRONMENT,
        PULSE_MIGRATIONS_DIR: `/var/task/${BUNDLED_MIGRATIONS_DIR}`,
        PULSE_SERIES_CONFIG: `/var/task/${SERIES_CONFIG_FILE}`,
      },
    }).fn;
    this.trigger = new Trigger(this, 'Run', {
      handler: this.fn,
      timeout: Duration.minutes(5),
      executeOnHandlerChange: true,
      // Not after the whole database construct: its rotation schedules wait for this trigger.
      executeAfter: database.connectable,
    });
  }
}
