'use server';

import { revalidatePath } from 'next/cache';

import { getServerApi } from '../trpc/server.ts';

/** Creates a session through the typed client on the server, then renders the list again. */
export async function createSession(form: FormData): Promise<void> {
  const title = form.get('title');
  if (typeof title !== 'string' || title.trim() === '') return;
  const { client } = await getServerApi();
  await client.sessions.create.mutate({ title: title.trim() });
  revalidatePath('/');
}
