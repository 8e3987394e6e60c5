import { forEachOpenApiProcedure, generateOpenApiDocument, type OpenApiMeta, type OpenAPIObject } from 'trpc-to-openapi';

import { ErrorBodySchema } from './outputs.ts';
import { REST_BASE_PATH, REST_EXCLUSIONS, type RestMeta } from './rest-meta.ts';
import { appRouter } from './root.ts';

export type { OpenAPIObject };

/** Fails to compile when the routes' own meta type stops fitting the generator's. */
export const REST_META_FITS_GENERATOR: RestMeta extends OpenApiMeta ? true : never = true;

/** A procedure's REST route, as the server mounts it. */
export interface RestRoute {
  method: 'GET' | 'POST';
  /** OpenAPI form under `REST_BASE_PATH`, e.g. `/sessions/{sessionId}`. */
  path: `/${string}`;
  /** The tRPC procedure it calls, e.g. `sessions.get`. */
  procedure: string;
  type: 'query' | 'mutation';
  /** Query-string parameters that are numbers or booleans (all others stay strings), read from the document. */
  typedQueryParams: Record<string, 'number' | 'boolean'>;
}

const DESCRIPTION = `The Coach Plus API as REST: the same procedures, rules and limits as \`/trpc\`
(the typed client's endpoint), generated from the same zod schemas.

**Auth**: \`Authorization: Bearer <JWT>\`, as for \`/trpc\`.

**Errors**: every error answers \`{"error":{"message","code","data":{"appCode","httpStatus","code","path","requestId","fieldErrors"}}}\`,
byte for byte what \`/trpc\` answers for the same failure. Branch on \`data.appCode\`; show \`message\`.

**Large files**: above the multipart threshold \`POST /uploads\` answers a part plan instead of a URL:
sign part URLs (\`POST /uploads/{jobId}/part-urls\`), PUT each part to storage, record the ETags
(\`POST /uploads/{jobId}/parts\`), then \`POST /uploads/{jobId}/complete\`. Background uploads from phones:
docs/mobile.md.

**Not REST**: ${Object.entries(REST_EXCLUSIONS)
  .map(([procedure, reason]) => `\`${procedure}\`: ${reason}`)
  .join(' ')}`;

/**
 * The OpenAPI 3.1 document of the REST routes, from the procedures' `meta`
 * and zod schemas. Error answers are described by the one error body the API
 * sends (`ErrorBodySchema`), not the generator's own shape.
 */
export function createOpenApiDocument(options: { version: string }): OpenAPIObject {
  const document = generateOpenApiDocument(appRouter, {
    title: 'Coach Plus API',
    version: options.version,
    description: DESCRIPTION,
    baseUrl: REST_BASE_PATH,
    securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
    tags: ['sessions', 'uploads', 'jobs', 'usage', 'service keys'],
    defs: { Error: ErrorBodySchema },
  });
  for (const operations of Object.values(document.paths ?? {})) {
    for (const method of ['get', 'post'] as const) {
      for (const [status, response] of Object.entries(operations[method]?.responses ?? {})) {
        if (status === '200' || typeof response !== 'object' || response === null || '$ref' in response) continue;
        response.content = { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } };
      }
    }
  }
  const schemas = document.components?.schemas ?? {};
  // The generator's own error shapes, no longer referenced.
  for (const name of Object.keys(schemas)) if (name.startsWith('error.')) delete schemas[name];
  return document;
}

/** Every procedure that has a REST route, with what the server needs to mount it. */
export function restRoutes(document: OpenAPIObject): RestRoute[] {
  const routes: RestRoute[] = [];
  // The generator's own walk: the same procedures, with routes enabled, that the document holds.
  forEachOpenApiProcedure(appRouter._def.procedures, ({ path: procedure, type, meta }) => {
    const route = meta.openapi;
    if (route.method !== 'GET' && route.method !== 'POST') throw new Error(`${procedure}: REST routes are GET or POST`);
    if (type === 'subscription') throw new Error(`${procedure}: a subscription has no REST route`);
    const operation = document.paths?.[route.path]?.[route.method === 'GET' ? 'get' : 'post'];
    const typedQueryParams: RestRoute['typedQueryParams'] = {};
    for (const parameter of operation?.parameters ?? []) {
      if ('$ref' in parameter || parameter.in !== 'query' || !parameter.schema || '$ref' in parameter.schema) continue;
      const { type: schemaType } = parameter.schema;
      if (schemaType === 'integer' || schemaType === 'number') typedQueryParams[parameter.name] = 'number';
      else if (schemaType === 'boolean') typedQueryParams[parameter.name] = 'boolean';
    }
    routes.push({ method: route.method, path: route.path, procedure, type, typedQueryParams });
  });
  return routes;
}
