import type { ServerConfig } from '../env.ts';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1']);
/** A Host header: a name, or an IPv6 address in brackets, then an optional port. */
const HOST_HEADER = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::\d{1,5})?$/i;
/** Loopback names as a browser writes them in Host; other spellings (`127.1`, `0x7f.1`) are refused, not decoded. */
const LOOPBACK_HOST_HEADER_NAMES = new Set(['127.0.0.1', 'localhost', '[::1]']);

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

/**
 * True when a request's Host header names this machine by a loopback name
 * (`127.0.0.1`, `localhost` or `[::1]`, any port). Listening on loopback is not
 * enough: a page whose domain was rebound to 127.0.0.1 reaches the server too,
 * but its requests still carry that domain in Host.
 */
export function isLoopbackHostHeader(host: string | undefined): boolean {
  const name = host === undefined ? undefined : HOST_HEADER.exec(host)?.[1];
  return name !== undefined && LOOPBACK_HOST_HEADER_NAMES.has(name.toLowerCase());
}
