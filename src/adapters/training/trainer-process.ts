import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ModelError } from '../../core/errors.ts';
import { TrainingReportSchema, type TrainingManifest, type TrainingReport } from './contract.ts';

/** Debian's Python with python3-torch (training/setup.sh); no PyPI. */
export const TRAINER_PYTHON = '/usr/bin/python3';
export const TRAINER_SCRIPT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../training/train.py');

export interface TrainerOptions {
  /** Receives each line the trainer prints; default: passed through to this process's stdout. */
  readonly onLine?: (line: string) => void;
  readonly python?: string;
  /** BLAS threads of the trainer process (each member process uses one). */
  readonly blasThreads?: number;
}

/**
 * Runs training/train.py on a manifest (one process; members fork inside it) and returns its report,
 * checked against the contract. A non-zero exit or a malformed report is a ModelError.
 */
export async function runTrainer(
  manifestPath: string,
  manifest: TrainingManifest,
  options: TrainerOptions = {},
): Promise<TrainingReport> {
  const python = options.python ?? TRAINER_PYTHON;
  const threads = String(options.blasThreads ?? 2);
  await new Promise<void>((ok, ko) => {
    const child = spawn(python, [TRAINER_SCRIPT, manifestPath], {
      stdio: options.onLine ? ['ignore', 'pipe', 'pipe'] : 'inherit',
      env: { ...process.env, OPENBLAS_NUM_THREADS: threads, OMP_NUM_THREADS: threads, PYTHONUNBUFFERED: '1' },
    });
    const tail: string[] = [];
    if (options.onLine) {
      let rest = '';
      const take = (chunk: Buffer) => {
        const lines = (rest + chunk.toString('utf8')).split('\n');
        rest = lines.pop() ?? '';
        for (const line of lines) {
          tail.push(line);
          if (tail.length > 20) tail.shift();
          options.onLine!(line);
        }
      };
      child.stdout!.on('data', take);
      child.stderr!.on('data', take);
    }
    child.on('error', (e) =>
      ko(new ModelError(`cannot start ${python}: ${e.message}; run npm run setup:training`, { cause: e })),
    );
    child.on('exit', (code) =>
      code === 0
        ? ok()
        : ko(
            new ModelError(
              `trainer ${TRAINER_SCRIPT} exited with code ${code} on ${manifestPath}${tail.length ? `:\n${tail.slice(-5).join('\n')}` : ''}`,
            ),
          ),
    );
  });
  return readTrainingReport(join(dirname(manifestPath), manifest.outputs.report));
}

export async function readTrainingReport(path: string): Promise<TrainingReport> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw new ModelError(`training report ${path} cannot be read: ${(e as Error).message}`, { cause: e });
  }
  const report = TrainingReportSchema.safeParse(parsed);
  if (!report.success) {
    throw new ModelError(
      `training report ${path} breaks the contract: ${report.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  return report.data;
}
