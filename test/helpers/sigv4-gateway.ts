import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';

/**
 * A stand-in for S3's front door, placed before the emulator (which checks no
 * signature, expiry or condition). It accepts only presigned requests (SigV4
 * query-string authentication) and verifies them from the AWS specification
 * with node:crypto alone, never with the SDK whose URLs it judges; it also
 * enforces `If-None-Match: *` (create-only PUTs), which the emulator ignores.
 * Accepted requests are streamed to the emulator and its answer streamed back.
 */
export interface SigV4GatewayOptions {
  /** The S3-compatible server accepted requests are forwarded to, e.g. `http://127.0.0.1:4566`. */
  upstream: string;
  /** The only region a credential scope may name. */
  region: string;
  /** Access key id → secret access key: the only credentials whose signatures count. */
  credentials: Record<string, string>;
  /** The gateway's clock; tests move it forward to expire URLs. */
  now?: () => Date;
}

/** One request as the gateway judged it. */
export interface GatewayRecord {
  method: string;
  /** Decoded path: `/<bucket>/<key>`. */
  path: string;
  query: URLSearchParams;
  status: number;
  /** S3's error code for a refusal; null when the request was forwarded. */
  code: string | null;
  forwarded: boolean;
}

export interface SigV4Gateway {
  /** `http://127.0.0.1:<port>`: the endpoint to sign URLs for. */
  url: string;
  /** Every request so far, in arrival order. */
  records: GatewayRecord[];
  close(): Promise<void>;
}

const ALGORITHM = 'AWS4-HMAC-SHA256';
const SERVICE = 's3';
const MAX_EXPIRES_SECONDS = 7 * 24 * 3600;
/** S3 accepts a request signed up to 15 minutes in the future (clock skew). */
const MAX_SKEW_MS = 15 * 60 * 1000;
const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
const REQUIRED_PARAMS = [
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Date',
  'X-Amz-Expires',
  'X-Amz-SignedHeaders',
  'X-Amz-Signature',
] as const;

interface Refusal {
  status: number;
  code: string;
  message: string;
  /** Shown like S3 does on SignatureDoesNotMatch, to diagnose a signer. */
  extra?: Record<string, string>;
}

/** RFC 3986 percent-encoding as SigV4 requires: everything but A-Z a-z 0-9 - _ . ~ */
export function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

const sha256Hex = (data: string) => createHash('sha256').update(data, 'utf8').digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();

/** The SigV4 signing key: HMAC chain over date, region, service and the terminator. */
export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  return hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
}

/** The path as S3 canonicalises it: each segment decoded once, then strictly re-encoded. */
function canonicalPath(rawPath: string): string | undefined {
  try {
    return rawPath
      .split('/')
      .map((segment) => uriEncode(decodeURIComponent(segment)))
      .join('/');
  } catch {
    return undefined;
  }
}

/** Query pairs as received, decoded once; undefined when an escape is malformed. */
function parseQuery(rawQuery: string): [string, string][] | undefined {
  if (rawQuery === '') return [];
  try {
    return rawQuery.split('&').map((pair) => {
      const at = pair.indexOf('=');
      const name = at === -1 ? pair : pair.slice(0, at);
      const value = at === -1 ? '' : pair.slice(at + 1);
      return [decodeURIComponent(name), decodeURIComponent(value)];
    });
  } catch {
    return undefined;
  }
}

