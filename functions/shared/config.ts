import { z } from 'zod';
import { ConfigurationError } from '../../src/core/errors.ts';

const optionalNumber = <T extends number | undefined>(fallback: T) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return fallback as number | T;
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0) {
        ctx.addIssue({ code: 'custom', message: `must be a positive number, got "${v}"` });
        return z.NEVER;
      }
      return n;
    });

const EnvironmentSchema = z
  .object({
    DATABASE_URL: z.string().optional(),
    DATABASE_SECRET_ARN: z.string().optional(),
    DATABASE_HOST: z.string().optional(),
    // No default: unset, the port stored in the secret (else 5432) applies.
    DATABASE_PORT: optionalNumber(undefined),
    DATABASE_NAME: z.string().optional(),
    DATABASE_SSL: z.enum(['require', 'disable']).optional(),
    MODEL_DIR: z.string().optional(),
    STALE_AFTER_HOURS: optionalNumber(6),
    INGEST_SERIES: z.string().optional(),
    INGEST_TRAILING_HOURS: optionalNumber(14 * 24),
    INGEST_SECRET_ARN: z.string().optional(),
    AWS_LAMBDA_FUNCTION_NAME: z.string().optional(),
  })
  .refine((env) => env.DATABASE_URL || env.DATABASE_SECRET_ARN, {
    message: 'set DATABASE_URL (local) or DATABASE_SECRET_ARN (AWS)',
    path: ['DATABASE_URL'],
  });

export interface FunctionConfig {
  readonly databaseUrl?: string;
  readonly databaseSecretArn?: string;
  readonly databaseHost?: string;
  readonly databasePort?: number;
  readonly databaseName?: string;
  readonly databaseSsl: boolean;
  readonly modelDir: string;
  readonly staleAfterHours: number;
  readonly ingestSeries: string;
  readonly ingestTrailingHours: number;
  readonly ingestSecretArn?: string;
}

/** Reads and checks the environment once at start-up; a bad value names the variable. */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): FunctionConfig {
  const parsed = EnvironmentSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'environment'}: ${i.message}`);
    throw new ConfigurationError(`function configuration: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  const inLambda = Boolean(e.AWS_LAMBDA_FUNCTION_NAME);
  return {
    databaseUrl: e.DATABASE_URL,
    databaseSecretArn: e.DATABASE_SECRET_ARN,
    databaseHost: e.DATABASE_HOST,
    databasePort: e.DATABASE_PORT,
    databaseName: e.DATABASE_NAME,
    databaseSsl: (e.DATABASE_SSL ?? (e.DATABASE_URL ? 'disable' : 'require')) === 'require',
    modelDir: e.MODEL_DIR ?? (inLambda ? '/opt/models' : 'model-artifacts'),
    staleAfterHours: e.STALE_AFTER_HOURS,
    ingestSeries: e.INGEST_SERIES ?? 'turkey',
    ingestTrailingHours: e.INGEST_TRAILING_HOURS,
    ingestSecretArn: e.INGEST_SECRET_ARN,
  };
}
