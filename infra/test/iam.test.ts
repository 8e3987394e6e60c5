import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';

import {
  actionsFor,
  S3_COMMAND_ACTIONS,
  SERVICE_AWS_CALLS,
  SQS_COMMAND_ACTIONS,
  type ServiceAwsCalls,
} from '../src/aws-permissions.ts';
import { containerEnv, synthTemplates } from './synth.ts';

const adaptersDir = path.resolve(import.meta.dirname, '../../packages/aws/src');

/** The SDK commands the adapters send (`new XxxCommand(`), by client package. */
function commandsTheAdaptersSend(): { s3: Set<string>; sqs: Set<string> } {
  const found = { s3: new Set<string>(), sqs: new Set<string>() };
  for (const file of readdirSync(adaptersDir).filter((f) => f.endsWith('.ts'))) {
    const source = readFileSync(path.join(adaptersDir, file), 'utf8');
    for (const [client, set] of [
      ['client-s3', found.s3],
      ['client-sqs', found.sqs],
    ] as const) {
      const imports = new RegExp(`import \\{([^}]*)\\} from '@aws-sdk/${client}'`).exec(source)?.[1] ?? '';
      const imported = new Set(imports.split(',').map((name) => name.trim()));
      for (const [, command] of source.matchAll(/new (\w+Command)\(/g)) {
        if (command && imported.has(command)) set.add(command);
      }
    }
  }
  return found;
}

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}

/** Every statement of the policies attached to the role with this logical id. */
function roleStatements(template: Template, roleId: string): Statement[] {
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap((policy) => {
    const props = policy.Properties as { Roles: { Ref: string }[]; PolicyDocument: { Statement: Statement[] } };
    return props.Roles.some((r) => r.Ref === roleId) ? props.PolicyDocument.Statement : [];
  });
}

const actionsOf = (statements: Statement[]) => statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));

/** The logical ids the template gives the bucket and queues, to read statement resources by. */
function resourceIds(template: Template) {
  const id = (type: string, prefix: string) => {
    const ids = Object.keys(template.findResources(type)).filter((k) => k.startsWith(prefix));
    if (ids.length !== 1) throw new Error(`expected one ${type} named ${prefix}*, got ${ids.join(', ')}`);
    return ids[0] ?? '';
  };
  return {
    bucket: id('AWS::S3::Bucket', 'Videos'),
    analysisQueue: id('AWS::SQS::Queue', 'AnalysisQueue'),
    deadLetterQueue: id('AWS::SQS::Queue', 'AnalysisDeadLetterQueue'),
    uploadEventsQueue: id('AWS::SQS::Queue', 'UploadEventsQueue'),
  };
}

/** Statements on S3 and SQS (the agent's CloudWatch Logs rights are checked in operations.test.ts). */
const storageAndQueues = (statements: Statement[]) => statements.filter((s) => actionsOf([s]).every((a) => /^(s3|sqs):/.test(a)));

/** Actions granted per resource: `bucket`, `objects` (coach_plus/*), or a queue. */
function grantsByResource(template: Template, statements: Statement[]): Record<string, string[]> {
  const ids = resourceIds(template);
  const byResource: Record<string, string[]> = {};
  for (const s of statements) {
    expect(s.Effect).toBe('Allow');
    const resource = JSON.stringify(s.Resource);
    const name = resource.includes(ids.bucket)
      ? resource.includes('/coach_plus/*')
        ? 'objects'
        : 'bucket'
      : resource.includes(ids.analysisQueue)
        ? 'analysisQueue'
        : resource.includes(ids.deadLetterQueue)
          ? 'deadLetterQueue'
          : resource.includes(ids.uploadEventsQueue)
            ? 'uploadEventsQueue'
            : resource;
    byResource[name] = [...(byResource[name] ?? []), ...actionsOf([s])].sort();
  }
  return byResource;
}

