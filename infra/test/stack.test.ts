import { readFileSync } from 'node:fs';
import path from 'node:path';

import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';

import { WORKER_BACKLOG_PER_TASK_TARGET } from '../src/coach-stack.ts';
import { DeployConfigError, readDeployConfig } from '../src/deploy-config.ts';
import { APP_ORIGIN, expectResource, synthTemplates } from './synth.ts';

let templates: ReturnType<typeof synthTemplates>;
let template: Template;
beforeAll(() => {
  templates = synthTemplates();
  template = templates.hs256;
});

describe('bucket', () => {
  it('blocks public access, encrypts, refuses plain HTTP and aborts forgotten multipart uploads after 2 days', () => {
    expectResource(template, 'AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      LifecycleConfiguration: {
        Rules: [
          {
            Id: 'abort-incomplete-uploads',
            Prefix: 'coach_plus/',
            Status: 'Enabled',
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: 8 },
          },
        ],
      },
    });
    expectResource(template, 'AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('lets the app origins PUT uploads and GET/HEAD results and video ranges, with the signed headers, exposing ETag', () => {
    expectResource(template, 'AWS::S3::Bucket', {
      CorsConfiguration: {
        CorsRules: [
          {
            AllowedOrigins: [APP_ORIGIN, 'https://admin.example.com'],
            AllowedMethods: ['PUT', 'GET', 'HEAD'],
            AllowedHeaders: ['content-type', 'if-none-match', 'range'],
            ExposedHeaders: ['ETag', 'Content-Length', 'Content-Range', 'Accept-Ranges'],
            MaxAge: 600,
          },
        ],
      },
    });
  });

  it("provisions the rule README's production checklist gives", () => {
    const readme = readFileSync(path.resolve(import.meta.dirname, '../../README.md'), 'utf8');
    const documented = /`(\[\{"AllowedOrigins".*?\}\])`/.exec(readme)?.[1];
    expect(documented, 'the CORS rule in README').toBeDefined();
    const [rule] = JSON.parse(documented ?? '[]') as Record<string, unknown>[];
    const bucket = Object.values(template.findResources('AWS::S3::Bucket'))[0] as {
      Properties: { CorsConfiguration: { CorsRules: Record<string, unknown>[] } };
    };
    const {
      AllowedOrigins: _origins,
      ExposedHeaders,
      MaxAge,
      ...provisioned
    } = bucket.Properties.CorsConfiguration.CorsRules[0] ?? {};
    // The same rule under S3's API names (ExposeHeaders, MaxAgeSeconds) for any origin list.
    const { AllowedOrigins: _example, ...readmeRule } = rule ?? {};
    expect(readmeRule).toEqual({ ...provisioned, ExposeHeaders: ExposedHeaders, MaxAgeSeconds: MaxAge });
  });

  it('sends object-created events under coach_plus/ to the upload-events queue', () => {
    const queueId = Object.keys(template.findResources('AWS::SQS::Queue')).find((id) => id.startsWith('UploadEventsQueue'));
    expectResource(template, 'Custom::S3BucketNotifications', {
      NotificationConfiguration: {
        QueueConfigurations: [
          {
            Events: ['s3:ObjectCreated:*'],
            Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'coach_plus/' }] } },
            QueueArn: { 'Fn::GetAtt': [queueId, 'Arn'] },
          },
        ],
      },
    });
  });
});

describe('Postgres and secrets', () => {
  it('runs encrypted Postgres with generated credentials, and composes DATABASE_URL without the password in the template', () => {
    expectResource(template, 'AWS::RDS::DBInstance', {
      Engine: 'postgres',
      StorageEncrypted: true,
      DBName: 'coach',
      DeletionProtection: true,
    });
    const urlSecret = Object.entries(template.findResources('AWS::SecretsManager::Secret')).find(([id]) =>
      id.startsWith('DatabaseUrl'),
    );
    const serialized = JSON.stringify(urlSecret?.[1]);
    expect(serialized).toContain('{{resolve:secretsmanager:');
    expect(serialized).toContain(':SecretString:password::}}');
  });

  it('generates the HS256 secret only when no JWKS URL is given', () => {
    const jwtSecrets = (t: Template) =>
      Object.keys(t.findResources('AWS::SecretsManager::Secret')).filter((id) => id.startsWith('JwtSecret'));
    expect(jwtSecrets(templates.hs256)).toHaveLength(1);
    expect(jwtSecrets(templates.jwks)).toHaveLength(0);
  });
});

