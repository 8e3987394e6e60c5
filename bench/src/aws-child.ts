// The S3/SQS emulator in its own process, so its CPU (it buffers every PUT body)
// is never counted as the API server's.
import { startLocalAws } from '@coach/local-stack';

const GIB = 1024 ** 3;
const local = await startLocalAws({ region: 'us-east-1', maxBodyBytes: 2 * GIB });
await local.createBucket('bench-videos');
const { queueUrl, dlqUrl } = await local.createQueueWithDlq('bench-analysis', { maxReceiveCount: 5 });
process.stdout.write(`${JSON.stringify({ ready: true, endpoint: local.endpoint, bucket: 'bench-videos', queueUrl, dlqUrl })}\n`);
process.once('SIGTERM', () => void local.stop().then(() => process.exit(0)));