function expectedGrants(calls: ServiceAwsCalls): Record<string, string[]> {
  const bucketActions = actionsFor(calls.bucket);
  const grants: Record<string, string[]> = {
    objects: bucketActions.filter((a) => a !== 's3:ListBucket'),
    bucket: bucketActions.filter((a) => a === 's3:ListBucket'),
    analysisQueue: actionsFor(calls.analysisQueue),
    deadLetterQueue: actionsFor(calls.deadLetterQueue),
    uploadEventsQueue: actionsFor(calls.uploadEventsQueue),
  };
  return Object.fromEntries(Object.entries(grants).filter(([, actions]) => actions.length > 0));
}

let template: Template;
beforeAll(() => {
  template = synthTemplates().hs256;
});

describe('IAM', () => {
  it('maps every SDK command the adapters send to an action, and nothing else', () => {
    const sent = commandsTheAdaptersSend();
    expect(sent.s3.size).toBeGreaterThan(0);
    expect(sent.sqs.size).toBeGreaterThan(0);
    expect([...sent.s3].sort()).toEqual(Object.keys(S3_COMMAND_ACTIONS).sort());
    expect([...sent.sqs].sort()).toEqual(Object.keys(SQS_COMMAND_ACTIONS).sort());
  });

  it('the services together call every command the adapters send', () => {
    const called = new Set<string>(
      Object.values(SERVICE_AWS_CALLS).flatMap((c) => [
        ...c.bucket,
        ...c.analysisQueue,
        ...c.deadLetterQueue,
        ...c.uploadEventsQueue,
      ]),
    );
    const sent = commandsTheAdaptersSend();
    expect([...sent.s3, ...sent.sqs].filter((c) => !called.has(c))).toEqual([]);
  });

  it.each(['api', 'worker'] as const)('the %s task role holds exactly the actions its calls need, per resource', (service) => {
    const { taskRoleId } = containerEnv(template, service);
    const statements = roleStatements(template, taskRoleId);
    // Everything else the API role holds is the metrics agent's, on its log group only.
    const others = statements.filter((s) => !storageAndQueues([s]).length);
    expect(
      actionsOf(others).every((a) => a.startsWith('logs:')),
      service,
    ).toBe(true);
    if (service === 'worker') expect(others).toEqual([]);
    expect(grantsByResource(template, storageAndQueues(statements))).toEqual(expectedGrants(SERVICE_AWS_CALLS[service]));
  });

  it('the API never receives or deletes messages; the worker never sends to the analysis queue', () => {
    const api = grantsByResource(template, roleStatements(template, containerEnv(template, 'api').taskRoleId));
    const worker = grantsByResource(template, roleStatements(template, containerEnv(template, 'worker').taskRoleId));
    expect(api.analysisQueue).not.toContain('sqs:ReceiveMessage');
    expect(api.analysisQueue).not.toContain('sqs:DeleteMessage');
    expect(api.deadLetterQueue).toBeUndefined();
    expect(worker.analysisQueue).not.toContain('sqs:SendMessage');
  });

  it('no policy in the stack grants a wildcard S3 or SQS action', () => {
    const statements = [
      ...Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
        (p) => (p.Properties as { PolicyDocument: { Statement: Statement[] } }).PolicyDocument.Statement,
      ),
      ...Object.values(template.findResources('AWS::IAM::Role')).flatMap((r) =>
        ((r.Properties as { Policies?: { PolicyDocument: { Statement: Statement[] } }[] }).Policies ?? []).flatMap(
          (p) => p.PolicyDocument.Statement,
        ),
      ),
    ];
    const actions = actionsOf(statements.filter((s) => s.Effect === 'Allow'));
    expect(actions.length).toBeGreaterThan(0);
    expect(actions.filter((a) => a === '*' || (/^(s3|sqs):/.test(a) && a.includes('*')))).toEqual([]);
  });
});

it('both roles may list the bucket, so a missing key answers 404 (read as "no object"), not 403', () => {
  for (const service of ['api', 'worker'] as const) {
    const grants = grantsByResource(template, roleStatements(template, containerEnv(template, service).taskRoleId));
    expect(grants.bucket, service).toEqual(['s3:ListBucket']);
  }
});