function canonicalQuery(pairs: [string, string][]): string {
  return pairs
    .filter(([name]) => name !== 'X-Amz-Signature')
    .map(([name, value]) => [uriEncode(name), uriEncode(value)] as const)
    .sort(([an, av], [bn, bv]) => (an < bn ? -1 : an > bn ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  if (value === undefined) return undefined;
  const joined = Array.isArray(value) ? value.join(',') : value;
  return joined.trim().replace(/\s+/g, ' ');
}

/** `20260101T120000Z` → a Date, or undefined when malformed. */
function parseAmzDate(value: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  return Number.isNaN(date.getTime()) ? undefined : date;
}

export interface PresignedRequest {
  method: string;
  /** The request target as received: raw path and query. */
  url: string;
  headers: IncomingHttpHeaders;
}

/**
 * Verifies SigV4 query-string authentication of one request as S3 would:
 * parameters, credential scope, key, time window, signed headers present,
 * no unsigned x-amz-* header, and the signature over the canonical request
 * rebuilt from what was actually received.
 */
export function verifyPresignedRequest(
  request: PresignedRequest,
  options: { region: string; credentials: Record<string, string>; now: Date },
): { ok: true; accessKeyId: string } | ({ ok: false } & Refusal) {
  const refuse = (status: number, code: string, message: string, extra?: Record<string, string>) =>
    ({ ok: false, status, code, message, extra }) as const;
  const queryAt = request.url.indexOf('?');
  const rawPath = queryAt === -1 ? request.url : request.url.slice(0, queryAt);
  const pairs = parseQuery(queryAt === -1 ? '' : request.url.slice(queryAt + 1));
  const path = canonicalPath(rawPath);
  if (!pairs || path === undefined) return refuse(400, 'InvalidURI', "Couldn't parse the specified URI.");
  const params = new Map<string, string>();
  for (const [name, value] of pairs) {
    if (params.has(name) && (REQUIRED_PARAMS as readonly string[]).includes(name)) {
      return refuse(400, 'AuthorizationQueryParametersError', `${name} appears more than once.`);
    }
    params.set(name, value);
  }

  if (!params.has('X-Amz-Signature') && !params.has('X-Amz-Algorithm')) {
    return refuse(
      403,
      'AccessDenied',
      request.headers.authorization ? 'Only presigned requests are accepted.' : 'Anonymous access is not allowed.',
    );
  }
  for (const name of REQUIRED_PARAMS) {
    if (!params.get(name)) {
      return refuse(
        400,
        'AuthorizationQueryParametersError',
        `Query-string authentication requires ${REQUIRED_PARAMS.join(', ')}.`,
      );
    }
  }
  const algorithm = params.get('X-Amz-Algorithm') ?? '';
  const credential = params.get('X-Amz-Credential') ?? '';
  const amzDate = params.get('X-Amz-Date') ?? '';
  const expiresText = params.get('X-Amz-Expires') ?? '';
  const signedHeadersText = params.get('X-Amz-SignedHeaders') ?? '';
  const signature = params.get('X-Amz-Signature') ?? '';

  if (algorithm !== ALGORITHM) {
    return refuse(400, 'AuthorizationQueryParametersError', `X-Amz-Algorithm only supports "${ALGORITHM}".`);
  }
  const signedAt = parseAmzDate(amzDate);
  if (!signedAt)
    return refuse(
      400,
      'AuthorizationQueryParametersError',
      "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\".",
    );
  const scope = credential.split('/');
  const [accessKeyId, scopeDate, scopeRegion, scopeService, terminator] = scope;
  if (scope.length !== 5 || !accessKeyId) {
    return refuse(
      400,
      'AuthorizationQueryParametersError',
      'Error parsing the X-Amz-Credential parameter; it must be <key>/<date>/<region>/<service>/aws4_request.',
    );
  }
  if (scopeDate !== amzDate.slice(0, 8)) {
    return refuse(
      400,
      'AuthorizationQueryParametersError',
      `Error parsing the X-Amz-Credential parameter; the date ${scopeDate} does not match X-Amz-Date.`,
    );
  }
  if (scopeRegion !== options.region) {
    return refuse(
      400,
      'AuthorizationQueryParametersError',
      `Error parsing the X-Amz-Credential parameter; the region '${scopeRegion}' is wrong; expecting '${options.region}'.`,
    );
  }
  if (scopeService !== SERVICE) {
    return refuse(
      400,
      'AuthorizationQueryParametersError',
      `Error parsing the X-Amz-Credential parameter; incorrect service '${scopeService}'. This endpoint belongs to '${SERVICE}'.`,
    );
  }
  if (terminator !== 'aws4_request') {
    return refuse(
      400,
      'AuthorizationQueryParametersError',
      `Error parsing the X-Amz-Credential parameter; incorrect terminal '${terminator}'. This endpoint uses 'aws4_request'.`,
    );
  }
  if (!/^\d+$/.test(expiresText) || Number(expiresText) < 1 || Number(expiresText) > MAX_EXPIRES_SECONDS) {
    return refuse(
      400,
      'AuthorizationQueryParametersError',
      'X-Amz-Expires must be a whole number of seconds from 1 to 604800 (a week).',
    );
  }
  const secret = Object.hasOwn(options.credentials, accessKeyId) ? options.credentials[accessKeyId] : undefined;
  if (secret === undefined) {
    return refuse(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.');
  }
  const nowMs = options.now.getTime();
  if (nowMs < signedAt.getTime() - MAX_SKEW_MS) return refuse(403, 'AccessDenied', 'Request is not valid yet');
  if (nowMs > signedAt.getTime() + Number(expiresText) * 1000) return refuse(403, 'AccessDenied', 'Request has expired');

  const signedHeaders = signedHeadersText.split(';');
  const wellFormed =
    signedHeaders.every((h) => /^[a-z0-9-]+$/.test(h)) &&
    signedHeaders.every((h, i) => i === 0 || (signedHeaders[i - 1] ?? '') < h);
  if (!wellFormed || !signedHeaders.includes('host')) {
    return refuse(400, 'AuthorizationQueryParametersError', 'X-Amz-SignedHeaders must be lower-case, sorted, and include host.');
  }
  const missing = signedHeaders.filter((h) => headerValue(request.headers, h) === undefined);
  if (missing.length > 0) {
    return refuse(403, 'SignatureDoesNotMatch', `Signed headers are missing from the request: ${missing.join(', ')}.`);
  }
  const unsigned = Object.keys(request.headers).filter((h) => h.startsWith('x-amz-') && !signedHeaders.includes(h));
  if (unsigned.length > 0) {
    return refuse(403, 'AccessDenied', `There were headers present in the request which were not signed: ${unsigned.join(', ')}`);
  }
  const payloadHash = params.get('X-Amz-Content-Sha256') ?? UNSIGNED_PAYLOAD;
  if (payloadHash !== UNSIGNED_PAYLOAD) {
    return refuse(501, 'NotImplemented', 'Only UNSIGNED-PAYLOAD presigned requests are supported here.');
  }

  const canonicalRequest = [
    request.method,
    path,
    canonicalQuery(pairs),
    signedHeaders.map((h) => `${h}:${headerValue(request.headers, h) ?? ''}\n`).join(''),
    signedHeadersText,
    payloadHash,
  ].join('\n');
  const stringToSign = [ALGORITHM, amzDate, scope.slice(1).join('/'), sha256Hex(canonicalRequest)].join('\n');
  const expected = hmac(signingKey(secret, scopeDate, scopeRegion, scopeService), stringToSign);
  const given = /^[0-9a-f]{64}$/.test(signature) ? Buffer.from(signature, 'hex') : Buffer.alloc(0);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return refuse(
      403,
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
      { StringToSign: stringToSign, CanonicalRequest: canonicalRequest },
    );
  }
  return { ok: true, accessKeyId };
}

const xmlEscape = (s: string) => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

function sendError(res: ServerResponse, refusal: Refusal, method: string): void {
  const extra = Object.entries(refusal.extra ?? {})
    .map(([tag, value]) => `<${tag}>${xmlEscape(value)}</${tag}>`)
    .join('');
  const body =
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${refusal.code}</Code><Message>${xmlEscape(refusal.message)}</Message>${extra}` +
    `<RequestId>${randomBytes(8).toString('hex').toUpperCase()}</RequestId></Error>`;
  res.writeHead(refusal.status, {
    'content-type': 'application/xml',
    'content-length': Buffer.byteLength(body),
    // The request body may not have been read; do not keep a connection whose stream is undefined.
    connection: 'close',
  });
  res.end(method === 'HEAD' ? undefined : body);
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']);

function withoutHopByHop(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  }
  return out;
}

export async function startSigV4Gateway(options: SigV4GatewayOptions): Promise<SigV4Gateway> {
  const upstream = new URL(options.upstream);
  const now = options.now ?? (() => new Date());
  const records: GatewayRecord[] = [];
  /** Keys with a create-only PUT in flight: a second one conflicts, as on S3. */
  const creating = new Set<string>();

  const forward = (req: IncomingMessage, res: ServerResponse): Promise<number> =>
    new Promise((resolve, reject) => {
      const headers = withoutHopByHop(req.headers);
      headers.host = upstream.host;
      const out = httpRequest(
        { hostname: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, withoutHopByHop(answer.headers));
          pipeline(answer, res).then(() => resolve(answer.statusCode ?? 502), reject);
        },
      );
      out.on('error', reject);
      // Streams the body through: a large upload is never held in memory.
      pipeline(req, out).catch(reject);
    });

  const objectExists = async (path: string): Promise<boolean> => {
    const response = await fetch(new URL(path, upstream), { method: 'HEAD' });
    return response.ok;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const parsed = new URL(url, 'http://gateway.invalid');
    const record: GatewayRecord = {
      method,
      path: (() => {
        try {
          return decodeURIComponent(parsed.pathname);
        } catch {
          return parsed.pathname;
        }
      })(),
      query: parsed.searchParams,
      status: 0,
      code: null,
      forwarded: false,
    };
    records.push(record);
    const refuse = (refusal: Refusal) => {
      record.status = refusal.status;
      record.code = refusal.code;
      sendError(res, refusal, method);
      req.resume();
    };

    const verdict = verifyPresignedRequest(
      { method, url, headers: req.headers },
      { region: options.region, credentials: options.credentials, now: now() },
    );
    if (!verdict.ok) return refuse(verdict);

    const isPut = method === 'PUT';
    const isPart = parsed.searchParams.has('uploadId') || parsed.searchParams.has('partNumber');
    if (isPut && req.headers['content-length'] === undefined) {
      return refuse({ status: 411, code: 'MissingContentLength', message: 'You must provide the Content-Length HTTP header.' });
    }
    const ifNoneMatch = req.headers['if-none-match'];
    const createOnly = isPut && !isPart && ifNoneMatch !== undefined;
    if (createOnly && ifNoneMatch !== '*') {
      return refuse({ status: 501, code: 'NotImplemented', message: 'If-None-Match on PUT supports only "*".' });
    }
    if (createOnly) {
      if (creating.has(parsed.pathname)) {
        return refuse({
          status: 409,
          code: 'ConditionalRequestConflict',
          message: 'A conflicting conditional operation is currently in progress against this resource.',
        });
      }
      creating.add(parsed.pathname);
    }
    try {
      if (createOnly && (await objectExists(parsed.pathname))) {
        return refuse({
          status: 412,
          code: 'PreconditionFailed',
          message: 'At least one of the pre-conditions you specified did not hold',
        });
      }
      record.forwarded = true;
      record.status = await forward(req, res);
    } finally {
      if (createOnly) creating.delete(parsed.pathname);
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) {
        sendError(res, { status: 502, code: 'BadGateway', message: 'The storage server did not answer.' }, req.method ?? 'GET');
      } else {
        res.destroy();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    records,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
