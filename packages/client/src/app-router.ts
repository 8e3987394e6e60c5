import type { AnyRouter, inferRouterInputs, inferRouterOutputs, TRPCBuiltRouter } from '@trpc/server';

import type { AppRouter as ServerRouter } from '@coach/api';

/**
 * The router with what a client uses (every procedure's input and output, the
 * error shape, the transformer) and an empty context: the server's context
 * holds its database, storage and queue clients, whose types (Kysely, the AWS
 * SDK, Node) a client must never need to compile.
 *
 * It exists for its return type, written out here rather than as an alias
 * because declaration emit spells out the type of a value in full but keeps an
 * alias by name. So the published declarations carry the router procedure by
 * procedure, with no path back to the server's context type. (This module is
 * only ever imported for its types; were a bundler to load it, the value is
 * an inert `undefined`.)
 */
function clientView<TRouter extends AnyRouter>(): TRPCBuiltRouter<
  {
    ctx: object;
    meta: TRouter['_def']['_config']['$types']['meta'];
    errorShape: TRouter['_def']['_config']['$types']['errorShape'];
    transformer: TRouter['_def']['_config']['$types']['transformer'];
  },
  TRouter['_def']['record']
> {
  return undefined as never;
}

const clientRouter = clientView<ServerRouter>();

/** The Coach Plus API's router, as `createTRPCClient` and `@trpc/tanstack-react-query` need it. */
export type AppRouter = typeof clientRouter;

/** Every procedure's input, by path: `RouterInputs['upload']['initiate']`. */
export type RouterInputs = inferRouterInputs<AppRouter>;
/** Every procedure's answer, by path: `RouterOutputs['jobs']['get']`. */
export type RouterOutputs = inferRouterOutputs<AppRouter>;
/** Where a job is in its life: `awaiting_upload`, `queued`, `processing`, then how it ended. */
export type JobStatus = RouterOutputs['jobs']['get']['status'];
