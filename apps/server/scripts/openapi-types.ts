import { writeFile } from 'node:fs/promises';

import { createOpenApiDocument } from '@coach/api';
import { openApiTypes } from '@coach/openapi-typegen';

import { API_VERSION } from '../src/rest.ts';

/** The REST client types the generated-client test uses; the test checks they match the served document. */
export const OPENAPI_TYPES_FILE = new URL('../test/generated/coach-api.ts', import.meta.url);

if (import.meta.main) {
  // The document `GET /openapi.json` serves.
  await writeFile(OPENAPI_TYPES_FILE, await openApiTypes(createOpenApiDocument({ version: API_VERSION })));
  process.stdout.write(`wrote ${OPENAPI_TYPES_FILE.pathname}\n`);
}
