import { Writable } from 'node:stream';

import { createLogger } from '../../apps/server/src/logger.ts';

/** The server's own logger writing JSON lines to memory, so a test can read what was logged. */
export function memoryLogger(level: string) {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  return { logger: createLogger({ level }, sink), lines };
}

/** pino's numeric level for `error`: entries at or above it page an operator. */
export const ERROR_LEVEL = 50;

export const parsedLines = (lines: readonly string[]) => lines.map((line) => JSON.parse(line) as { level: number; msg?: string });
