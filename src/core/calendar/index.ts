export * from './holidays.ts';
export * from './localTime.ts';
export * from './turkey.ts';
export * from './validate.ts';
