import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
};

/** Serves a built single-page app on 127.0.0.1 (unknown paths get index.html), as any static host would. */
export async function serveStatic(root: string): Promise<{ port: number; close(): Promise<void> }> {
  const server = createServer((request, response) => {
    void (async () => {
      const pathname = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname);
      const file = path.join(root, path.normalize(pathname));
      const inside = file.startsWith(root + path.sep);
      try {
        const body = await readFile(inside && path.extname(file) ? file : path.join(root, 'index.html'));
        const type = inside && path.extname(file) ? TYPES[path.extname(file)] : TYPES['.html'];
        response.writeHead(200, { 'content-type': type ?? 'application/octet-stream' }).end(body);
      } catch {
        response.writeHead(404).end('not found');
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
