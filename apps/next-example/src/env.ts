import { z } from 'zod';

const EnvSchema = z.object({
  /** The API's tRPC endpoint, as the server and the browser both reach it. */
  COACH_API_URL: z.url({ protocol: /^https?$/ }).default('http://127.0.0.1:8000/trpc'),
});

export interface NextExampleConfig {
  apiUrl: string;
}

/**
 * Read per request, not at build time: one build runs against any API (the
 * browser gets the URL from the server, not from a `NEXT_PUBLIC_` variable
 * frozen into the bundle).
 */
export function readConfig(env: Record<string, string | undefined> = process.env): NextExampleConfig {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`Invalid environment for the Next.js example: ${problems}`);
  }
  return Object.freeze({ apiUrl: parsed.data.COACH_API_URL });
}
