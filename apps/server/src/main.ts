import { startTelemetry } from '@coach/telemetry';
import { workerShutdownMs } from '@coach/worker';

import { buildApp, LISTEN_BACKLOG } from './app.ts';
import { startBanner } from './banner.ts';
import { setUpLocalDev } from './dev/local-dev.ts';
import { ConfigError, loadConfig } from './env.ts';
import { createLogger, isPrettyOutput } from './logger.ts';
import { startRuntime, StartupError } from './runtime.ts';

let config;
try {
  config = loadConfig(process.env);
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  throw error;
}

// Production writes JSON lines whatever the terminal: they go to a log collector.
const logger = createLogger({
  level: config.logLevel,
  pretty: config.env !== 'production' && isPrettyOutput(process.stdout),
});
// First: instruments created from here on record into the SDK.
const telemetry = await startTelemetry({
  metrics: config.metricsPort === undefined ? undefined : { host: config.host, port: config.metricsPort },
  otlpTracesUrl: config.otlpTracesUrl,
  serviceName: 'coach-plus-api',
});
if (telemetry.metricsUrl) logger.info({ metricsUrl: telemetry.metricsUrl }, 'metrics endpoint ready');
let runtime;
try {
  runtime = await startRuntime(config, logger);
} catch (error) {
  // A setting that cannot work (no embedded stack in a build, a missing bucket or queue): one message, no stack.
  if (error instanceof ConfigError || error instanceof StartupError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  throw error;
}
const app = await buildApp(
  { corsOrigins: config.corsOrigins, logger },
  {
    db: runtime.db,
    storage: runtime.storage,
    queue: runtime.queue,
    outbox: runtime.outbox,
    jobEvents: runtime.jobEvents,
    verifyToken: runtime.verifyToken,
    config,
  },
);
app.addHook('onClose', async () => {
  await runtime.close();
  await telemetry.shutdown();
});
const localDev = setUpLocalDev(app, config, logger);

// `on`, not `once`: a second signal while closing (a Ctrl-C pressed twice) must not find the
// process without a handler, which would end it at once with status 130, mid-shutdown.
let closing = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down');
    // An in-process worker needs its shutdown budget and its last long poll; the API alone, a few seconds.
    const deadlineMs = config.workerInProcess ? workerShutdownMs(config.worker.worker) : 15_000;
    const force = setTimeout(() => process.exit(1), deadlineMs);
    force.unref();
    void app.close().then(() => process.exit(0));
  });
}

const address = await app.listen({ host: config.host, port: config.port, backlog: LISTEN_BACKLOG });
app.log.info(`API ready at ${address}/trpc (live: ${address}/healthz, ready: ${address}/readyz)`);
const web = await localDev?.serveWebApp(`${address}/trpc`);
process.stdout.write(startBanner({ address, web }));
