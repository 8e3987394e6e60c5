import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const WEB_ROOT = path.resolve(import.meta.dirname, '../..');
const VITE = path.join(WEB_ROOT, 'node_modules/.bin/vite');

/**
 * A production build of the app against `apiUrl`, made the way a deployment
 * makes it (`VITE_API_URL=… vite build` with NODE_ENV=production, in its own
 * process, since the test runner's NODE_ENV=test would give React's
 * development build). Returns Vite's output: a Node built-in pulled into the
 * browser bundle shows up there ("externalized for browser compatibility").
 */
export async function buildWebApp(p: { apiUrl: string; outDir: string }): Promise<{ output: string }> {
  const { stdout, stderr } = await promisify(execFile)(
    VITE,
    ['build', '--outDir', p.outDir, '--emptyOutDir', '--logLevel', 'warn'],
    { cwd: WEB_ROOT, env: { ...process.env, NODE_ENV: 'production', VITE_API_URL: p.apiUrl } },
  );
  return { output: `${stdout}${stderr}` };
}
