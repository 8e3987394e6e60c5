import { readFileSync } from 'node:fs';
import path from 'node:path';

import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';

import { loadConfig, loadMigrateConfig } from '../../apps/server/src/env.ts';
import { loadWorkerConfig } from '../../apps/worker/src/env.ts';
import { CoachStack } from '../src/coach-stack.ts';
import { readDeployConfig } from '../src/deploy-config.ts';
import { containerEnv, expectResource, synthTemplates } from './synth.ts';

const repo = path.resolve(import.meta.dirname, '../..');
const read = (file: string) => readFileSync(path.join(repo, file), 'utf8');

/** Build entries of an app (`scripts/build-app.mjs name=src/…`): what `dist/` holds. */
function buildEntries(app: string): string[] {
  const { scripts } = JSON.parse(read(`apps/${app}/package.json`)) as { scripts: Record<string, string> };
  return [...(scripts.build ?? '').matchAll(/ (\w+)=src\//g)].map((m) => `dist/${m[1] ?? ''}.js`);
}

/** What a container receives as plain values, with CloudFormation-filled ones given shapes like the real ones. */
function plainEnv(environment: Record<string, unknown>, secrets: string[]): Record<string, string> {
  const runtime: Record<string, string> = {
    AWS_REGION: 'eu-west-1',
    S3_COACH_VIDEOS_BUCKET: 'coach-videos-1a2b3c',
    SQS_VIDEO_ANALYSIS_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/AnalysisQueue',
    SQS_VIDEO_ANALYSIS_DLQ_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/AnalysisDeadLetterQueue',
    SQS_UPLOAD_EVENTS_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/UploadEventsQueue',
    DATABASE_URL: 'postgresql://coach:pw@coach.abc.eu-west-1.rds.amazonaws.com:5432/coach?sslmode=no-verify',
    AUTH_JWT_SECRET: 'a'.repeat(64),
  };
  const given = Object.fromEntries(
    Object.entries(environment).map(([name, value]) => [name, typeof value === 'string' ? value : (runtime[name] ?? '')]),
  );
  for (const name of secrets) given[name] = runtime[name] ?? '';
  return given;
}

let template: Template;
beforeAll(() => {
  template = synthTemplates().hs256;
});

/** An image's HEALTHCHECK as ECS takes it: its options in seconds and its exec-form command. */
function dockerfileHealthCheck(dockerfile: string) {
  const instruction = /^HEALTHCHECK ((?:.*\\\n)*.*)$/m.exec(read(dockerfile))?.[1]?.replaceAll('\\\n', ' ');
  if (!instruction) throw new Error(`${dockerfile}: no HEALTHCHECK`);
  const option = (name: string) => /^(\d+)s?$/.exec(new RegExp(`--${name}=(\\S+)`).exec(instruction)?.[1] ?? '')?.[1];
  const command = /CMD (\[.*\])\s*$/.exec(instruction)?.[1];
  if (!command) throw new Error(`${dockerfile}: HEALTHCHECK is not in exec form`);
  return {
    Command: ['CMD', ...(JSON.parse(command) as string[])],
    Interval: Number(option('interval')),
    Timeout: Number(option('timeout')),
    StartPeriod: Number(option('start-period')),
    Retries: Number(option('retries')),
  };
}

describe('container health checks (ECS ignores an image HEALTHCHECK the task definition does not declare)', () => {
  it("the API's is its image's: /healthz on PORT with node (the image has no curl)", () => {
    const api = containerEnv(template, 'api');
    const image = dockerfileHealthCheck('apps/server/Dockerfile');
    expect(image.Command.join(' ')).toContain('/healthz');
    expect(api.healthCheck).toEqual(image);
  });

  it("the worker's is its image's: dist/healthcheck.js, which the build makes, on the heartbeat file the worker writes", () => {
    const worker = containerEnv(template, 'worker');
    const image = dockerfileHealthCheck('apps/worker/Dockerfile');
    expect(worker.healthCheck).toEqual(image);
    expect(image.Command.join(' ')).toContain('node dist/healthcheck.js');
    expect(buildEntries('worker')).toContain('dist/healthcheck.js');
    // The task sets the file itself rather than rely on the image's ENV.
    const config = loadWorkerConfig(plainEnv(worker.environment, worker.secretNames));
    expect(config.heartbeatFile).toBe('/tmp/worker-heartbeat');
  });
});

describe('the migration task', () => {
  it('runs node dist/migrate.js from the API image with only the database secret', () => {
    const migrate = containerEnv(template, 'migrate');
    const api = containerEnv(template, 'api');
    expect(migrate.command).toEqual(['node', 'dist/migrate.js']);
    expect(buildEntries('server')).toContain('dist/migrate.js');
    expect(JSON.stringify(migrate.image)).toContain('/coach-plus-api:latest');
    expect(JSON.stringify(api.image)).toContain('/coach-plus-api:latest');
    expect(migrate.secretNames).toEqual(['DATABASE_URL']);
    expect(loadMigrateConfig(plainEnv(migrate.environment, migrate.secretNames))).toMatchObject({ logLevel: 'info' });
    expect(Object.keys(migrate.environment)).toEqual(['LOG_LEVEL']);
  });

  it('reaches Postgres through its own security group', () => {
    const groups = Object.keys(template.findResources('AWS::EC2::SecurityGroup'));
    const migrateGroup = groups.find((id) => id.startsWith('MigrateSecurityGroup'));
    expect(migrateGroup).toBeDefined();
    expectResource(template, 'AWS::EC2::SecurityGroupIngress', {
      IpProtocol: 'tcp',
      SourceSecurityGroupId: { 'Fn::GetAtt': [migrateGroup, 'GroupId'] },
      GroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DatabaseSecurityGroup'), 'GroupId'] },
      FromPort: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Database'), 'Endpoint.Port'] },
    });
  });

  it('exports what `aws ecs run-task` needs: the cluster, the task definition and its network configuration', () => {
    const { taskDefinitionId } = containerEnv(template, 'migrate');
    const migrateGroup = Object.keys(template.findResources('AWS::EC2::SecurityGroup')).find((id) =>
      id.startsWith('MigrateSecurityGroup'),
    );
    const privateSubnets = Object.keys(template.findResources('AWS::EC2::Subnet')).filter((id) => /PrivateSubnet/.test(id));
    expect(privateSubnets).toHaveLength(2);
    template.hasOutput('MigrateTaskDefinitionArn', { Value: { Ref: taskDefinitionId } });
    template.hasOutput('ClusterName', Match.anyValue());
    const network = JSON.stringify(template.findOutputs('MigrateNetworkConfiguration'));
    for (const id of privateSubnets) expect(network).toContain(`"Ref":"${id}"`);
    expect(network).toContain(`"Fn::GetAtt":["${migrateGroup ?? 'none'}","GroupId"]`);
    expect(network).toContain('awsvpcConfiguration');
    expect(network).toContain('assignPublicIp');
  });

  it('runs the migrationImageTag release while the services stay on imageTag', () => {
    const app = new App();
    const context: Record<string, string> = {
      corsOrigins: 'https://app.example.com',
      imageTag: 'r1',
      migrationImageTag: 'r2',
    };
    const next = Template.fromStack(new CoachStack(app, 'Next', { config: readDeployConfig((key) => context[key]) }));
    expect(JSON.stringify(containerEnv(next, 'migrate').image)).toContain('/coach-plus-api:r2');
    expect(JSON.stringify(containerEnv(next, 'api').image)).toContain('/coach-plus-api:r1');
    expect(JSON.stringify(containerEnv(next, 'worker').image)).toContain('/coach-plus-worker:r1');
    next.hasOutput('ImageTag', { Value: 'r1' });
  });
});

describe('the first deployment (startServices=false)', () => {
  it('creates the services without starting a task, so the database is migrated before any starts', () => {
    const context: Record<string, string> = { corsOrigins: 'https://app.example.com', startServices: 'false' };
    const desired = (t: Template) =>
      Object.values(t.findResources('AWS::ECS::Service'))
        .map((s) => (s.Properties as { DesiredCount: number }).DesiredCount)
        .toSorted((a, b) => a - b);
    const first = Template.fromStack(new CoachStack(new App(), 'First', { config: readDeployConfig((key) => context[key]) }));
    expect(desired(first)).toEqual([0, 0]);
    expectResource(first, 'AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 0, MaxCapacity: 0 });
    // The migration task and its outputs exist already.
    expect(containerEnv(first, 'migrate').command).toEqual(['node', 'dist/migrate.js']);
    first.hasOutput('MigrateTaskDefinitionArn', Match.anyValue());

    // Every later deployment (the default) starts them.
    expect(desired(template)).toEqual([1, 2]);
    expect(() => readDeployConfig((key) => ({ corsOrigins: 'https://app.example.com', startServices: 'no' })[key])).toThrow(
      /startServices: must be true or false \(got no\)/,
    );
  });
});

interface Alarm {
  Namespace?: string;
  MetricName?: string;
  Dimensions?: { Name: string; Value: string }[];
}

describe('the outbox-age alarm reads a metric that is published', () => {
  it('the API serves /metrics on METRICS_PORT, scraped by a CloudWatch agent in its task into the namespace, name and dimensions the alarm reads', () => {
    const api = containerEnv(template, 'api');
    const agent = containerEnv(template, 'cloudwatch-agent');
    expect(agent.taskDefinitionId).toBe(api.taskDefinitionId);
    expect(String(agent.image)).toMatch(/^public\.ecr\.aws\/cloudwatch-agent\/cloudwatch-agent:/);
    // Metrics are not worth losing the API for.
    expect(agent.essential).toBe(false);

    const metricsPort = loadConfig(plainEnv(api.environment, api.secretNames)).metricsPort;
    expect(metricsPort).toBeGreaterThan(0);

    const scrape = JSON.parse(String(agent.environment.PROMETHEUS_CONFIG_CONTENT)) as {
      scrape_configs: { job_name: string; metrics_path: string; static_configs: { targets: string[] }[] }[];
    };
    const [job] = scrape.scrape_configs;
    expect(job?.metrics_path).toBe('/metrics');
    expect(job?.static_configs.flatMap((c) => c.targets)).toEqual([`127.0.0.1:${metricsPort}`]);

    const agentConfig = JSON.parse(String(agent.environment.CW_CONFIG_CONTENT)) as {
      logs: {
        metrics_collected: {
          prometheus: {
            log_group_name: string;
            prometheus_config_path: string;
            emf_processor: {
              metric_namespace: string;
              metric_declaration: {
                source_labels: string[];
                label_matcher: string;
                dimensions: string[][];
                metric_selectors: string[];
              }[];
            };
          };
        };
      };
    };
    const prometheus = agentConfig.logs.metrics_collected.prometheus;
    expect(prometheus.prometheus_config_path).toBe('env:PROMETHEUS_CONFIG_CONTENT');

    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties as Alarm);
    const alarm = alarms.find((a) => a.MetricName?.includes('outbox'));
    expect(alarm?.Namespace).toBe(prometheus.emf_processor.metric_namespace);
    // Some declaration selects this scrape job and this metric, with exactly the alarm's dimensions.
    const labels: Record<string, string> = { job: job?.job_name ?? '' };
    const emitted = prometheus.emf_processor.metric_declaration.filter(
      (d) =>
        new RegExp(d.label_matcher).test(d.source_labels.map((l) => labels[l] ?? '').join(';')) &&
        d.metric_selectors.some((s) => new RegExp(s).test(alarm?.MetricName ?? '')),
    );
    expect(emitted).toHaveLength(1);
    expect(emitted[0]?.dimensions).toEqual([(alarm?.Dimensions ?? []).map((d) => d.Name)]);
    for (const d of alarm?.Dimensions ?? []) expect(d.Value).toBe(labels[d.Name]);

    // The name is the one the API's own process serves (apps/server/test/metrics-endpoint.test.ts scrapes it).
    expect(read('apps/server/test/metrics-endpoint.test.ts')).toContain(`^${alarm?.MetricName ?? 'none'} `);

    // The agent writes into the log group the stack creates (and its role may write to).
    expectResource(template, 'AWS::Logs::LogGroup', { LogGroupName: prometheus.log_group_name });
  });

  it("the API task role may write the agent's EMF events to that log group and nothing else in CloudWatch", () => {
    const { taskRoleId } = containerEnv(template, 'api');
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((policy) => {
      const props = policy.Properties as {
        Roles: { Ref: string }[];
        PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown }[] };
      };
      return props.Roles.some((r) => r.Ref === taskRoleId) ? props.PolicyDocument.Statement : [];
    });
    const observability = statements.filter((s) =>
      [s.Action].flat().some((a) => a.startsWith('logs:') || a.startsWith('cloudwatch:')),
    );
    expect(observability).toHaveLength(1);
    const [statement] = observability;
    if (!statement) throw new Error('no CloudWatch statement');
    expect([statement.Action].flat().toSorted((a, b) => a.localeCompare(b))).toEqual([
      'logs:CreateLogStream',
      'logs:DescribeLogStreams',
      'logs:PutLogEvents',
    ]);
    const [logGroupId, attribute] = (statement.Resource as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'];
    expect(logGroupId).toMatch(/^ApiMetricsLogs/);
    expect(attribute).toBe('Arn');
  });
});
