import type pg from 'pg';

/**
 * Named prepared statements for the few hottest queries.
 *
 * Postgres parses and plans an unnamed statement on every execution. For the
 * insert behind every `upload.initiate` (19 parameters, an `INSERT … SELECT`
 * with `ON CONFLICT` on a partial unique index) that is about 200 of the
 * ~475 µs of database CPU it costs; prepared once per connection, the same
 * insert costs ~260 µs (a one-off loop of inserts, the cluster's CPU read as
 * `bench/src/postgres-cpu.ts` reads it).
 *
 * Kysely cannot name a statement, so a query asks for it in its own text:
 * `sql.raw(preparedMarker('insert_job'))` put first in an `sql` template, which
 * compiles to a leading `/* prepared:insert_job *\/` comment. The pool's clients
 * then send that text under that name, once per connection, and only bind
 * parameters afterwards (pg remembers what each connection has prepared).
 *
 * Only for statements whose text never varies and whose result columns never
 * change with the schema (`returning status`, not `returning *`): Postgres
 * refuses to run a cached plan whose result type changed after a migration.
 * A transaction-mode pooler in front of Postgres must keep prepared statements
 * per server connection (PgBouncer ≥ 1.21 with `max_prepared_statements`).
 */
const MARKER_PREFIX = '/* prepared:';
const MARKER = /^\/\* prepared:([a-z_]+) \*\//;

/** The comment that names the statement it starts. */
export function preparedMarker(name: string): string {
  if (!/^[a-z_]+$/.test(name)) throw new Error(`prepared statement names are lower_snake_case: ${name}`);
  return `${MARKER_PREFIX}${name} */`;
}

type Query = (...args: unknown[]) => unknown;

/** Makes one pooled client send marked statements as named prepared statements. */
export function sendMarkedStatementsPrepared(client: pg.PoolClient): void {
  const query = client.query.bind(client) as Query;
  const prepared: Query = (text, values, ...rest) => {
    if (typeof text === 'string' && text.startsWith(MARKER_PREFIX) && Array.isArray(values)) {
      const name = MARKER.exec(text)?.[1];
      if (name) return query({ name, text, values }, ...rest);
    }
    return query(text, values, ...rest);
  };
  // pg's query() is overloaded many ways; the wrapper passes every form through unchanged.
  client.query = prepared as typeof client.query;
}
