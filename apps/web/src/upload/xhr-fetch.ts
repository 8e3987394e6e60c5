import type { FetchLike } from '@coach/client';

/**
 * A fetch for the storage PUTs built on XMLHttpRequest, which, unlike fetch,
 * reports upload progress: `onProgress(request, loaded)` fires as each
 * request's bytes leave, `onSettled(request)` once it ended either way
 * (`request` tells concurrent part PUTs apart). Only what the uploader uses
 * is supported: method, headers, a Blob body, signal.
 */
export function createXhrFetch(p: {
  onProgress: (request: object, loadedBytes: number) => void;
  onSettled: (request: object) => void;
}): FetchLike {
  return (input, init) =>
    new Promise<Response>((resolve, reject) => {
      const signal = init?.signal;
      if (signal?.aborted) return reject(abortError());
      const request = {};
      const xhr = new XMLHttpRequest();
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      xhr.open(init?.method ?? 'GET', url);
      new Headers(init?.headers).forEach((value, name) => xhr.setRequestHeader(name, value));
      const onAbort = () => xhr.abort();
      signal?.addEventListener('abort', onAbort, { once: true });
      const settle = () => {
        signal?.removeEventListener('abort', onAbort);
        p.onSettled(request);
      };
      xhr.upload.onprogress = (event) => p.onProgress(request, event.loaded);
      xhr.onload = () => {
        settle();
        const empty = xhr.status === 204 || xhr.status === 205 || xhr.status === 304;
        resolve(
          new Response(empty ? null : xhr.responseText, {
            status: xhr.status,
            statusText: xhr.statusText,
            headers: parseHeaders(xhr.getAllResponseHeaders()),
          }),
        );
      };
      // Rejections shaped like fetch's, which the uploader's retry rules expect.
      xhr.onerror = () => {
        settle();
        reject(new TypeError('Network request failed'));
      };
      xhr.onabort = () => {
        settle();
        reject(abortError());
      };
      xhr.send((init?.body ?? null) as XMLHttpRequestBodyInit | null);
    });
}

function abortError(): DOMException {
  return new DOMException('The upload was cancelled.', 'AbortError');
}

function parseHeaders(raw: string): Headers {
  const headers = new Headers();
  for (const line of raw.trim().split(/[\r\n]+/)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  return headers;
}
