/**
 * Retries with exponential backoff and full jitter for failures that a brand-new workspace shows for a
 * minute or two (its DNS name not resolving yet, 502/503 from its load balancer, throttling), until a
 * deadline inside the custom resource's time limit. Anything else fails at once.
 */

export interface RetryPolicy {
  /** Epoch ms after which no new attempt starts (the handler's remaining time minus a margin). */
  readonly deadline: number;
  /** @default 1000 */
  readonly baseDelayMs?: number;
  /** @default 20000 */
  readonly maxDelayMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
  /** @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** @default Math.random */
  readonly random?: () => number;
  /** Called before each wait, for the log. */
  readonly onRetry?: (info: { what: string; attempt: number; delayMs: number; error: unknown }) => void;
}

/** Marks an error that is worth another attempt. */
export class TransientError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TransientError';
  }
}

/** HTTP statuses a healthy server answers while starting or overloaded. */
export const TRANSIENT_STATUSES: ReadonlySet<number> = new Set([408, 425, 429, 502, 503, 504]);

const TRANSIENT_CODES = new Set([
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_HEADERS_TIMEOUT',
]);

/** fetch() rejects with TypeError('fetch failed') and the system error as its cause, or a TimeoutError. */
export function isTransientNetworkError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === 'TimeoutError' || error.name === 'AbortError') return true;
  const cause = (error as { cause?: { code?: string } }).cause;
  return error instanceof TypeError && TRANSIENT_CODES.has(cause?.code ?? '');
}

export async function withRetry<T>(what: string, attempt: () => Promise<T>, policy: RetryPolicy): Promise<T> {
  const now = policy.now ?? Date.now;
  const sleep = policy.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const random = policy.random ?? Math.random;
  const base = policy.baseDelayMs ?? 1000;
  const cap = policy.maxDelayMs ?? 20_000;
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof TransientError)) throw error;
      const delayMs = Math.round(random() * Math.min(cap, base * 2 ** (n - 1)));
      if (now() + delayMs >= policy.deadline) {
        throw new Error(`${what} still failing after ${n} attempts, out of time: ${error.message}`, {
          cause: error,
        });
      }
      policy.onRetry?.({ what, attempt: n, delayMs, error });
      await sleep(delayMs);
    }
  }
}
