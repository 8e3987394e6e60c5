import {
  context,
  metrics,
  ROOT_CONTEXT,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Attributes,
  type Context,
  type Meter,
  type Tracer,
} from '@opentelemetry/api';

/**
 * The instrumentation scope of every metric and span the product records.
 * Packages record through the OpenTelemetry API only: without an SDK (tests,
 * tools) every call is a no-op; the apps install the SDK and its exporters.
 */
export const SIGNALS_SCOPE = 'coach-plus';

/** Seconds buckets for request and analysis durations: 5 ms to 30 min. */
const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];
/** Per-frame pose estimation: a few ms on a fast core to seconds on a starved one. */
const FRAME_MS_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000];

/**
 * Every metric the product records, named once. Attributes are bounded
 * values only (a procedure name, a status, a failure code, a phase): never
 * an id, a key or a user, which would make one series per upload.
 */
function createSignals(meter: Meter) {
  return {
    meter,
    uploadsInitiated: meter.createCounter('coachplus.uploads.initiated', {
      description: 'Uploads started by upload.initiate, by mode (single or multipart)',
    }),
    /** Completed: the bytes landed, passed the checks and the job was queued, whoever noticed. */
    uploadsCompleted: meter.createCounter('coachplus.uploads.completed', {
      description: 'Uploads whose file landed and passed the checks (job queued)',
    }),
    uploadsRejected: meter.createCounter('coachplus.uploads.rejected', {
      description: 'Uploads whose stored file failed the checks, by code',
    }),
    uploadsExpired: meter.createCounter('coachplus.uploads.expired', {
      description: 'Uploads the sweeper expired with no complete file',
    }),
    jobsFinished: meter.createCounter('coachplus.jobs.finished', {
      description: 'Analysis jobs the worker ended, by status (completed or failed)',
    }),
    jobFailures: meter.createCounter('coachplus.jobs.failures', {
      description: 'Analysis jobs failed for good, by failure code',
    }),
    analysisPhaseDuration: meter.createHistogram('coachplus.analysis.phase.duration_seconds', {
      description: 'Time one analysis spent in each phase',
      unit: 's',
      advice: { explicitBucketBoundaries: SECONDS_BUCKETS },
    }),
    poseFrameDuration: meter.createHistogram('coachplus.pose.frame.duration_ms', {
      description: "Pose estimation time per frame (a job's mean)",
      unit: 'ms',
      advice: { explicitBucketBoundaries: FRAME_MS_BUCKETS },
    }),
    queueReceiveLag: meter.createHistogram('coachplus.queue.receive.lag_seconds', {
      description: 'Time from a message being sent to a worker receiving it, by queue',
      unit: 's',
      advice: { explicitBucketBoundaries: SECONDS_BUCKETS },
    }),
    requestDuration: meter.createHistogram('coachplus.rpc.duration_seconds', {
      description: 'API procedure latency, by procedure and outcome (ok or the error code)',
      unit: 's',
      advice: { explicitBucketBoundaries: SECONDS_BUCKETS },
    }),
  };
}

export type Signals = ReturnType<typeof createSignals>;

const signalsByMeter = new WeakMap<Meter, Signals>();

/**
 * The instruments on the global meter as it is now: a no-op until the app
 * installs its meter provider, then the real one (the SDK hands out one meter
 * per scope, so the instruments are created once per provider).
 */
export function signals(): Signals {
  const meter = metrics.getMeter(SIGNALS_SCOPE);
  let found = signalsByMeter.get(meter);
  if (!found) {
    found = createSignals(meter);
    signalsByMeter.set(meter, found);
  }
  return found;
}

/** The tracer every package starts its spans with; a no-op until an app installs a tracer provider. */
export function productTracer(): Tracer {
  return trace.getTracer(SIGNALS_SCOPE);
}

/**
 * Runs `step` in a child span of the active one (a storage call, a transaction,
 * an analysis phase), ended when it settles and marked as an error if it throws.
 */
export function inSpan<T>(name: string, attributes: Attributes, step: () => Promise<T>): Promise<T> {
  return productTracer().startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await step();
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.name : 'error' });
      throw error;
    } finally {
      span.end();
    }
  });
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/**
 * The W3C `traceparent` of the span active in `ctx`, or null when nothing is
 * traced: what an outbox row and an SQS message carry so the worker's span
 * continues the request's trace, however much later the message is sent.
 */
export function traceparentOf(ctx: Context = context.active()): string | null {
  const span = trace.getSpanContext(ctx);
  if (!span || !trace.isSpanContextValid(span)) return null;
  const flags = (span.traceFlags & TraceFlags.SAMPLED).toString(16).padStart(2, '0');
  return `00-${span.traceId}-${span.spanId}-${flags}`;
}

/** A context whose remote parent is the span a `traceparent` names; the root context for a missing or malformed one. */
export function contextFromTraceparent(traceparent: string | null | undefined): Context {
  const match = traceparent ? TRACEPARENT.exec(traceparent) : null;
  if (!match) return ROOT_CONTEXT;
  const [, traceId = '', spanId = '', flags = '00'] = match;
  const spanContext = { traceId, spanId, traceFlags: Number.parseInt(flags, 16), isRemote: true };
  return trace.isSpanContextValid(spanContext) ? trace.setSpanContext(ROOT_CONTEXT, spanContext) : ROOT_CONTEXT;
}
