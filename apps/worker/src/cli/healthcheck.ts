// The worker image's HEALTHCHECK: exit 0 while the worker's heartbeat file is fresh, 1 when
// it is stale or missing (the worker stopped, never started, or its event loop is stuck).
import { loadHeartbeatFile } from '../env.ts';
import { HEARTBEAT_MAX_AGE_MS, isHeartbeatFresh } from '../heartbeat.ts';

const file = loadHeartbeatFile(process.env);
if (!file) {
  process.stderr.write('WORKER_HEARTBEAT_FILE is not set: the worker writes no heartbeat to check\n');
  process.exit(1);
}
if (!isHeartbeatFresh(file)) {
  process.stderr.write(`no heartbeat in ${file} within ${HEARTBEAT_MAX_AGE_MS / 1000} s\n`);
  process.exit(1);
}
