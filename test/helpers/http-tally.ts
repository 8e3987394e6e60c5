/**
 * Raw tRPC calls over HTTP that count every answer by status, so a load
 * scenario can report requests and 5xx without trusting a client library to
 * surface them (the typed client turns statuses into thrown errors).
 */
export class HttpTally {
  requests = 0;
  /** Calls that never got a whole HTTP answer (connection refused or reset), by error. */
  readonly networkErrorKinds = new Map<string, number>();
  readonly byStatus = new Map<number, number>();
  /** Milliseconds per call, from sending the request to reading the whole answer. */
  readonly latenciesMs: number[] = [];

  constructor(private readonly trpcUrl: string) {}

  get http5xx(): number {
    let count = 0;
    for (const [status, n] of this.byStatus) if (status >= 500) count += n;
    return count;
  }

  /** The latency below which `fraction` of calls answered, in ms. */
  latencyMs(fraction: number): number {
    const sorted = [...this.latenciesMs].sort((a, b) => a - b);
    return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] ?? 0);
  }

  /** "200×1000, 500×2" */
  describe(): string {
    const parts = [...this.byStatus].sort(([a], [b]) => a - b).map(([status, n]) => `${status}×${n}`);
    for (const [kind, n] of this.networkErrorKinds) parts.push(`${kind}×${n}`);
    return parts.join(', ');
  }

  /** POSTs a mutation; answers the status and the parsed body (tRPC's `{ result: { data } }` or `{ error }`). */
  mutate(token: string, procedure: string, input: unknown): Promise<HttpAnswer> {
    return this.call(`${this.trpcUrl}/${procedure}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(input),
    });
  }

  /** GETs a query, its input as URL-encoded JSON. */
  query(token: string, procedure: string, input: unknown): Promise<HttpAnswer> {
    const url = `${this.trpcUrl}/${procedure}?input=${encodeURIComponent(JSON.stringify(input))}`;
    return this.call(url, { headers: { authorization: `Bearer ${token}` } });
  }

  private async call(url: string, init: RequestInit): Promise<HttpAnswer> {
    this.requests += 1;
    const started = performance.now();
    let response: Response;
    let text: string;
    try {
      response = await fetch(url, init);
      text = await response.text();
    } catch (error) {
      this.latenciesMs.push(performance.now() - started);
      const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
      const text = `${String(error)}${cause}`;
      this.networkErrorKinds.set(text, (this.networkErrorKinds.get(text) ?? 0) + 1);
      return { status: 0, body: undefined, text };
    }
    this.byStatus.set(response.status, (this.byStatus.get(response.status) ?? 0) + 1);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    this.latenciesMs.push(performance.now() - started);
    return { status: response.status, body, text };
  }
}

export interface HttpAnswer {
  /** 0 when no HTTP answer arrived. */
  status: number;
  body: unknown;
  /** The raw body, to compare answers byte for byte. */
  text: string;
}

/** The `result.data` of a successful tRPC answer. */
export function dataOf<T>(answer: HttpAnswer): T {
  const body = answer.body as { result?: { data?: T } } | undefined;
  if (answer.status !== 200 || body?.result?.data === undefined) {
    throw new Error(`expected a 200 tRPC answer, got ${answer.status}: ${answer.text.slice(0, 300)}`);
  }
  return body.result.data;
}

/** Runs `fn` over `items` with at most `limit` calls in flight; results keep the input order. */
export async function inParallel<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = [];
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}

/** Fisher–Yates: a uniformly random order, so concurrent duplicates of one call interleave with others. */
export function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}
