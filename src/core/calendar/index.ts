export * from './holidays.ts';
export * from './localTime.ts';
export * from './turkey.ts';
