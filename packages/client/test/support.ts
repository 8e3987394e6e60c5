import { createHash, randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import { expect } from 'vitest';

import type { Identity } from '@coach/api';
import { createClient, type ApiClient, type UploadProgressEvent } from '@coach/client';

import type { TestServer } from '../../../test/helpers/server.ts';

export const MIB = 1024 ** 2;

/** A multipart plan small enough for tests: 5 MiB parts (S3's minimum) above 12 MiB. */
export const uploadTestConfig = {
  maxUploadBytes: 200 * MIB,
  multipartThresholdBytes: 12 * MIB,
  multipartPartSizeBytes: 5 * MIB,
};

/** Fast retries, so fault tests spend milliseconds waiting, not seconds. */
export const fastBackoff = { initialDelayMs: 5, maxDelayMs: 20 };

/** Writes `sizeBytes` random bytes in 4 MiB chunks; returns the path and the bytes' SHA-256. */
export async function writeRandomFile(dir: string, name: string, sizeBytes: number) {
  const file = path.join(dir, name);
  const hash = createHash('sha256');
  const handle = await open(file, 'w');
  try {
    for (let written = 0; written < sizeBytes;) {
      const chunk = randomBytes(Math.min(4 * MIB, sizeBytes - written));
      hash.update(chunk);
      await handle.write(chunk);
      written += chunk.length;
    }
  } finally {
    await handle.close();
  }
  return { path: file, sizeBytes, sha256: hash.digest('hex') };
}

/** SHA-256 of the object storage holds at `key`, read back through the real adapter. */
export async function storedSha256(server: TestServer, key: string): Promise<string | undefined> {
  const stream = await server.storage.getStream(key);
  if (!stream) return undefined;
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk);
  return hash.digest('hex');
}

export async function newSession(client: ApiClient): Promise<string> {
  const session = await client.sessions.create.mutate({ title: 'Hotel Wi-Fi nets', playerIds: ['p1'] });
  return session.sessionId;
}

export interface StoragePut {
  url: string;
  /** Undefined for a single PUT. */
  partNumber: number | undefined;
  /** 1-based attempt count for this part (or for the single PUT). */
  attempt: number;
  sizeBytes: number;
}

/**
 * What to do with one PUT: undefined passes it to the emulator; a Response
 * answers instead of storage; an Error is thrown like a network failure;
 * `{ forward: true, respond }` sends it to storage and lets `respond` change the answer.
 */
export type PutFault =
  undefined | Response | Error | { forward: true; respond: (response: Response) => Response | Promise<Response> };

/**
 * The fetch given to uploadVideo for storage PUTs. It forwards everything to
 * the real emulator and records each PUT; `fault` injects a failure for chosen
 * PUTs. Never a replacement for storage: what is stored is what the emulator stored.
 */
export class StorageFetch {
  readonly puts: StoragePut[] = [];
  inFlight = 0;
  maxInFlight = 0;
  fault: (put: StoragePut) => PutFault = () => undefined;

  readonly fetch: typeof globalThis.fetch = async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    const partParam = new URL(url).searchParams.get('partNumber');
    const partNumber = partParam === null ? undefined : Number(partParam);
    const body = init?.body;
    const put: StoragePut = {
      url,
      partNumber,
      attempt: this.puts.filter((p) => p.partNumber === partNumber).length + 1,
      sizeBytes: body instanceof Blob ? body.size : -1,
    };
    this.puts.push(put);
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      const fault = this.fault(put);
      if (fault instanceof Response) return fault;
      if (fault instanceof Error) throw fault;
      const response = await globalThis.fetch(input, init);
      return fault ? await fault.respond(response) : response;
    } finally {
      this.inFlight -= 1;
    }
  };

  /** PUT attempts per part number, e.g. `{ 1: 1, 2: 3 }`. */
  attemptsByPart(): Record<number, number> {
    const counts: Record<number, number> = {};
    for (const put of this.puts) if (put.partNumber !== undefined) counts[put.partNumber] = (counts[put.partNumber] ?? 0) + 1;
    return counts;
  }
}

/** An S3-style error answer. */
export function s3Error(status: number, code: string): Response {
  return new Response(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>injected</Message></Error>`, {
    status,
    headers: { 'content-type': 'application/xml' },
  });
}

/** A client whose API calls are observed (never altered, unless `fail` says so): counts procedure calls and their inputs. */
export class ApiSpy {
  readonly calls: { path: string; input: unknown }[] = [];
  /** Throw this (a network failure) instead of sending a request that contains `path`; one-shot. */
  failNext: { path: string; error: Error } | undefined;
  readonly client: ApiClient;

  constructor(server: TestServer, identity: Identity) {
    this.client = createClient({
      url: server.trpcUrl,
      token: () => server.tokenFor(identity),
      fetch: async (input, init) => {
        const url = new URL(input instanceof Request ? input.url : String(input));
        const paths = decodeURIComponent(url.pathname.slice(url.pathname.lastIndexOf('/') + 1)).split(',');
        const inputs = typeof init?.body === 'string' ? (JSON.parse(init.body) as Record<string, unknown>) : {};
        if (this.failNext && paths.includes(this.failNext.path)) {
          const { error } = this.failNext;
          this.failNext = undefined;
          throw error;
        }
        paths.forEach((path, i) => this.calls.push({ path, input: inputs[String(i)] }));
        return globalThis.fetch(input, init);
      },
    });
  }

  /** Part numbers of every upload.signParts call, in call order. */
  signedBatches(): number[][] {
    return this.calls.filter((c) => c.path === 'upload.signParts').map((c) => (c.input as { partNumbers: number[] }).partNumbers);
  }
}

/** Checks the progress contract: bytesSent never decreases and ends at exactly the file size. */
export function expectProgressContract(events: UploadProgressEvent[], totalBytes: number): void {
  expect(events.length).toBeGreaterThan(0);
  for (let i = 1; i < events.length; i++) {
    expect(events[i]?.bytesSent).toBeGreaterThanOrEqual(events[i - 1]?.bytesSent ?? 0);
  }
  for (const event of events) {
    expect(event.totalBytes).toBe(totalBytes);
    expect(event.bytesSent).toBeLessThanOrEqual(totalBytes);
  }
  const last = events.at(-1);
  expect(last).toMatchObject({ phase: 'completed', bytesSent: totalBytes, etaSeconds: 0 });
}

/** The error an upload that must fail rejected with; fails the test if it succeeded. */
export async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail('the upload should have failed'),
    (error: unknown) => error,
  );
}

/**
 * Tracks the peak of live ArrayBuffer memory while `work` runs. Each sample
 * collects garbage first, so the peak counts buffers still held, not garbage
 * awaiting a GC; samples are at most one per 50 ms, since a full GC per
 * progress event slows a loaded machine to a crawl.
 */
export async function peakArrayBuffersDuring<T>(
  work: (sample: () => void) => Promise<T>,
): Promise<{ result: T; peakBytes: number }> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  const before = process.memoryUsage().arrayBuffers;
  let peak = before;
  let lastSampleAt = 0;
  const sample = () => {
    const now = performance.now();
    if (now - lastSampleAt < 50) return;
    lastSampleAt = now;
    gc();
    peak = Math.max(peak, process.memoryUsage().arrayBuffers);
  };
  const timer = setInterval(sample, 50);
  try {
    const result = await work(sample);
    return { result, peakBytes: peak - before };
  } finally {
    clearInterval(timer);
  }
}
