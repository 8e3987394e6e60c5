/**
 * SQLSTATEs meaning the connection or the server went away, not that the
 * statement was wrong: class 08 (connection exception), the 57P0x shutdown
 * codes (a terminated backend, a crash, a server starting up) and
 * too_many_connections.
 */
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);
const UNAVAILABLE_SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  // The database's name does not resolve for a moment, e.g. during a failover.
  'ENOTFOUND',
  'EAI_AGAIN',
]);
/** pg and pg-pool report a lost or unobtainable connection with these messages and no code. */
const UNAVAILABLE_MESSAGES = [
  /^Connection terminated/,
  /is not queryable$/,
  /^timeout exceeded when trying to connect$/,
  /^Query read timeout$/,
  // A request still running while the process shuts its pool down.
  /^Cannot use a pool after calling end on the pool$/,
];

/**
 * True when a database call failed because the database could not be reached
 * or dropped the connection: the same call may well succeed in a moment.
 * Looks through `cause` chains, since callers wrap errors.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  let current = error;
  for (let depth = 0; current instanceof Error && depth < 5; depth++) {
    const { message } = current;
    const code = (current as { code?: unknown }).code;
    if (
      typeof code === 'string' &&
      (code.startsWith('08') || UNAVAILABLE_SQLSTATES.has(code) || UNAVAILABLE_SOCKET_CODES.has(code))
    ) {
      return true;
    }
    if (UNAVAILABLE_MESSAGES.some((pattern) => pattern.test(message))) return true;
    current = current.cause;
  }
  return false;
}
