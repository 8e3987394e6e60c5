/**
 * Files this package ships beside its code. Under tsx and vitest the code runs from `src/`;
 * in an app's production bundle every module shares the bundle's URL in `dist/`, and the
 * build (scripts/build-app.mjs) puts the pose worker's bundle and the models right next to it.
 */
const isSource = import.meta.url.endsWith('.ts');

/** The entry point of a pose pool thread. */
export const POSE_WORKER_URL = new URL(isSource ? './pose-worker.ts' : './pose-worker.js', import.meta.url);

/** The folder holding one sub-folder per vendored MoveNet model. */
export const MODELS_URL = new URL(isSource ? '../models/' : './models/', import.meta.url);
