import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { context, metrics, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import {
  BatchSpanProcessor,
  SimpleSpanProcessor,
  TracerProvider,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace';

/**
 * The OpenTelemetry SDK, for the apps only: packages record through
 * `@opentelemetry/api` and stay no-ops until this installs the global meter
 * and tracer providers.
 */
export interface TelemetryOptions {
  /** Serves Prometheus text at `GET /metrics` on this address; no metrics endpoint when absent. */
  metrics?: { host: string; port: number };
  /** Sends spans over OTLP/HTTP to this URL (a collector's `/v1/traces`), in batches. */
  otlpTracesUrl?: string;
  /** Where finished spans go at once (tests pass an in-memory exporter). */
  spanExporter?: SpanExporter;
  /** The `service.name` spans are reported under (`coach-plus-api`, `coach-plus-worker`). */
  serviceName?: string;
}

export interface Telemetry {
  /** The metrics endpoint's URL (`http://host:port/metrics`), when one is served. */
  readonly metricsUrl: string | undefined;
  /** Stops the endpoint and flushes what the providers hold. */
  shutdown(): Promise<void>;
}

export async function startTelemetry(options: TelemetryOptions): Promise<Telemetry> {
  const closers: (() => Promise<void>)[] = [];

  let metricsUrl: string | undefined;
  if (options.metrics) {
    // The exporter's own server cannot listen on port 0 or report its address; this one can.
    const exporter = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true });
    const provider = new MeterProvider({ readers: [exporter] });
    metrics.setGlobalMeterProvider(provider);
    const server = createServer((req, res) => {
      if (req.method === 'GET' && req.url?.split('?')[0] === '/metrics') return exporter.getMetricsRequestHandler(req, res);
      res.writeHead(404).end();
    });
    const { host, port } = options.metrics;
    const address = await listen(server, host, port);
    metricsUrl = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}/metrics`;
    closers.push(async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await provider.shutdown();
      metrics.disable();
    });
  }

  const spanProcessors: SpanProcessor[] = [];
  if (options.otlpTracesUrl)
    spanProcessors.push(new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: options.otlpTracesUrl }) }));
  if (options.spanExporter) spanProcessors.push(new SimpleSpanProcessor({ exporter: options.spanExporter }));
  // Without a destination no provider is installed: spans stay no-ops and nothing is traced.
  if (spanProcessors.length > 0) {
    // Spans started inside a request (or a job) find it as their parent through async context;
    // installed only when spans are recorded, so an untraced request does not pay for it.
    const contextManager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(contextManager);
    const provider = new TracerProvider({
      spanProcessors,
      ...(options.serviceName ? { resource: resourceFromAttributes({ 'service.name': options.serviceName }) } : {}),
    });
    trace.setGlobalTracerProvider(provider);
    closers.push(async () => {
      await provider.shutdown();
      trace.disable();
      context.disable();
    });
  }

  return {
    metricsUrl,
    async shutdown() {
      for (const close of closers.reverse()) await close();
    },
  };
}

function listen(server: Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => resolve(server.address() as AddressInfo));
  });
}

export { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace';
