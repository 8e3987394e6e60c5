import 'server-only';

import { cookies } from 'next/headers';

/** The API bearer token the user signed in with, kept in an http-only cookie of this app's origin. */
export const TOKEN_COOKIE = 'coach_token';

export async function readToken(): Promise<string | undefined> {
  return (await cookies()).get(TOKEN_COOKIE)?.value || undefined;
}
