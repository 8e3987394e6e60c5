import type { ServerConfig } from '../env.ts';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1']);

/**
 * True only for the zero-configuration local setup of `pnpm dev`: outside
 * production, on the embedded Postgres and S3/SQS emulator, with the
 * per-checkout dev secret, listening on a loopback address. Conveniences that
 * would be holes anywhere else (minting tokens for any user, serving the web
 * app's dev build) exist only then; any real setting turns them off.
 */
export function runsOnLocalDefaults(config: Readonly<ServerConfig>): boolean {
  return (
    config.env !== 'production' &&
    config.databaseUrl === undefined &&
    config.aws.kind === 'embedded' &&
    config.auth.kind === 'hs256-dev' &&
    LOOPBACK_HOSTS.has(config.host)
  );
}