describe('services', () => {
  it('serves the API through a load balancer checking /readyz, over HTTPS when a certificate is given', () => {
    expectResource(template, 'AWS::ElasticLoadBalancingV2::TargetGroup', { HealthCheckPath: '/readyz' });
    expectResource(template, 'AWS::ECS::TaskDefinition', {
      ContainerDefinitions: Match.arrayWith([
        Match.objectLike({ Name: 'api', PortMappings: [Match.objectLike({ ContainerPort: 8000 })] }),
      ]),
    });
    expectResource(template, 'AWS::ElasticLoadBalancingV2::Listener', { Port: 80, Protocol: 'HTTP' });
    expectResource(templates.jwks, 'AWS::ElasticLoadBalancingV2::Listener', { Port: 443, Protocol: 'HTTPS' });
  });

  it('scales the workers on analysis backlog per running task, never below one task (the sweeper runs there)', () => {
    expectResource(template, 'AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 1, MaxCapacity: 10 });
    expectResource(template, 'AWS::ApplicationAutoScaling::ScalingPolicy', {
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingScalingPolicyConfiguration: {
        TargetValue: WORKER_BACKLOG_PER_TASK_TARGET,
        CustomizedMetricSpecification: {
          Metrics: [
            Match.objectLike({
              Id: 'visible',
              MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'ApproximateNumberOfMessagesVisible' }) }),
            }),
            Match.objectLike({
              Id: 'running',
              MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'RunningTaskCount' }) }),
            }),
            Match.objectLike({ Expression: 'visible / running', ReturnData: true }),
          ],
        },
      },
    });
  });
});

describe('alarms', () => {
  it('alarms when the dead-letter queue holds any message', () => {
    expectResource(template, 'AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Namespace: 'AWS/SQS',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      Dimensions: [
        { Name: 'QueueName', Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^AnalysisDeadLetterQueue'), 'QueueName'] } },
      ],
      AlarmActions: Match.anyValue(),
    });
  });

  it('alarms on the age of the oldest queued analysis', () => {
    expectResource(template, 'AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^AnalysisQueue'), 'QueueName'] } }],
      Threshold: 600,
    });
  });

  it('alarms on the API 5xx rate (target and load balancer answers over requests)', () => {
    expectResource(template, 'AWS::CloudWatch::Alarm', {
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: '100 * (FILL(target5xx, 0) + FILL(elb5xx, 0)) / requests' }),
        Match.objectLike({
          Id: 'target5xx',
          MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'HTTPCode_Target_5XX_Count' }) }),
        }),
        Match.objectLike({
          Id: 'elb5xx',
          MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'HTTPCode_ELB_5XX_Count' }) }),
        }),
      ]),
      Threshold: 5,
    });
  });
});

describe('deploy settings', () => {
  it('lists every missing or malformed setting at once', () => {
    const context: Record<string, string> = {
      corsOrigins: 'https://app.example.com/',
      jwksUrl: 'https://auth.example.com/jwks',
      workerMaxTasks: '0',
    };
    expect(() => readDeployConfig((key) => context[key])).toThrow(DeployConfigError);
    expect(() => readDeployConfig((key) => context[key])).toThrow(
      [
        'Invalid deploy settings:',
        '  - corsOrigins: https://app.example.com/ is not an origin like https://app.example.com (no path, no trailing slash)',
        '  - jwtIssuer: required with jwksUrl',
        '  - jwtAudience: required with jwksUrl',
        '  - workerMaxTasks: must be a whole number of at least 1 (got 0)',
      ].join('\n'),
    );
    expect(() => readDeployConfig(() => undefined)).toThrow(/corsOrigins: required/);
  });

  it('refuses retention days that are not whole, or originals kept as long as everything', () => {
    const settings = (extra: Record<string, string>) => {
      const context: Record<string, string> = { corsOrigins: 'https://app.example.com', ...extra };
      return () => readDeployConfig((key) => context[key]);
    };
    expect(settings({ retentionDeleteOriginalsAfterDays: '1.5' })).toThrow(
      'retentionDeleteOriginalsAfterDays: must be a whole number of at least 1 (got 1.5)',
    );
    expect(settings({ retentionDeleteOriginalsAfterDays: '30', retentionDeleteEverythingAfterDays: '30' })).toThrow(
      'retentionDeleteOriginalsAfterDays: must be fewer days than retentionDeleteEverythingAfterDays',
    );
    expect(settings({ retentionDeleteEverythingAfterDays: '90' })().retention).toEqual({
      deleteOriginalsAfterDays: undefined,
      deleteEverythingAfterDays: 90,
    });
  });
});
