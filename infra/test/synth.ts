import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';

import { CoachStack } from '../src/coach-stack.ts';
import { readDeployConfig } from '../src/deploy-config.ts';

export const APP_ORIGIN = 'https://app.example.com';

const CONTEXT = {
  hs256: { corsOrigins: `${APP_ORIGIN},https://admin.example.com` },
  jwks: {
    corsOrigins: APP_ORIGIN,
    jwksUrl: 'https://auth.example.com/.well-known/jwks.json',
    jwtIssuer: 'https://auth.example.com/',
    jwtAudience: 'coach-plus',
    certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/abc',
    retentionDeleteOriginalsAfterDays: '30',
    retentionDeleteEverythingAfterDays: '365',
  },
} as const;

export type Variant = keyof typeof CONTEXT;

/** Synthesizes both auth variants in one app (one synth per test file). */
export function synthTemplates(): Record<Variant, Template> {
  const app = new App();
  const build = (variant: Variant) => {
    const context: Record<string, string> = CONTEXT[variant];
    return new CoachStack(app, `Coach-${variant}`, { config: readDeployConfig((key) => context[key]) });
  };
  // Both stacks exist before the first synthesis, which then covers them both.
  const stacks = { hs256: build('hs256'), jwks: build('jwks') };
  return { hs256: Template.fromStack(stacks.hs256), jwks: Template.fromStack(stacks.jwks) };
}

export interface ContainerEnv {
  /** Plain values; CloudFormation expressions (tokens) stay objects. */
  environment: Record<string, unknown>;
  secretNames: string[];
  stopTimeout: number | undefined;
  taskRoleId: string;
  /** The task definition's logical id. */
  taskDefinitionId: string;
  healthCheck: { Command: string[]; Interval?: number; Timeout?: number; StartPeriod?: number; Retries?: number } | undefined;
  command: string[] | undefined;
  image: unknown;
  essential: boolean | undefined;
}

interface ContainerDefinition {
  Name: string;
  Environment?: { Name: string; Value: unknown }[];
  Secrets?: { Name: string; ValueFrom: unknown }[];
  StopTimeout?: number;
  HealthCheck?: ContainerEnv['healthCheck'];
  Command?: string[];
  Image: unknown;
  Essential?: boolean;
}

/** The container named `name` in the template's task definitions, with its task role's logical id. */
export function containerEnv(template: Template, name: string): ContainerEnv {
  const taskDefinitions = template.findResources('AWS::ECS::TaskDefinition');
  for (const [taskDefinitionId, td] of Object.entries(taskDefinitions)) {
    const props = td.Properties as {
      ContainerDefinitions: ContainerDefinition[];
      TaskRoleArn: { 'Fn::GetAtt': [string, string] };
    };
    const container = props.ContainerDefinitions.find((c) => c.Name === name);
    if (!container) continue;
    return {
      environment: Object.fromEntries((container.Environment ?? []).map((e) => [e.Name, e.Value])),
      secretNames: (container.Secrets ?? []).map((s) => s.Name),
      stopTimeout: container.StopTimeout,
      taskRoleId: props.TaskRoleArn['Fn::GetAtt'][0],
      taskDefinitionId,
      healthCheck: container.HealthCheck,
      command: container.Command,
      image: container.Image,
      essential: container.Essential,
    };
  }
  throw new Error(`no container named ${name}`);
}

/** Asserts the template has a resource of `type` whose properties match (named expect… so lint sees an assertion). */
export function expectResource(template: Template, type: string, props: Record<string, unknown>): void {
  template.hasResourceProperties(type, props);
}
