// Run with `node --conditions=react-native`: the build React Native's bundler picks, with a
// fetch limited as React Native's is (whatwg-fetch over XMLHttpRequest): request bodies are
// strings, Blobs, ArrayBuffers or FormData, never streams; responses are read whole through
// text()/json()/blob()/arrayBuffer() and have no `body` stream.
import { uploadVideo } from '@coach/client';

import { uploadAndFollow } from './upload.ts';

// Hermes has no DOMException. (It has no crypto.getRandomValues either: apps import
// react-native-get-random-values first, as the README says; Node's stands for it here.)
delete globalThis.DOMException;

const [url, token, sizeArg] = process.argv.slice(2);
const sent = [];

/** @type {typeof fetch} */
async function reactNativeFetch(input, init = {}) {
  const { body } = init;
  const sendable =
    body === undefined ||
    body === null ||
    typeof body === 'string' ||
    body instanceof Blob ||
    body instanceof ArrayBuffer ||
    ArrayBuffer.isView(body) ||
    body instanceof FormData ||
    body instanceof URLSearchParams;
  if (!sendable) throw new TypeError(`React Native's fetch cannot send a ${body?.constructor?.name} body.`);
  if ('duplex' in init) throw new TypeError("React Native's fetch has no streaming request bodies.");
  sent.push({ method: init.method ?? 'GET', body: body instanceof Blob ? 'Blob' : typeof body, size: body?.size });
  const response = await fetch(input, init);
  const bytes = await response.arrayBuffer();
  const text = () => new TextDecoder().decode(bytes);
  const whole = {
    ok: response.ok,
    status: response.status,
    statusText: response.statusText,
    url: response.url,
    headers: response.headers,
    // No ReadableStream: reading a response incrementally is not possible.
    body: undefined,
    text: async () => text(),
    json: async () => JSON.parse(text()),
    arrayBuffer: async () => bytes.slice(0),
    blob: async () => new Blob([bytes]),
  };
  return whole;
}

// What a picked video becomes in an app: a Blob (e.g. `await (await fetch(asset.uri)).blob()`).
const file = new Blob([new Uint8Array(Number(sizeArg)).fill(7)], { type: 'video/mp4' });
const status = await uploadAndFollow({
  url,
  token,
  file,
  fetch: reactNativeFetch,
  follow: false,
  log: (line) => console.log(line),
});
const puts = sent.filter((request) => request.method === 'PUT');

// A cancelled upload rejects as it does in a browser: an error named AbortError.
const cancelled = new AbortController();
cancelled.abort();
const cancel = await uploadVideo({ client: undefined, sessionId: 'unused', file, signal: cancelled.signal }).then(
  () => 'resolved',
  (error) => `${error.name}: ${error.message}`,
);

console.log(JSON.stringify({ event: 'done', status, puts, cancel, module: import.meta.resolve('@coach/client') }));
