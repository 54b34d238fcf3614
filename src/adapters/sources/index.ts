export type { ActualsSource, FetchedActual, HourRange } from '../../core/ports/actuals-source.ts';
export {
  createActualsSource,
  parseSourceConfig,
  sourceConfigOf,
  type SourceConfig,
  type SourceDependencies,
} from './config.ts';
export {
  createEpiasSource,
  EpiasRealtimeConsumptionSource,
  type EpiasCredentials,
  type EpiasSourceOptions,
} from './epias.ts';
export {
  createHttpSource,
  HttpActualsSource,
  type HttpSourceMapping,
  type HttpSourceOptions,
} from './http-endpoint.ts';
export { DEFAULT_TRANSPORT, type RetryPolicy, type TransportOptions } from './transport.ts';
