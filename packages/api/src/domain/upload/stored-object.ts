import { formatBytes } from '@coach/jobs';

import { AppError } from '../errors.ts';

// What is checked of a stored object lives with the completion both the API and the worker run (`@coach/jobs`).

export function fileTooLarge(maxBytes: number): AppError {
  return new AppError(
    'FILE_TOO_LARGE',
    `The video is larger than the ${formatBytes(maxBytes)} limit. Trim or compress it and try again.`,
  );
}
