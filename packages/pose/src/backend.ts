import { createRequire } from 'node:module';
import path from 'node:path';

// tfjs keeps one engine per thread, so the backend is per-thread state by nature; memoising
// its start-up here only stops concurrent callers from initialising it twice.
let ready: Promise<void> | undefined;

/**
 * Selects tfjs' WebAssembly backend (SIMD, single-threaded: wasm threads do not work under
 * Node, so parallelism comes from worker_threads), loading its .wasm files from the installed
 * package rather than a CDN.
 */
export function useWasmBackend(): Promise<void> {
  ready ??= (async () => {
    const [{ setWasmPaths }, tf] = await Promise.all([import('@tensorflow/tfjs-backend-wasm'), import('@tensorflow/tfjs-core')]);
    const require = createRequire(import.meta.url);
    const dist = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
    setWasmPaths(`${dist}${path.sep}`);
    const isSet = await tf.setBackend('wasm');
    if (!isSet) throw new Error('The tfjs wasm backend failed to initialise');
    await tf.ready();
  })();
  return ready;
}
