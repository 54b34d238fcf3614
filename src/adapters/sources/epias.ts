/**
 * EPİAŞ Transparency Platform, real-time consumption for Türkiye.
 *
 * Everything this adapter knows about the wire format comes from public client code, not official
 * documentation; it is kept here, in one place, with a recorded-format fixture in
 * test/fixtures/sources/epias-realtime-consumption.json:
 * - ticket: POST {auth}/cas/v1/tickets, form `username`, `password`; plain-text reply `TGT-...`.
 *   A ticket lives about two hours and must be reused: asking for one per call can block the account.
 * - data: POST {api}/electricity-service/v1/consumption/data/realtime-consumption, header `TGT`,
 *   JSON `{ startDate, endDate }` in +03:00; reply `{ items: [{ date, time, consumption }] }`,
 *   `date` being the hour start at +03:00 and `consumption` MWh.
 */
import { SourceError } from '../../core/errors.ts';
import type { ActualsSource, FetchedActual, HourRange } from '../../core/ports/actuals-source.ts';
import { HOUR_MS } from '../../core/time.ts';
import { checkHourStart, checkRange, checkValue, collectInRange, splitRange } from './items.ts';
import { SourceClient, type TransportOptions } from './transport.ts';

export const EPIAS_DEFAULT_AUTH_URL = 'https://giris.epias.com.tr';
export const EPIAS_DEFAULT_API_URL = 'https://seffaflik.epias.com.tr';
const TICKET_PATH = '/cas/v1/tickets';
const REALTIME_CONSUMPTION_PATH = '/electricity-service/v1/consumption/data/realtime-consumption';
/** Türkiye has stayed on UTC+3 all year since 2016; the service speaks that offset. */
const TURKEY_OFFSET_MS = 3 * HOUR_MS;

export interface EpiasCredentials {
  readonly username: string;
  readonly password: string;
}

export interface EpiasSourceOptions {
  /** Origin (optionally with a path prefix) of the ticket service; default https://giris.epias.com.tr. */
  readonly authUrl?: string;
  /** Origin (optionally with a path prefix) of the transparency service; default https://seffaflik.epias.com.tr. */
  readonly apiUrl?: string;
  /** Called when a ticket is needed (at most once per ticket lifetime), e.g. reading Secrets Manager. */
  readonly getCredentials: () => Promise<EpiasCredentials>;
  /** How long a ticket is reused; a little under the service's two hours. */
  readonly ticketTtlMs?: number;
  /** Hours per data request; long ranges are split. Default 31 days. */
  readonly maxHoursPerRequest?: number;
  readonly transport?: TransportOptions;
  /** Injected so tests can age the ticket without waiting two hours. */
  readonly now?: () => number;
}

export const EPIAS_TICKET_TTL_MS = 110 * 60_000;
export const EPIAS_MAX_HOURS_PER_REQUEST = 31 * 24;

/** `2025-01-01T00:00:00+03:00` for the hour starting at the given UTC ms. */
export function toTurkeyIso(ms: number): string {
  return `${new Date(ms + TURKEY_OFFSET_MS).toISOString().slice(0, 19)}+03:00`;
}

