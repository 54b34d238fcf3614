import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { figure, type Figure, type Section } from './figures.ts';
import type { HourlyMeasurement } from './pipeline.ts';

/**
 * On-demand list prices assumed, us-east-1 (N. Virginia), USD, as of mid-2025 from the AWS pricing
 * pages; this machine cannot reach AWS, so they were not fetched at bench time: re-check before quoting.
 */
export const PRICES = {
  region: 'us-east-1',
  asOf: '2025-07 (list prices, not fetched at bench time)',
  lambdaArmGbSecond: 0.0000133334,
  lambdaRequestPerMillion: 0.2,
  rdsT4gMicroHour: 0.016,
  rdsT4gSmallHour: 0.032,
  rdsT4gMediumHour: 0.065,
  rdsGp3GbMonth: 0.115,
  grafanaEditorMonth: 9,
  grafanaViewerMonth: 5,
  cloudwatchAlarmMonth: 0.1,
  cloudwatchMetricMonth: 0.3,
  cloudwatchLogsIngestGb: 0.5,
  secretMonth: 0.4,
  secretApiPer10k: 0.05,
  kmsKeyMonth: 1,
  natGatewayHour: 0.045,
  natGatewayGb: 0.045,
  publicIpv4Hour: 0.005,
  interfaceEndpointAzHour: 0.01,
} as const;

const HOURS_PER_MONTH = 730;

/** What the synthesized stack contains (cdk.out/Pulse.template.json), or the lib/ defaults without a synth. */
interface StackShape {
  readonly source: string;
  readonly forecastMemoryMb: number;
  readonly evaluateMemoryMb: number;
  readonly ingestMemoryMb: number;
  readonly alarms: number;
  readonly secrets: number;
  readonly kmsKeys: number;
  readonly natGateways: number;
  readonly interfaceEndpoints: number;
  readonly dbInstanceClass: string;
  readonly multiAz: boolean;
  readonly allocatedStorageGb: number;
}

function stackShape(repoRoot: string): StackShape {
  const defaults: StackShape = {
    source: 'lib/ defaults (no cdk.out template)',
    forecastMemoryMb: 1024,
    evaluateMemoryMb: 512,
    ingestMemoryMb: 256,
    alarms: 8,
    secrets: 4,
    kmsKeys: 1,
    natGateways: 1,
    interfaceEndpoints: 0,
    dbInstanceClass: 'db.t4g.micro',
    multiAz: false,
    allocatedStorageGb: 20,
  };
  const path = join(repoRoot, 'cdk.out', 'Pulse.template.json');
  if (!existsSync(path)) return defaults;
  try {
    const resources = Object.values(
      (
        JSON.parse(readFileSync(path, 'utf8')) as {
          Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
        }
      ).Resources,
    );
    const of = (type: string) => resources.filter((r) => r.Type === type);
    const fn = (word: string) =>
      of('AWS::Lambda::Function').find((r) =>
        String(r.Properties?.Description ?? '').startsWith(`Pulse: ${word}`),
      )?.Properties?.MemorySize as number | undefined;
    const db = of('AWS::RDS::DBInstance')[0]?.Properties ?? {};
    return {
      source: 'cdk.out/Pulse.template.json',
      forecastMemoryMb: fn('forecast') ?? defaults.forecastMemoryMb,
      evaluateMemoryMb: fn('score') ?? defaults.evaluateMemoryMb,
      ingestMemoryMb: fn('pull') ?? defaults.ingestMemoryMb,
      alarms: of('AWS::CloudWatch::Alarm').length,
      secrets: of('AWS::SecretsManager::Secret').length,
      kmsKeys: of('AWS::KMS::Key').length,
      natGateways: of('AWS::EC2::NatGateway').length,
      interfaceEndpoints: of('AWS::EC2::VPCEndpoint').filter(
        (r) => r.Properties?.VpcEndpointType === 'Interface',
      ).length,
      dbInstanceClass: String(db.DBInstanceClass ?? defaults.dbInstanceClass),
      multiAz: db.MultiAZ === true,
      allocatedStorageGb: Number(db.AllocatedStorage ?? defaults.allocatedStorageGb),
    };
  } catch {
    return defaults;
  }
}

export interface CostInputs {
  readonly hourly: readonly HourlyMeasurement[];
  /** Median cold start (import + first event) of the forecast function, ms. */
  readonly coldStartMs: number;
  /** Bytes one series adds to the database in a year with the default retention (storage section). */
  readonly bytesPerSeriesYear: number;
}

/** Assumptions that are not measured here, stated next to the numbers. */
const ASSUMED = {
  /** Ingest is outside this bench: an HTTPS pull of 14 days from the source, per series per hour. */
  ingestMsPerSeries: 2000,
  grafanaEditors: 1,
  grafanaViewers: 2,
  customMetrics: 8,
  logsGbPerMonth: 0.05,
  azs: 2,
  natGbPerMonth: 1,
};

