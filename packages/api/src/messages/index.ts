export * from './analysis-job.ts';
export * from './analysis-result.ts';
