import { TEST_REGION, type TestServer } from '../../../../test/helpers/server.ts';

/**
 * The environment a worker process (or one of its CLIs) is given in production, pointed at
 * one test server's database, bucket and queues; each test adds the settings it is about.
 */
export function workerProcessEnv(server: TestServer): Record<string, string | undefined> {
  return {
    PATH: process.env.PATH,
    DATABASE_URL: server.dbUrl,
    AWS_REGION: TEST_REGION,
    AWS_ENDPOINT_URL: server.endpoint,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    S3_COACH_VIDEOS_BUCKET: server.bucket,
    SQS_VIDEO_ANALYSIS_QUEUE_URL: server.queueUrl,
    SQS_VIDEO_ANALYSIS_DLQ_URL: server.dlqUrl,
  };
}