export function estimateCost(repoRoot: string, inputs: CostInputs): Section {
  const stack = stackShape(repoRoot);
  const P = PRICES;
  const figures: Figure[] = [];
  const breakdown: Record<string, Record<string, number>> = {};
  for (const m of inputs.hourly) {
    const n = m.series;
    // Each hourly invoke meets a cold container (idle > the keep-alive); INIT is billed since 2025-08-01.
    const forecastGbS =
      HOURS_PER_MONTH * ((inputs.coldStartMs + m.forecastMs) / 1000) * (stack.forecastMemoryMb / 1024);
    const evaluateGbS =
      HOURS_PER_MONTH * ((inputs.coldStartMs + m.evaluateMs) / 1000) * (stack.evaluateMemoryMb / 1024);
    const ingestGbS =
      HOURS_PER_MONTH * n * (ASSUMED.ingestMsPerSeries / 1000) * (stack.ingestMemoryMb / 1024);
    const requests = HOURS_PER_MONTH * (2 + n);
    const lambda =
      (forecastGbS + evaluateGbS + ingestGbS) * P.lambdaArmGbSecond +
      (requests / 1e6) * P.lambdaRequestPerMillion;
    // docs/deploy.md's sizing: db.t4g.medium (4 GB) from 1,000 series.
    const instance = n >= 1000 ? 'db.t4g.medium' : stack.dbInstanceClass;
    const instanceHour = instance.includes('medium')
      ? P.rdsT4gMediumHour
      : instance.includes('small')
        ? P.rdsT4gSmallHour
        : P.rdsT4gMicroHour;
    const rdsInstance = instanceHour * HOURS_PER_MONTH * (stack.multiAz ? 2 : 1);
    const dataGbAfterYear = (n * inputs.bytesPerSeriesYear) / 1024 ** 3;
    const storageGb = Math.max(stack.allocatedStorageGb, Math.ceil(dataGbAfterYear));
    const rdsStorage = storageGb * P.rdsGp3GbMonth * (stack.multiAz ? 2 : 1);
    const grafana =
      ASSUMED.grafanaEditors * P.grafanaEditorMonth + ASSUMED.grafanaViewers * P.grafanaViewerMonth;
    const cloudwatch =
      stack.alarms * P.cloudwatchAlarmMonth +
      ASSUMED.customMetrics * P.cloudwatchMetricMonth +
      ASSUMED.logsGbPerMonth * P.cloudwatchLogsIngestGb;
    const secrets =
      stack.secrets * P.secretMonth +
      ((HOURS_PER_MONTH * 3) / 10_000) * P.secretApiPer10k +
      stack.kmsKeys * P.kmsKeyMonth;
    const network =
      stack.natGateways * (P.natGatewayHour + P.publicIpv4Hour) * HOURS_PER_MONTH +
      stack.natGateways * ASSUMED.natGbPerMonth * P.natGatewayGb +
      stack.interfaceEndpoints * ASSUMED.azs * P.interfaceEndpointAzHour * HOURS_PER_MONTH;
    const parts = { lambda, rdsInstance, rdsStorage, grafana, cloudwatch, secrets, network };
    const total = Object.values(parts).reduce((a, b) => a + b, 0);
    breakdown[`series_${n}`] = {
      ...parts,
      total,
      dataGbAfterYear,
      storageGb,
      forecastGbS,
      evaluateGbS,
      ingestGbS,
    };
    figures.push(
      figure({
        id: `cost.${n}`,
        label: `Monthly AWS cost, ${n} series`,
        value: total,
        unit: 'USD',
        note:
          `Lambda $${lambda.toFixed(2)}, RDS ${instance} $${rdsInstance.toFixed(2)} + ${storageGb} GB $${rdsStorage.toFixed(2)}, ` +
          `Grafana $${grafana.toFixed(2)}, CloudWatch $${cloudwatch.toFixed(2)}, Secrets+KMS $${secrets.toFixed(2)}, ` +
          `NAT/endpoints $${network.toFixed(2)}; data after 12 months ${dataGbAfterYear.toFixed(1)} GB`,
      }),
    );
  }
  const lines = [
    `Region ${P.region}, on-demand list prices as of ${P.asOf}; free tiers ignored; 730 h/month.`,
    `Lambda arm64 $${P.lambdaArmGbSecond}/GB-s + $${P.lambdaRequestPerMillion}/1M requests; memory as synthesized (forecast ${stack.forecastMemoryMb} MB, evaluate ${stack.evaluateMemoryMb} MB, ingest ${stack.ingestMemoryMb} MB; ${stack.source}).`,
    `Billed duration per hourly invoke = measured cold start (${inputs.coldStartMs.toFixed(0)} ms, INIT billed since 2025-08-01) + measured warm run for N series; ingest assumed ${ASSUMED.ingestMsPerSeries} ms per series per hour (not measured).`,
    `RDS PostgreSQL db.t4g.micro $${P.rdsT4gMicroHour}/h, db.t4g.small $${P.rdsT4gSmallHour}/h, db.t4g.medium $${P.rdsT4gMediumHour}/h (medium from 1,000 series, as docs/deploy.md sizes it), ${stack.multiAz ? 'Multi-AZ (×2)' : 'Single-AZ'}; gp3 $${P.rdsGp3GbMonth}/GB-month, at least the ${stack.allocatedStorageGb} GB allocated, more when a year of data needs it (${(inputs.bytesPerSeriesYear / 1024 ** 2).toFixed(1)} MB per series, measured by the storage section: actuals, forecasts, scores and error sums with the default retention).`,
    `Managed Grafana $${P.grafanaEditorMonth}/editor, $${P.grafanaViewerMonth}/viewer per month (assumed ${ASSUMED.grafanaEditors} editor + ${ASSUMED.grafanaViewers} viewers).`,
    `CloudWatch $${P.cloudwatchAlarmMonth}/alarm (${stack.alarms}), $${P.cloudwatchMetricMonth}/custom metric (${ASSUMED.customMetrics} assumed), logs $${P.cloudwatchLogsIngestGb}/GB ingested.`,
    `Secrets Manager $${P.secretMonth}/secret (${stack.secrets}) + $${P.secretApiPer10k}/10k calls; KMS $${P.kmsKeyMonth}/key (${stack.kmsKeys}).`,
    `Network: ${stack.natGateways} NAT gateway $${P.natGatewayHour}/h + public IPv4 $${P.publicIpv4Hour}/h + $${P.natGatewayGb}/GB; ${stack.interfaceEndpoints} interface endpoints × ${ASSUMED.azs} AZ at $${P.interfaceEndpointAzHour}/AZ-h (egress 'endpoints' instead of NAT would cost 3 × 2 × $${P.interfaceEndpointAzHour} × 730 = $${(3 * 2 * P.interfaceEndpointAzHour * 730).toFixed(2)}).`,
  ];
  return {
    id: 'cost',
    title: 'Monthly AWS cost estimate',
    method: lines.join(' '),
    figures,
    details: { prices: P, assumed: ASSUMED, stack, breakdown, assumptions: lines },
  };
}

