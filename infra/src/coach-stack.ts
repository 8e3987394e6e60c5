import {
  aws_certificatemanager as acm,
  Annotations,
  aws_applicationautoscaling as appscaling,
  CfnOutput,
  aws_cloudwatch as cloudwatch,
  aws_cloudwatch_actions as cwActions,
  Duration,
  aws_ec2 as ec2,
  aws_ecr as ecr,
  aws_ecs as ecs,
  aws_ecs_patterns as ecsPatterns,
  aws_elasticloadbalancingv2 as elbv2,
  Fn,
  aws_iam as iam,
  aws_logs as logs,
  aws_rds as rds,
  RemovalPolicy,
  aws_s3 as s3,
  aws_s3_notifications as s3n,
  aws_secretsmanager as secretsmanager,
  SecretValue,
  aws_sns as sns,
  aws_sns_subscriptions as snsSubscriptions,
  aws_sqs as sqs,
  Stack,
  type StackProps,
} from 'aws-cdk-lib';
import type { Construct } from 'constructs';

import {
  actionsFor,
  BUCKET_LEVEL_ACTIONS,
  OBJECT_KEY_PREFIX,
  SERVICE_AWS_CALLS,
  type ServiceAwsCalls,
} from './aws-permissions.ts';
import type { DeployConfig } from './deploy-config.ts';
import {
  CLOUDWATCH_AGENT_IMAGE,
  CLOUDWATCH_AGENT_LOG_ACTIONS,
  cloudwatchAgentConfig,
  CUSTOM_METRICS,
  prometheusScrapeConfig,
} from './metrics-agent.ts';
import {
  API_METRICS_PORT,
  API_PORT,
  apiEnv,
  migrateEnv,
  WORKER_STOP_TIMEOUT_SECONDS,
  WORKER_TUNING,
  workerEnv,
  type SecretRef,
  type ServiceEnv,
  type ServiceEnvInputs,
} from './service-env.ts';

export interface CoachStackProps extends StackProps {
  config: DeployConfig;
}

/**
 * Container health checks. ECS runs one only when the task definition declares it (an image's
 * HEALTHCHECK is ignored); these repeat the images' own (apps/server/Dockerfile,
 * apps/worker/Dockerfile). An essential container failing its check gets its task replaced.
 */
const CONTAINER_HEALTH_CHECKS = {
  // Liveness only: the load balancer's /readyz covers the dependencies. The image has no curl.
  api: {
    command: [
      'CMD',
      'node',
      '-e',
      "fetch('http://127.0.0.1:'+(process.env.PORT||8000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))",
    ],
    interval: Duration.seconds(15),
    timeout: Duration.seconds(3),
    startPeriod: Duration.seconds(20),
    retries: 3,
  },
  // The heartbeat file (WORKER_HEARTBEAT_FILE) was rewritten within 30 s by the worker's main
  // thread, and the tools every job needs run.
  worker: {
    command: ['CMD', 'sh', '-c', 'node dist/healthcheck.js && ffmpeg -version >/dev/null && ffprobe -version >/dev/null'],
    interval: Duration.seconds(30),
    timeout: Duration.seconds(10),
    startPeriod: Duration.seconds(60),
    retries: 3,
  },
} as const satisfies Record<string, ecs.HealthCheck>;

/** Backlog per worker task the scaling policy holds: one more round of jobs queued per task. */
export const WORKER_BACKLOG_PER_TASK_TARGET = WORKER_TUNING.concurrency;

/** The browser rules of the bucket: uploads (single PUT and parts) and reading results. */
export function bucketCorsRules(origins: readonly string[]): s3.CorsRule[] {
  return [
    {
      allowedOrigins: [...origins],
      // PUT: presigned uploads and parts. GET/HEAD: metrics.json, frames and the video, which a
      // player may fetch by byte ranges.
      allowedMethods: [s3.HttpMethods.PUT, s3.HttpMethods.GET, s3.HttpMethods.HEAD],
      // What presigned PUTs sign (content-length is set by the browser itself), and a player's Range.
      allowedHeaders: ['content-type', 'if-none-match', 'range'],
      // ETag: browsers must read each part's to complete a multipart upload. The rest: a player
      // reading a range learns what it got and the whole length.
      exposedHeaders: ['ETag', 'Content-Length', 'Content-Range', 'Accept-Ranges'],
      maxAge: 600,
    },
  ];
}

