import type { AuthParams } from './service-env.ts';

/** What a deployment chooses, read from CDK context (`-c name=value` or cdk.json). */
export interface DeployConfig {
  /** Browser origins of the web app: the API's CORS_ORIGINS and the bucket's CORS rule. */
  corsOrigins: string[];
  auth: AuthParams;
  apiRepository: string;
  workerRepository: string;
  imageTag: string;
  /**
   * The API image tag the migration task runs (default: imageTag). Set to the next release's tag
   * while the services still run imageTag, so the migration runs before they roll.
   */
  migrationImageTag: string;
  /** ACM certificate for HTTPS on the load balancer; without it the API listens on HTTP 80. */
  certificateArn: string | undefined;
  /** Alarm notifications go to this address when given (the SNS topic exists either way). */
  alarmEmail: string | undefined;
  workerMinTasks: number;
  workerMaxTasks: number;
  /**
   * Retention for owners without a policy of their own, in days (undefined: keep for ever). Both
   * services get the same values: the worker enforces them, the API shows when a video goes.
   */
  retention: { deleteOriginalsAfterDays: number | undefined; deleteEverythingAfterDays: number | undefined };
  /**
   * False on the first deployment: everything is created but no API or worker task starts, so
   * the migration can run first (an unmigrated API is never ready and the worker refuses to
   * start, which would fail the services' creation and roll the whole stack back).
   */
  startServices: boolean;
}

/** Raised for missing or malformed context, listing every problem at once. */
export class DeployConfigError extends Error {
  override readonly name = 'DeployConfigError';
}

const ORIGIN = /^https?:\/\/[^/\s]+$/;

export function readDeployConfig(context: (key: string) => unknown): DeployConfig {
  const problems: string[] = [];
  const text = (key: string): string | undefined => {
    const value = context(key);
    if (value === undefined || value === null) return undefined;
    // `-c key=value` gives strings; cdk.json may give numbers or booleans.
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      problems.push(`${key}: must be a single value, not ${JSON.stringify(value)}`);
      return undefined;
    }
    const s = String(value).trim();
    return s === '' ? undefined : s;
  };
  const count = (key: string, fallback: number): number => {
    const s = text(key);
    if (s === undefined) return fallback;
    const n = Number(s);
    if (!Number.isInteger(n) || n < 1) problems.push(`${key}: must be a whole number of at least 1 (got ${s})`);
    return n;
  };

  const corsOrigins = (text('corsOrigins') ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  if (corsOrigins.length === 0)
    problems.push('corsOrigins: required, the web app origins, e.g. -c corsOrigins=https://app.example.com');
  for (const origin of corsOrigins) {
    if (!ORIGIN.test(origin))
      problems.push(`corsOrigins: ${origin} is not an origin like https://app.example.com (no path, no trailing slash)`);
  }

  const jwksUrl = text('jwksUrl');
  const issuer = text('jwtIssuer');
  const audience = text('jwtAudience');
  let auth: AuthParams = { kind: 'hs256' };
  if (jwksUrl !== undefined) {
    if (issuer === undefined) problems.push('jwtIssuer: required with jwksUrl');
    if (audience === undefined) problems.push('jwtAudience: required with jwksUrl');
    auth = { kind: 'jwks', jwksUrl, issuer: issuer ?? '', audience: audience ?? '' };
  }

  const flag = (key: string, fallback: boolean): boolean => {
    const s = text(key);
    if (s === undefined) return fallback;
    if (s !== 'true' && s !== 'false') problems.push(`${key}: must be true or false (got ${s})`);
    return s === 'true';
  };

  const days = (key: string): number | undefined => (text(key) === undefined ? undefined : count(key, 1));
  const retention = {
    deleteOriginalsAfterDays: days('retentionDeleteOriginalsAfterDays'),
    deleteEverythingAfterDays: days('retentionDeleteEverythingAfterDays'),
  };
  if (
    retention.deleteOriginalsAfterDays !== undefined &&
    retention.deleteEverythingAfterDays !== undefined &&
    retention.deleteOriginalsAfterDays >= retention.deleteEverythingAfterDays
  )
    problems.push(
      'retentionDeleteOriginalsAfterDays: must be fewer days than retentionDeleteEverythingAfterDays (originals go before the rest)',
    );

  const imageTag = text('imageTag') ?? 'latest';
  const config: DeployConfig = {
    corsOrigins,
    auth,
    apiRepository: text('apiRepository') ?? 'coach-plus-api',
    workerRepository: text('workerRepository') ?? 'coach-plus-worker',
    imageTag,
    migrationImageTag: text('migrationImageTag') ?? imageTag,
    certificateArn: text('certificateArn'),
    alarmEmail: text('alarmEmail'),
    workerMinTasks: count('workerMinTasks', 1),
    workerMaxTasks: count('workerMaxTasks', 10),
    startServices: flag('startServices', true),
    retention,
  };
  const countsValid = [config.workerMinTasks, config.workerMaxTasks].every((n) => Number.isInteger(n) && n >= 1);
  if (countsValid && config.workerMaxTasks < config.workerMinTasks)
    problems.push('workerMaxTasks: must be at least workerMinTasks');
  if (problems.length > 0) throw new DeployConfigError(`Invalid deploy settings:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  return config;
}
