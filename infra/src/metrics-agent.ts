/**
 * The CloudWatch agent that runs beside the API in its task: it scrapes the
 * API's Prometheus `/metrics` on localhost and writes the metrics the alarms
 * read as embedded-metric-format (EMF) log events, from which CloudWatch
 * extracts them. EMF needs only CloudWatch Logs rights on one log group, no
 * `cloudwatch:PutMetricData` (which IAM cannot scope to a namespace's resource).
 */

export const CLOUDWATCH_AGENT_IMAGE = 'public.ecr.aws/cloudwatch-agent/cloudwatch-agent:latest';

/** The Prometheus job the agent scrapes the API as; it becomes the metrics' `job` dimension. */
const API_SCRAPE_JOB = 'coachplus-api';

/** Metrics the alarms read. The agent keeps Prometheus names; `job` is their one dimension. */
export const CUSTOM_METRICS = {
  namespace: 'CoachPlus',
  /** Age in seconds of the oldest outbox row not yet sent to the queue (the API reads it from Postgres). */
  outboxOldestUnsentAgeSeconds: 'coachplus_outbox_oldest_unsent_age_seconds',
  dimensions: { job: API_SCRAPE_JOB },
} as const;

/** Every 30 s, so each one-minute alarm period has a data point even when one scrape is lost. */
const SCRAPE_INTERVAL = '30s';

/**
 * PROMETHEUS_CONFIG_CONTENT: the scrape configuration. Written as JSON, which
 * is YAML, so the tests read it back with JSON.parse.
 */
export function prometheusScrapeConfig(metricsPort: number): string {
  return JSON.stringify({
    global: { scrape_interval: SCRAPE_INTERVAL, scrape_timeout: '10s' },
    scrape_configs: [
      {
        job_name: API_SCRAPE_JOB,
        metrics_path: '/metrics',
        // Containers of one Fargate task share the network namespace.
        static_configs: [{ targets: [`127.0.0.1:${metricsPort}`] }],
      },
    ],
  });
}

/** CW_CONFIG_CONTENT: which scraped metrics become CloudWatch metrics, in which namespace and log group. */
export function cloudwatchAgentConfig(logGroupName: string): string {
  return JSON.stringify({
    logs: {
      metrics_collected: {
        prometheus: {
          log_group_name: logGroupName,
          prometheus_config_path: 'env:PROMETHEUS_CONFIG_CONTENT',
          emf_processor: {
            metric_namespace: CUSTOM_METRICS.namespace,
            metric_declaration: [
              {
                source_labels: ['job'],
                label_matcher: `^${API_SCRAPE_JOB}$`,
                dimensions: [Object.keys(CUSTOM_METRICS.dimensions)],
                // Only what an alarm reads: every EMF metric is a billed custom metric.
                metric_selectors: [`^${CUSTOM_METRICS.outboxOldestUnsentAgeSeconds}$`],
              },
            ],
          },
        },
      },
      force_flush_interval: 5,
    },
  });
}

/**
 * The CloudWatch Logs actions the agent calls to write EMF events into an
 * existing log group: find or create its stream, then put events.
 */
export const CLOUDWATCH_AGENT_LOG_ACTIONS = ['logs:CreateLogStream', 'logs:DescribeLogStreams', 'logs:PutLogEvents'] as const;
