import { errorCodeOf } from '@coach/client';

/** A failed deletion in plain words: the API's own message (written for the person using the app), else the lost connection. */
export function describeDeleteError(error: unknown, what: string): string {
  if (errorCodeOf(error) !== undefined && error instanceof Error) return error.message;
  return `Could not delete the ${what}: the connection to the API was lost. Check it and try again.`;
}
