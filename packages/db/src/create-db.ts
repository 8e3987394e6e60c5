import { CamelCasePlugin, Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';

import { sendMarkedStatementsPrepared } from './prepared-statements.ts';
import type { Database } from './schema.ts';

export interface DbConfig {
  connectionString: string;
  /** Pool size; each API or worker process holds its own pool. */
  maxConnections?: number;
  /** Where to report errors of idle pooled connections (e.g. a server restart). */
  onPoolError?: (error: Error) => void;
}

const INT8_OID = 20;

/**
 * A Kysely instance on its own pg pool. Callers own its lifetime and call
 * `destroy()` on shutdown; nothing here is a module singleton.
 */
export function createDb(config: DbConfig): Kysely<Database> {
  const pool = new pg.Pool({
    connectionString: config.connectionString,
    max: config.maxConnections ?? 10,
    connectionTimeoutMillis: 5_000,
    // Backstop: a transaction left open by a bug cannot hold a pooled connection forever.
    idle_in_transaction_session_timeout: 60_000,
    // Byte sizes are int8; every size we store is far below 2^53.
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID ? Number : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  // Without a listener, an idle client's error (e.g. the server shutting down) crashes the process.
  pool.on('error', (error) => config.onPoolError?.(error));
  // A connection that drops while checked out (mid-query or mid-transaction) makes its
  // client emit 'error', and the pool listens only to idle clients: unheard, that
  // error would crash the process. The query in flight already fails with it, and the
  // pool discards the broken client on release, so there is nothing more to do here.
  pool.on('connect', (client) => {
    client.on('error', () => {});
    sendMarkedStatementsPrepared(client);
  });
  return new Kysely<Database>({
    dialect: new PostgresDialect({ pool }),
    // Columns are snake_case in SQL and camelCase in code; JSON column contents
    // (e.g. the SQS message contract, which is snake_case) are left as stored.
    plugins: [new CamelCasePlugin({ maintainNestedObjectKeys: true })],
  });
}
