import { AwsMisconfiguredError } from './errors.ts';

/**
 * Asks each bucket or queue once (HeadBucket, GetQueueAttributes: their
 * `ping`) and returns every one that is missing or refuses this process, so a
 * process can refuse to start with all of them named at once. Any other
 * failure (a slow or unreachable endpoint) may pass by itself and is left to
 * readiness: it is returned as `unavailable`.
 */
export async function checkAwsResources(
  resources: readonly { ping(): Promise<void> }[],
): Promise<{ misconfigured: AwsMisconfiguredError[]; unavailable: unknown[] }> {
  const outcomes = await Promise.allSettled(resources.map((r) => r.ping()));
  const failures = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as unknown] : []));
  return {
    misconfigured: failures.filter((e) => e instanceof AwsMisconfiguredError),
    unavailable: failures.filter((e) => !(e instanceof AwsMisconfiguredError)),
  };
}

/** What a process stops with when `checkAwsResources` found misconfigured resources: one line per problem. */
export function misconfigurationReport(misconfigured: readonly AwsMisconfiguredError[]): string {
  return `Storage or queue misconfigured:\n${misconfigured.map((e) => `  - ${e.message}`).join('\n')}`;
}