/**
 * Prices of one retraining cycle (lib/retraining.ts), us-east-1 list prices as of mid-2025, not
 * fetched at bench time (this machine cannot reach AWS): re-check before quoting.
 */
export const RETRAINING_PRICES = {
  /** SageMaker training, ml.c5.xlarge (4 vCPU, 8 GiB), per hour, billed per second. */
  sagemakerC5XlargeHour: 0.204,
  lambdaArmGbSecond: PRICES.lambdaArmGbSecond,
  lambdaRequestPerMillion: PRICES.lambdaRequestPerMillion,
  /** Step Functions standard workflows, per state transition. */
  stepFunctionsTransition: 0.000025,
  s3PutPer1000: 0.005,
  s3GetPer1000: 0.0004,
  s3GbMonth: 0.023,
} as const;

export interface RetrainingCycleInputs {
  /** Wall time of the trainer (train.py) for one series, seconds. */
  readonly trainerSeconds: number;
  /** Billable SageMaker time beyond the trainer: downloading the image's layers and the tensors, seconds. */
  readonly jobOverheadSeconds: number;
  /** Training-data Lambda: reading the actuals and building the tensors, seconds (upload not included). */
  readonly prepareSeconds: number;
  /** Promotion Lambda: parity, test back-test, both back-tests of the decision, seconds. */
  readonly promoteSeconds: number;
  /** Bytes of tensors staged per series (kept 30 days). */
  readonly tensorBytes: number;
  /** Files staged per series (PUTs by the Lambda, GETs by SageMaker). */
  readonly tensorFiles: number;
  /** Memory of both Lambdas, MB (lib/retraining.ts). */
  readonly lambdaMemoryMb: number;
}

/** The AWS cost of retraining one series once, by part, USD. */
export function retrainingCycleCost(inputs: RetrainingCycleInputs): Record<string, number> {
  const P = RETRAINING_PRICES;
  const gb = inputs.lambdaMemoryMb / 1024;
  const parts = {
    sagemaker: ((inputs.trainerSeconds + inputs.jobOverheadSeconds) / 3600) * P.sagemakerC5XlargeHour,
    lambda:
      (inputs.prepareSeconds + inputs.promoteSeconds) * gb * P.lambdaArmGbSecond +
      (3 / 1e6) * P.lambdaRequestPerMillion,
    // Prepare, Train (+ its polling rule), Promote, the child execution's start and end: about 8.
    stepFunctions: 8 * P.stepFunctionsTransition,
    s3:
      ((inputs.tensorFiles + 3) / 1000) * P.s3PutPer1000 +
      ((inputs.tensorFiles + 8) / 1000) * P.s3GetPer1000 +
      (inputs.tensorBytes / 1024 ** 3) * P.s3GbMonth,
  };
  return { ...parts, total: Object.values(parts).reduce((a, b) => a + b, 0) };
}
