import { SourceError } from '../../core/errors.ts';

/** Bounded retries for transient failures (5xx, timeouts, dropped connections). */
export interface RetryPolicy {
  /** Total attempts, including the first; ≥ 1. */
  readonly attempts: number;
  /** Delay before the second attempt; doubles for each further one. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export interface TransportOptions {
  /** Per attempt, covering connect, headers and body. */
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
}

export const DEFAULT_TRANSPORT: TransportOptions = {
  timeoutMs: 30_000,
  retry: { attempts: 3, baseDelayMs: 500, maxDelayMs: 8_000 },
};

export interface OutgoingRequest {
  /** Source name, first word of every message. */
  readonly source: string;
  readonly method: 'GET' | 'POST';
  readonly url: URL;
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

export interface HttpReply {
  readonly status: number;
  readonly text: string;
}

/**
 * Where a message says a request went: method and path only. The query string and headers can
 * carry API keys or tickets, so they never appear in a message.
 */
export function describeRequest(req: Pick<OutgoingRequest, 'source' | 'method' | 'url'>): string {
  return `${req.source} source: ${req.method} ${req.url.pathname}`;
}

/** Removes every occurrence of the given secrets from a message (a last line of defence). */
export function redact(message: string, secrets: readonly (string | undefined)[]): string {
  let out = message;
  for (const secret of secrets) {
    if (secret && secret.length >= 4) out = out.split(secret).join('[redacted]');
  }
  return out;
}

function isAbortFromCaller(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function networkCause(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown } } | undefined)?.cause;
  const code = typeof cause?.code === 'string' ? cause.code : undefined;
  return code ? `network error ${code}` : 'network error';
}

/**
 * Sends one request with a per-attempt timeout, retrying 5xx replies, timeouts and network errors
 * with exponential backoff. Any other status is returned to the caller, who knows what a 401 or a
 * 404 means for its protocol. The caller's signal cancels at once, without retries.
 */
export async function sendWithRetry(
  req: OutgoingRequest,
  options: TransportOptions,
  signal?: AbortSignal,
): Promise<HttpReply> {
  const where = describeRequest(req);
  const attempts = Math.max(1, Math.floor(options.retry.attempts));
  let lastProblem = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (attempt > 1) {
      const delay = Math.min(options.retry.maxDelayMs, options.retry.baseDelayMs * 2 ** (attempt - 2));
      try {
        await sleep(delay, signal);
      } catch (error) {
        throw new SourceError(`${where}: cancelled by the caller`, { cause: error });
      }
    }
    const timeout = AbortSignal.timeout(options.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    try {
      const response = await fetch(req.url, {
        method: req.method,
        headers: req.headers,
        body: req.body,
        signal: combined,
        // A redirect could carry the ticket or an API key to another host: report it instead.
        redirect: 'manual',
      });
      // Read the body under the same signal, so a server that stalls mid-body also times out.
      const text = await response.text();
      if (response.status >= 500) {
        lastProblem = `HTTP ${response.status}`;
        continue;
      }
      return { status: response.status, text };
    } catch (error) {
      if (isAbortFromCaller(signal)) {
        throw new SourceError(`${where}: cancelled by the caller`, { cause: error });
      }
      lastProblem = timeout.aborted ? `timed out after ${options.timeoutMs} ms` : networkCause(error);
    }
  }
  const tries = attempts === 1 ? '1 attempt' : `${attempts} attempts`;
  throw new SourceError(`${where}: ${lastProblem} (gave up after ${tries})`);
}

/**
 * One source's side of HTTP, shared by every adapter under sources/: its name (the first word of every
 * message), its transport settings, and the secrets its messages must never carry.
 */
export class SourceClient {
  constructor(
    readonly source: string,
    private readonly transport: TransportOptions = DEFAULT_TRANSPORT,
    /** Read when a message leaves, so secrets learnt later (a ticket, a password) are covered too. */
    private readonly secrets: () => readonly (string | undefined)[] = () => [],
  ) {}

  /** Sends with the source's timeout and retries (see sendWithRetry). */
  send(request: Omit<OutgoingRequest, 'source'>, signal?: AbortSignal): Promise<HttpReply> {
    return sendWithRetry({ source: this.source, ...request }, this.transport, signal);
  }

  /** `<source> source: METHOD /path`, the start of a message about that request. */
  where(request: Pick<OutgoingRequest, 'method' | 'url'>): string {
    return describeRequest({ source: this.source, ...request });
  }

  /**
   * Runs the work; a SourceError it raises leaves with every secret removed from its message. Messages are
   * built without secrets, so this is the last line of defence against a server echoing one back.
   */
  async guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (!(error instanceof SourceError)) throw error;
      const message = redact(error.message, this.secrets());
      throw message === error.message ? error : new SourceError(message);
    }
  }
}
