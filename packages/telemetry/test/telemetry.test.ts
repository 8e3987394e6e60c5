import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import { metrics, trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';

import { startTelemetry } from '../src/index.ts';

describe('startTelemetry', () => {
  it('sends spans over OTLP/HTTP to the configured URL, named for the service', async () => {
    const bodies: string[] = [];
    const collector = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        if (req.method === 'POST' && req.url === '/v1/traces') bodies.push(body);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    const { port } = collector.address() as AddressInfo;
    const telemetry = await startTelemetry({
      otlpTracesUrl: `http://127.0.0.1:${port}/v1/traces`,
      serviceName: 'coach-plus-test',
    });
    try {
      trace.getTracer('test').startSpan('exported span').end();
    } finally {
      // Shutting down flushes the batch.
      await telemetry.shutdown();
      await new Promise((resolve) => collector.close(resolve));
    }
    const sent = bodies.join('\n');
    expect(sent).toContain('exported span');
    expect(sent).toContain('coach-plus-test');
  });

  it('serves Prometheus text at GET /metrics only, on the port asked for (0: any free one)', async () => {
    const telemetry = await startTelemetry({ metrics: { host: '127.0.0.1', port: 0 } });
    try {
      const url = telemetry.metricsUrl ?? '';
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      metrics.getMeter('test').createCounter('coachplus.test.things').add(2, { kind: 'a' });
      const scrape = await fetch(url);
      expect(scrape.status).toBe(200);
      expect(await scrape.text()).toContain('coachplus_test_things_total{kind="a"} 2');
      expect((await fetch(url.replace('/metrics', '/other'))).status).toBe(404);
    } finally {
      await telemetry.shutdown();
    }
  });
});
