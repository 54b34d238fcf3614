export * from './forecaster.ts';
export * from './metadata.ts';