/**
 * Everything one deployment of Coach Plus needs: network, bucket, queues,
 * Postgres, secrets, the API behind a load balancer, the workers, alarms.
 */
export class CoachStack extends Stack {
  constructor(scope: Construct, id: string, props: CoachStackProps) {
    super(scope, id, props);
    const { config } = props;

    const vpc = new ec2.Vpc(this, 'Vpc', { maxAzs: 2, natGateways: 1 });

    // --- Storage --------------------------------------------------------------
    const bucket = new s3.Bucket(this, 'Videos', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      cors: bucketCorsRules(config.corsOrigins),
      lifecycleRules: [
        {
          id: 'abort-incomplete-uploads',
          prefix: OBJECT_KEY_PREFIX,
          // The sweeper aborts the uploads of expired jobs; this catches anything else. After the
          // longest an upload may stay open (UPLOAD_MAX_LIFETIME_SECONDS, 7 days by default) plus a day.
          abortIncompleteMultipartUploadAfter: Duration.days(8),
        },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // --- Queues ---------------------------------------------------------------
    const deadLetterQueue = new sqs.Queue(this, 'AnalysisDeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      retentionPeriod: Duration.days(14),
      enforceSSL: true,
    });
    const analysisQueue = new sqs.Queue(this, 'AnalysisQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      visibilityTimeout: Duration.seconds(WORKER_TUNING.visibilityTimeoutSeconds),
      enforceSSL: true,
      // The worker dead-letters at the same count itself; this catches a worker that dies mid-job every time.
      deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: WORKER_TUNING.maxReceives },
    });
    // Object-created events: the worker completes an upload whose bytes landed without waiting for the client.
    const uploadEventsQueue = new sqs.Queue(this, 'UploadEventsQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    bucket.addEventNotification(s3.EventType.OBJECT_CREATED, new s3n.SqsDestination(uploadEventsQueue), {
      prefix: OBJECT_KEY_PREFIX,
    });

    // --- Postgres and secrets -------------------------------------------------
    const database = new rds.DatabaseInstance(this, 'Database', {
      engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_18_3 }),
      instanceType: ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.SMALL),
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      databaseName: 'coach',
      credentials: rds.Credentials.fromGeneratedSecret('coach'),
      allocatedStorage: 20,
      maxAllocatedStorage: 200,
      storageEncrypted: true,
      backupRetention: Duration.days(7),
      deletionProtection: true,
      removalPolicy: RemovalPolicy.SNAPSHOT,
    });
    const dbSecret = database.secret;
    if (!dbSecret) throw new Error('the database has generated credentials, so it has a secret');
    // The apps take one DATABASE_URL. CloudFormation resolves the password into this
    // secret at deploy time; the template holds only the reference. The generated
    // password excludes URL-special characters. RDS requires TLS; the image does not
    // carry the RDS CA yet, hence no-verify (encrypted, server not authenticated).
    const databaseUrl = new secretsmanager.Secret(this, 'DatabaseUrl', {
      description: 'DATABASE_URL of the Coach Plus services (composed from the RDS credentials at deploy time)',
      secretStringValue: SecretValue.unsafePlainText(
        Fn.join('', [
          'postgresql://',
          dbSecret.secretValueFromJson('username').unsafeUnwrap(),
          ':',
          dbSecret.secretValueFromJson('password').unsafeUnwrap(),
          '@',
          database.dbInstanceEndpointAddress,
          ':',
          database.dbInstanceEndpointPort,
          '/coach?sslmode=no-verify',
        ]),
      ),
    });
    const jwtSecret =
      config.auth.kind === 'hs256'
        ? new secretsmanager.Secret(this, 'JwtSecret', {
            description: 'AUTH_JWT_SECRET: the HS256 key the API verifies tokens with',
            generateSecretString: { passwordLength: 64, excludePunctuation: true },
          })
        : undefined;
    const secrets: Record<SecretRef, secretsmanager.ISecret | undefined> = { databaseUrl, jwtSecret };
    const toEcsSecrets = (env: ServiceEnv) =>
      Object.fromEntries(
        Object.entries(env.secrets).map(([name, ref]) => {
          const secret = secrets[ref];
          if (!secret) throw new Error(`${name}: secret ${ref} is not provisioned with these settings`);
          return [name, ecs.Secret.fromSecretsManager(secret)];
        }),
      );

    const envInputs: ServiceEnvInputs = {
      region: this.region,
      bucketName: bucket.bucketName,
      queueUrl: analysisQueue.queueUrl,
      deadLetterQueueUrl: deadLetterQueue.queueUrl,
      uploadEventsQueueUrl: uploadEventsQueue.queueUrl,
      corsOrigins: config.corsOrigins,
      auth: config.auth,
      retention: config.retention,
    };
    const grant = (role: iam.IRole, calls: ServiceAwsCalls) => {
      const bucketActions = actionsFor(calls.bucket);
      const objectActions = bucketActions.filter((a) => !BUCKET_LEVEL_ACTIONS.has(a));
      const onBucket = bucketActions.filter((a) => BUCKET_LEVEL_ACTIONS.has(a));
      if (objectActions.length > 0) {
        role.addToPrincipalPolicy(
          new iam.PolicyStatement({ actions: objectActions, resources: [bucket.arnForObjects(`${OBJECT_KEY_PREFIX}*`)] }),
        );
      }
      if (onBucket.length > 0)
        role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: onBucket, resources: [bucket.bucketArn] }));
      for (const [queue, commands] of [
        [analysisQueue, calls.analysisQueue],
        [deadLetterQueue, calls.deadLetterQueue],
        [uploadEventsQueue, calls.uploadEventsQueue],
      ] as const) {
        if (commands.length > 0) {
          role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: actionsFor(commands), resources: [queue.queueArn] }));
        }
      }
    };

    // --- Services -------------------------------------------------------------
    // Log groups declared here rather than through `logRetention`, which adds a Lambda to set it.
    const logGroup = (id: string) =>
      new logs.LogGroup(this, id, { retention: logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.RETAIN });
    const cluster = new ecs.Cluster(this, 'Cluster', { vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED });

    const api = apiEnv(envInputs);
    const apiTaskRole = new iam.Role(this, 'ApiTaskRole', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });
    grant(apiTaskRole, SERVICE_AWS_CALLS.api);
    const certificate = config.certificateArn
      ? acm.Certificate.fromCertificateArn(this, 'Certificate', config.certificateArn)
      : undefined;
    if (!certificate)
      Annotations.of(this).addWarningV2('coach:http-only', 'No certificateArn given: the API listens on plain HTTP port 80.');
    const apiService = new ecsPatterns.ApplicationLoadBalancedFargateService(this, 'Api', {
      cluster,
      cpu: 512,
      memoryLimitMiB: 1024,
      desiredCount: 2,
      // Deployments start new tasks before stopping old ones.
      minHealthyPercent: 100,
      publicLoadBalancer: true,
      certificate,
      protocol: certificate ? elbv2.ApplicationProtocol.HTTPS : elbv2.ApplicationProtocol.HTTP,
      redirectHTTP: certificate !== undefined,
      circuitBreaker: { rollback: true },
      taskImageOptions: {
        image: ecs.ContainerImage.fromEcrRepository(
          ecr.Repository.fromRepositoryName(this, 'ApiRepository', config.apiRepository),
          config.imageTag,
        ),
        containerName: 'api',
        containerPort: API_PORT,
        taskRole: apiTaskRole,
        environment: api.environment,
        secrets: toEcsSecrets(api),
        logDriver: ecs.LogDrivers.awsLogs({ streamPrefix: 'api', logGroup: logGroup('ApiLogs') }),
      },
    });
    // The pattern refuses a desired count of 0; the first deployment sets it on the service itself.
    if (!config.startServices) (apiService.service.node.defaultChild as ecs.CfnService).desiredCount = 0;
    // Ready means Postgres, the bucket and the queue answer.
    apiService.targetGroup.configureHealthCheck({ path: '/readyz', healthyHttpCodes: '200' });
    const apiContainer = apiService.taskDefinition.defaultContainer;
    if (!apiContainer) throw new Error('the API task definition has its container');
    // taskImageOptions takes no health check; the L1 property carries it into the task definition.
    const cfnApiTask = apiService.taskDefinition.node.defaultChild as ecs.CfnTaskDefinition;
    cfnApiTask.addPropertyOverride('ContainerDefinitions.0.HealthCheck', {
      Command: CONTAINER_HEALTH_CHECKS.api.command,
      Interval: CONTAINER_HEALTH_CHECKS.api.interval.toSeconds(),
      Timeout: CONTAINER_HEALTH_CHECKS.api.timeout.toSeconds(),
      StartPeriod: CONTAINER_HEALTH_CHECKS.api.startPeriod.toSeconds(),
      Retries: CONTAINER_HEALTH_CHECKS.api.retries,
    });

    // The CloudWatch agent beside the API scrapes its /metrics on localhost and writes the
    // alarms' metrics as EMF into one log group, the only thing its rights reach.
    // A literal name (not the resource's Ref) so the agent's JSON configuration stays plain text.
    const metricsLogGroupName = `/coachplus/${this.stackName}/api-metrics`;
    const metricsLogGroup = new logs.LogGroup(this, 'ApiMetricsLogs', {
      logGroupName: metricsLogGroupName,
      retention: logs.RetentionDays.ONE_WEEK,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    apiTaskRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: [...CLOUDWATCH_AGENT_LOG_ACTIONS],
        // The group's ARN ends in `:*`, which covers its streams (PutLogEvents is authorised on a stream).
        resources: [metricsLogGroup.logGroupArn],
      }),
    );
    apiService.taskDefinition.addContainer('cloudwatch-agent', {
      containerName: 'cloudwatch-agent',
      image: ecs.ContainerImage.fromRegistry(CLOUDWATCH_AGENT_IMAGE),
      // Losing metrics must not take the API down: the agent is not essential.
      essential: false,
      memoryReservationMiB: 128,
      environment: {
        AWS_REGION: this.region,
        CW_CONFIG_CONTENT: cloudwatchAgentConfig(metricsLogGroupName),
        PROMETHEUS_CONFIG_CONTENT: prometheusScrapeConfig(API_METRICS_PORT),
      },
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: 'cloudwatch-agent', logGroup: logGroup('MetricsAgentLogs') }),
    });
    // The agent writes into the group by name: it must exist before the first task starts.
    apiService.taskDefinition.node.addDependency(metricsLogGroup);

    // With startServices=false (the first deployment, before the migration) no worker runs.
    const workerMinTasks = config.startServices ? config.workerMinTasks : 0;
    const worker = workerEnv(envInputs);
    const workerTask = new ecs.FargateTaskDefinition(this, 'WorkerTask', { cpu: 2048, memoryLimitMiB: 4096 });
    grant(workerTask.taskRole, SERVICE_AWS_CALLS.worker);
    workerTask.addContainer('worker', {
      containerName: 'worker',
      image: ecs.ContainerImage.fromEcrRepository(
        ecr.Repository.fromRepositoryName(this, 'WorkerRepository', config.workerRepository),
        config.imageTag,
      ),
      environment: worker.environment,
      secrets: toEcsSecrets(worker),
      healthCheck: CONTAINER_HEALTH_CHECKS.worker,
      stopTimeout: Duration.seconds(WORKER_STOP_TIMEOUT_SECONDS),
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: 'worker', logGroup: logGroup('WorkerLogs') }),
    });
    const workerService = new ecs.FargateService(this, 'Worker', {
      cluster,
      taskDefinition: workerTask,
      desiredCount: workerMinTasks,
      minHealthyPercent: 100,
      circuitBreaker: { rollback: true },
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
    });

    // The migration: a one-off task with the API image (release tag `migrationImageTag`, so it can
    // run before the services roll), its own security group, and only the database secret.
    const migrate = migrateEnv();
    const migrateTask = new ecs.FargateTaskDefinition(this, 'MigrateTask', { cpu: 256, memoryLimitMiB: 512 });
    migrateTask.addContainer('migrate', {
      containerName: 'migrate',
      image: ecs.ContainerImage.fromEcrRepository(
        ecr.Repository.fromRepositoryName(this, 'MigrateRepository', config.apiRepository),
        config.migrationImageTag,
      ),
      command: ['node', 'dist/migrate.js'],
      environment: migrate.environment,
      secrets: toEcsSecrets(migrate),
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: 'migrate', logGroup: logGroup('MigrateLogs') }),
    });
    // Egress: the image pull, Secrets Manager and the logs go out through the NAT gateway.
    const migrateSecurityGroup = new ec2.SecurityGroup(this, 'MigrateSecurityGroup', {
      vpc,
      description: 'One-off migration tasks: reach Postgres, nothing reaches them',
      allowAllOutbound: true,
    });

    for (const peer of [apiService.service, workerService, migrateSecurityGroup]) {
      database.connections.allowDefaultPortFrom(peer);
    }

    // Workers scale on backlog per task: visible messages / running tasks, held at
    // WORKER_BACKLOG_PER_TASK_TARGET. At least one task always runs: the sweeper lives in the worker.
    const workerScaling = new appscaling.ScalableTarget(this, 'WorkerScaling', {
      serviceNamespace: appscaling.ServiceNamespace.ECS,
      resourceId: `service/${cluster.clusterName}/${workerService.serviceName}`,
      scalableDimension: 'ecs:service:DesiredCount',
      minCapacity: workerMinTasks,
      maxCapacity: config.startServices ? config.workerMaxTasks : 0,
    });
    workerScaling.node.addDependency(workerService);
    new appscaling.CfnScalingPolicy(this, 'WorkerBacklogPerTask', {
      policyName: 'worker-backlog-per-task',
      policyType: 'TargetTrackingScaling',
      scalingTargetId: workerScaling.scalableTargetId,
      targetTrackingScalingPolicyConfiguration: {
        targetValue: WORKER_BACKLOG_PER_TASK_TARGET,
        scaleOutCooldown: 60,
        scaleInCooldown: 300,
        customizedMetricSpecification: {
          metrics: [
            {
              id: 'visible',
              returnData: false,
              metricStat: {
                metric: {
                  namespace: 'AWS/SQS',
                  metricName: 'ApproximateNumberOfMessagesVisible',
                  dimensions: [{ name: 'QueueName', value: analysisQueue.queueName }],
                },
                stat: 'Average',
              },
            },
            {
              id: 'running',
              returnData: false,
              metricStat: {
                metric: {
                  namespace: 'ECS/ContainerInsights',
                  metricName: 'RunningTaskCount',
                  dimensions: [
                    { name: 'ClusterName', value: cluster.clusterName },
                    { name: 'ServiceName', value: workerService.serviceName },
                  ],
                },
                stat: 'Average',
              },
            },
            {
              id: 'backlogPerTask',
              expression: 'visible / running',
              label: 'Analysis backlog per worker task',
              returnData: true,
            },
          ],
        },
      },
    });

    // --- Alarms ---------------------------------------------------------------
    const alarmTopic = new sns.Topic(this, 'Alarms');
    if (config.alarmEmail) alarmTopic.addSubscription(new snsSubscriptions.EmailSubscription(config.alarmEmail));
    const notify = (alarm: cloudwatch.Alarm) => alarm.addAlarmAction(new cwActions.SnsAction(alarmTopic));

    notify(
      new cloudwatch.Alarm(this, 'DeadLetterQueueNotEmpty', {
        alarmDescription: 'Analysis messages were dead-lettered: inspect them, fix the cause, then replay.',
        metric: deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
    notify(
      new cloudwatch.Alarm(this, 'AnalysisQueueAge', {
        alarmDescription: 'A queued analysis has waited over 10 minutes: workers are down, stuck or at their maximum.',
        metric: analysisQueue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), statistic: 'Maximum' }),
        threshold: 600,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 5,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
    notify(
      new cloudwatch.Alarm(this, 'OutboxOldestUnsentAge', {
        alarmDescription:
          'The oldest outbox row has waited over 5 minutes to be sent to the queue: SQS is failing or the API relay is stuck.',
        metric: new cloudwatch.Metric({
          namespace: CUSTOM_METRICS.namespace,
          metricName: CUSTOM_METRICS.outboxOldestUnsentAgeSeconds,
          dimensionsMap: CUSTOM_METRICS.dimensions,
          period: Duration.minutes(1),
          statistic: 'Maximum',
        }),
        threshold: 300,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
        // No data: no API task scraped (all stopped, or the agent failed), shown as INSUFFICIENT_DATA.
        treatMissingData: cloudwatch.TreatMissingData.MISSING,
      }),
    );
    const lb = apiService.loadBalancer.metrics;
    const fiveMinutes = { period: Duration.minutes(5), statistic: 'Sum' } as const;
    notify(
      new cloudwatch.Alarm(this, 'Api5xxRate', {
        alarmDescription: 'Over 5% of API requests answered 5xx (from the API or the load balancer) for 10 minutes.',
        metric: new cloudwatch.MathExpression({
          label: 'API 5xx rate (%)',
          expression: '100 * (FILL(target5xx, 0) + FILL(elb5xx, 0)) / requests',
          usingMetrics: {
            target5xx: lb.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, fiveMinutes),
            elb5xx: lb.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, fiveMinutes),
            requests: lb.requestCount(fiveMinutes),
          },
          period: Duration.minutes(5),
        }),
        threshold: 5,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 2,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );

    // --- Outputs --------------------------------------------------------------
    new CfnOutput(this, 'ApiUrl', {
      value: `${certificate ? 'https' : 'http'}://${apiService.loadBalancer.loadBalancerDnsName}`,
    });
    new CfnOutput(this, 'BucketName', { value: bucket.bucketName });
    new CfnOutput(this, 'AnalysisQueueUrl', { value: analysisQueue.queueUrl });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: deadLetterQueue.queueUrl });
    new CfnOutput(this, 'UploadEventsQueueUrl', { value: uploadEventsQueue.queueUrl });
    new CfnOutput(this, 'DatabaseUrlSecretArn', { value: databaseUrl.secretArn });
    if (jwtSecret) new CfnOutput(this, 'JwtSecretArn', { value: jwtSecret.secretArn });
    new CfnOutput(this, 'AlarmTopicArn', { value: alarmTopic.topicArn });
    new CfnOutput(this, 'ClusterName', { value: cluster.clusterName });
    new CfnOutput(this, 'WorkerServiceName', { value: workerService.serviceName });
    new CfnOutput(this, 'ApiServiceName', { value: apiService.service.serviceName });
    new CfnOutput(this, 'ImageTag', { value: config.imageTag, description: 'The release the services run' });
    // The migration's `aws ecs run-task` parameters (docs/deploy.md).
    new CfnOutput(this, 'MigrateTaskDefinitionArn', { value: migrateTask.taskDefinitionArn });
    new CfnOutput(this, 'MigrateNetworkConfiguration', {
      description: 'aws ecs run-task --network-configuration for the migration',
      value: this.toJsonString({
        awsvpcConfiguration: {
          subnets: vpc.privateSubnets.map((subnet) => subnet.subnetId),
          securityGroups: [migrateSecurityGroup.securityGroupId],
          assignPublicIp: 'DISABLED',
        },
      }),
    });
  }
}
