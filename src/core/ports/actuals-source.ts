/** One hourly actual as delivered by an external source, before it is stored. */
export interface FetchedActual {
  /** Epoch ms of the UTC hour start. */
  readonly hour: number;
  /** Energy over the hour, in the source's unit (MWh for EPİAŞ). Finite and ≥ 0. */
  readonly value: number;
}

/** Half-open range of hour starts, [from, to), epoch ms on the hour. */
export interface HourRange {
  readonly from: number;
  readonly to: number;
}

/**
 * Where the ingest function gets actuals from. Implementations validate every item and throw a
 * SourceError (naming the source and what is wrong, never a credential) rather than return bad data.
 * An empty reply is an empty array. Results are sorted by hour, one per hour, all inside the range.
 */
export interface ActualsSource {
  readonly name: string;
  fetch(range: HourRange, signal?: AbortSignal): Promise<FetchedActual[]>;
}
