'use server';

import { cookies } from 'next/headers';
import { redirect } from 'next/navigation';

import { TOKEN_COOKIE } from './token-cookie.ts';

/** Keeps a pasted bearer token (e.g. from `pnpm token`); the API judges it on the next request. */
export async function signIn(form: FormData): Promise<void> {
  const token = form.get('token');
  if (typeof token === 'string' && token.trim() !== '') {
    (await cookies()).set(TOKEN_COOKIE, token.trim(), { httpOnly: true, sameSite: 'lax', path: '/' });
  }
  redirect('/');
}

export async function signOut(): Promise<void> {
  (await cookies()).delete(TOKEN_COOKIE);
  redirect('/');
}
