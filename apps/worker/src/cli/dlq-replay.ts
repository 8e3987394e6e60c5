import { parseArgs } from 'node:util';

import { createAwsClients, createSqsQueue } from '@coach/aws';
import { replayDeadLetters } from '@coach/worker';

import { loadWorkerConfig } from '../env.ts';

/**
 * `pnpm dlq:replay [--max N] [--dry-run]`: moves dead-lettered analysis
 * messages back to the analysis queue, in the worker's environment, and prints
 * what it moved as one JSON line (count and job ids).
 */
const { values } = parseArgs({
  options: { max: { type: 'string', default: '1000' }, 'dry-run': { type: 'boolean', default: false } },
});
const max = Number(values.max);
if (!Number.isInteger(max) || max < 1) {
  process.stderr.write(`--max must be a whole number of at least 1 (got "${values.max}")\n`);
  process.exit(2);
}
let config;
try {
  config = loadWorkerConfig(process.env);
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
const aws = createAwsClients({ region: config.aws.region, sqsEndpoint: config.aws.sqsEndpoint });
try {
  const report = await replayDeadLetters({
    deadLetterQueue: createSqsQueue({
      sqs: aws.sqs,
      queueUrl: config.aws.deadLetterQueueUrl,
      setting: 'SQS_VIDEO_ANALYSIS_DLQ_URL',
    }),
    queue: createSqsQueue({ sqs: aws.sqs, queueUrl: config.aws.queueUrl, setting: 'SQS_VIDEO_ANALYSIS_QUEUE_URL' }),
    max,
    dryRun: values['dry-run'],
  });
  process.stdout.write(`${JSON.stringify(report)}\n`);
} finally {
  aws.destroy();
}
