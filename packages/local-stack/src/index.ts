export { findFreePort } from './free-port.ts';
export { startLocalPostgres, type LocalPostgres, type LocalPostgresOptions } from './postgres.ts';
export { startLocalAws, type LocalAws, type LocalAwsOptions, type LocalQueue } from './aws.ts';
