import { DEV_TOKEN_URL } from '../config.ts';

export type LocalRole = 'coach_pro_plus' | 'org_pro';

/**
 * Asks the local API for a token (POST /dev/token). Only an API running on
 * its local defaults has that route; anywhere else the user pastes a token.
 */
export async function requestDevToken(p: { userId: string; role: LocalRole; orgId?: string }): Promise<string> {
  let response: Response;
  try {
    response = await fetch(DEV_TOKEN_URL, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(p),
    });
  } catch {
    throw new Error(`The API at ${new URL(DEV_TOKEN_URL).origin} did not answer. Is \`pnpm dev\` running?`);
  }
  const body: unknown = await response.json().catch(() => null);
  if (response.status === 404) {
    throw new Error('This API does not hand out local tokens (it is not running on its local defaults). Paste a token instead.');
  }
  if (!response.ok || typeof body !== 'object' || body === null || !('token' in body) || typeof body.token !== 'string') {
    throw new Error(apiMessage(body) ?? `The API refused to sign in (HTTP ${response.status}).`);
  }
  return body.token;
}

function apiMessage(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || !('error' in body)) return undefined;
  const { error } = body;
  return typeof error === 'object' && error !== null && 'message' in error && typeof error.message === 'string'
    ? error.message
    : undefined;
}
