import { App } from 'aws-cdk-lib';

import { CoachStack } from '../src/coach-stack.ts';
import { readDeployConfig } from '../src/deploy-config.ts';

const app = new App();
new CoachStack(app, app.node.tryGetContext('stackName') ?? 'CoachPlus', {
  config: readDeployConfig((key) => app.node.tryGetContext(key)),
  description: 'Coach Plus: API, analysis workers, bucket, queues and Postgres',
});
