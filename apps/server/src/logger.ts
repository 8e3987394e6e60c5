import { createRequire } from 'node:module';

import { pino, stdSerializers, type DestinationStream, type Logger } from 'pino';
import type PinoPretty from 'pino-pretty';

/** tRPC's own query parameters; any other one may carry a credential a client put in the URL. */
const LOGGED_QUERY_PARAMETERS = new Set(['batch', 'input']);

/**
 * The request target as logged: the path and tRPC's parameters as sent, every
 * other query parameter's value replaced (a misplaced `?access_token=…` or a
 * pasted presigned URL must not end up in the log).
 */
export function redactUrl(url: string): string {
  const at = url.indexOf('?');
  if (at === -1) return url;
  const pairs = url
    .slice(at + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      if (eq === -1) return pair;
      let name: string | undefined;
      try {
        name = decodeURIComponent(pair.slice(0, eq));
      } catch {
        name = undefined;
      }
      return name !== undefined && LOGGED_QUERY_PARAMETERS.has(name) ? pair : `${pair.slice(0, eq)}=[Redacted]`;
    });
  return `${url.slice(0, at)}?${pairs.join('&')}`;
}

/** The fields of a Fastify request (or a raw Node one) worth logging; never its headers. */
interface LoggedRequest {
  method?: string;
  url?: string;
  host?: string;
  ip?: string;
  socket?: { remotePort?: number; remoteAddress?: string } | null;
}

function serializeRequest(req: LoggedRequest) {
  return {
    method: req.method,
    url: req.url === undefined ? undefined : redactUrl(req.url),
    host: req.host,
    remoteAddress: req.ip ?? req.socket?.remoteAddress,
    remotePort: req.socket?.remotePort,
  };
}

/**
 * Properties a library hangs on an error that are live objects, not facts
 * about the failure: pg attaches the `client` (with its connection's
 * `secretKey` and every socket buffer) to errors of idle pool connections,
 * several kilobytes of state per line.
 */
const ERROR_OBJECT_PROPERTIES = ['client', 'connection', 'socket'];

function serializeError(error: unknown) {
  const serialized = stdSerializers.err(error as Error) as unknown;
  if (typeof serialized !== 'object' || serialized === null) return serialized;
  const copy: Record<string, unknown> = { ...serialized };
  for (const key of ERROR_OBJECT_PROPERTIES) delete copy[key];
  return copy;
}

/** Pretty-printed lines for a person at a terminal; JSON lines for anything else (files, pipes, collectors). */
export function isPrettyOutput(stream: { isTTY?: boolean }): boolean {
  return stream.isTTY === true;
}

/**
 * pino-pretty, a development dependency: loaded only when pretty output is
 * asked for, and absent from a production deploy, where lines stay JSON.
 */
function loadPrettyStream(): typeof PinoPretty.build | undefined {
  try {
    return (createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty).build;
  } catch (error) {
    if ((error as { code?: string }).code === 'MODULE_NOT_FOUND') return undefined;
    throw error;
  }
}

/**
 * The process logger: JSON lines on stdout unless a destination is given,
 * or with `pretty`, lines a person reads (pino-pretty, written synchronously
 * so nothing is lost when the process exits). Built here, not in main.ts, so
 * tests read exactly what production writes. Fastify keeps a logger's own
 * `req` serializer over its default one.
 */
export function createLogger(options: { level: string; pretty?: boolean }, destination?: DestinationStream): Logger {
  const prettyStream = options.pretty ? loadPrettyStream() : undefined;
  const stream = prettyStream
    ? prettyStream({
        destination: destination ?? 1,
        sync: true,
        colorize: destination === undefined && isPrettyOutput(process.stdout),
        translateTime: 'HH:MM:ss.l',
        ignore: 'pid,hostname',
      })
    : destination;
  return pino(
    {
      level: options.level,
      serializers: { req: serializeRequest, err: serializeError },
      redact: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'headers.cookie'],
    },
    stream,
  );
}