function joinUrl(base: string, path: string): URL {
  const url = new URL(base);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}${path}`;
  return url;
}

interface CachedTicket {
  readonly value: string;
  readonly expiresAt: number;
}

export class EpiasRealtimeConsumptionSource implements ActualsSource {
  readonly name = 'epias';
  private readonly ticketUrl: URL;
  private readonly dataUrl: URL;
  private readonly client: SourceClient;
  private readonly ticketTtlMs: number;
  private readonly maxHours: number;
  private readonly now: () => number;
  private ticket: CachedTicket | undefined;
  /** Concurrent fetches share one ticket request instead of each asking for their own. */
  private pendingTicket: Promise<string> | undefined;
  /** Secrets seen so far, scrubbed from every message this adapter raises. */
  private readonly secrets = new Set<string>();

  constructor(private readonly options: EpiasSourceOptions) {
    this.ticketUrl = joinUrl(options.authUrl ?? EPIAS_DEFAULT_AUTH_URL, TICKET_PATH);
    this.dataUrl = joinUrl(options.apiUrl ?? EPIAS_DEFAULT_API_URL, REALTIME_CONSUMPTION_PATH);
    this.client = new SourceClient(this.name, options.transport, () => [...this.secrets]);
    this.ticketTtlMs = options.ticketTtlMs ?? EPIAS_TICKET_TTL_MS;
    this.maxHours = options.maxHoursPerRequest ?? EPIAS_MAX_HOURS_PER_REQUEST;
    this.now = options.now ?? Date.now;
  }

  fetch(range: HourRange, signal?: AbortSignal): Promise<FetchedActual[]> {
    return this.client.guard(async () => {
      checkRange(this.name, range);
      const out: FetchedActual[] = [];
      // One chunk after another: the service is shared and rate-limited, parallel requests gain little.
      for (const chunk of splitRange(range, this.maxHours)) {
        out.push(...(await this.fetchChunk(chunk, signal)));
      }
      return out;
    });
  }

  private async fetchChunk(chunk: HourRange, signal: AbortSignal | undefined): Promise<FetchedActual[]> {
    const body = JSON.stringify({
      startDate: toTurkeyIso(chunk.from),
      endDate: toTurkeyIso(chunk.to - HOUR_MS),
    });
    let ticket = await this.getTicket(signal);
    let reply = await this.postData(ticket, body, signal);
    if (reply.status === 401) {
      // The ticket expired early or was revoked: renew once and retry once, never more.
      this.invalidate(ticket);
      ticket = await this.getTicket(signal);
      reply = await this.postData(ticket, body, signal);
      if (reply.status === 401) {
        throw new SourceError(
          `${this.where('data')}: HTTP 401 again with a freshly issued ticket; the account may lack access to this service`,
        );
      }
    }
    if (reply.status < 200 || reply.status > 299) {
      throw new SourceError(`${this.where('data')}: HTTP ${reply.status}`);
    }
    return this.parseReply(reply.text, chunk);
  }

  private parseReply(text: string, chunk: HourRange): FetchedActual[] {
    const where = this.where('data');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new SourceError(`${where}: malformed body, not JSON (${(error as Error).message})`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new SourceError(`${where}: malformed body, expected an object with "items"`);
    }
    const items = (parsed as { items?: unknown }).items;
    if (!Array.isArray(items)) {
      throw new SourceError(
        `${where}: malformed body, "items" is ${items === undefined ? 'missing' : 'not an array'}`,
      );
    }
    const checked = items.map((item: unknown, index) => {
      if (typeof item !== 'object' || item === null) {
        throw new SourceError(`${where}: items[${index}] is not an object`);
      }
      const record = item as Record<string, unknown>;
      const hour = checkHourStart(record.date);
      if (!hour.ok) throw new SourceError(`${where}: items[${index}].date: ${hour.reason}`);
      const value = checkValue(record.consumption);
      if (!value.ok) throw new SourceError(`${where}: items[${index}].consumption: ${value.reason}`);
      return { hour: hour.value, value: value.value, index };
    });
    return collectInRange(where, checked, chunk, (i) => `items[${i}]`);
  }

  private postData(ticket: string, body: string, signal: AbortSignal | undefined) {
    return this.client.send(
      {
        method: 'POST',
        url: this.dataUrl,
        headers: { 'Content-Type': 'application/json', Accept: 'application/json', TGT: ticket },
        body,
      },
      signal,
    );
  }

  private async getTicket(signal: AbortSignal | undefined): Promise<string> {
    if (this.ticket && this.now() < this.ticket.expiresAt) return this.ticket.value;
    this.pendingTicket ??= this.requestTicket(signal).finally(() => {
      this.pendingTicket = undefined;
    });
    return this.pendingTicket;
  }

  private invalidate(ticket: string): void {
    if (this.ticket?.value === ticket) this.ticket = undefined;
  }

  private async requestTicket(signal: AbortSignal | undefined): Promise<string> {
    const issuedAt = this.now();
    let credentials: EpiasCredentials;
    try {
      credentials = await this.options.getCredentials();
    } catch (error) {
      throw new SourceError(
        `${this.name} source: could not read the credentials (${(error as Error).message})`,
        {
          cause: error,
        },
      );
    }
    const { username, password } = credentials;
    this.secrets.add(password);
    const reply = await this.client.send(
      {
        method: 'POST',
        url: this.ticketUrl,
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'text/plain' },
        body: new URLSearchParams({ username, password }).toString(),
      },
      signal,
    );
    // The reply body is never quoted: on some errors CAS echoes the form back.
    if (reply.status === 400 || reply.status === 401 || reply.status === 403) {
      throw new SourceError(`${this.where('ticket')}: HTTP ${reply.status}, the credentials were rejected`);
    }
    if (reply.status < 200 || reply.status > 299) {
      throw new SourceError(`${this.where('ticket')}: HTTP ${reply.status}`);
    }
    const value = reply.text.trim();
    if (!/^TGT-\S+$/.test(value)) {
      throw new SourceError(
        `${this.where('ticket')}: malformed body, expected a plain-text ticket starting with "TGT-"`,
      );
    }
    this.secrets.add(value);
    this.ticket = { value, expiresAt: issuedAt + this.ticketTtlMs };
    return value;
  }

  private where(endpoint: 'ticket' | 'data'): string {
    const url = endpoint === 'ticket' ? this.ticketUrl : this.dataUrl;
    return this.client.where({ method: 'POST', url });
  }
}

export function createEpiasSource(options: EpiasSourceOptions): EpiasRealtimeConsumptionSource {
  return new EpiasRealtimeConsumptionSource(options);
}
