import { statSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';

/** How often a running worker touches its heartbeat file. */
const HEARTBEAT_INTERVAL_MS = 5_000;

/**
 * A heartbeat older than this means the process no longer runs its timers: its event loop is
 * blocked or it is wedged, though still alive. Six missed beats, so a busy machine is not taken for one.
 */
export const HEARTBEAT_MAX_AGE_MS = 30_000;

export interface Heartbeat {
  /** Stops beating and removes the file: a stopped worker is not a healthy one. */
  stop(): Promise<void>;
}

/**
 * Rewrites `file` every HEARTBEAT_INTERVAL_MS from the main thread, where the consumer, the
 * sweeper and every job's coordination run; the container's health check (`dist/healthcheck.js`)
 * reads its age. Busy pose threads and ffmpeg processes do not delay it.
 */
export async function startHeartbeat(file: string): Promise<Heartbeat> {
  const beat = () => writeFile(file, `${new Date().toISOString()}\n`);
  await beat();
  const timer = setInterval(() => {
    // A failed write shows up as a stale heartbeat, which is what the health check is for.
    beat().catch(() => undefined);
  }, HEARTBEAT_INTERVAL_MS);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await rm(file, { force: true });
    },
  };
}

/** True when `file` was written within HEARTBEAT_MAX_AGE_MS of `now`; false when it is missing. */
export function isHeartbeatFresh(file: string, now: number = Date.now()): boolean {
  try {
    return now - statSync(file).mtimeMs <= HEARTBEAT_MAX_AGE_MS;
  } catch {
    return false;
  }
}
