import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../../..');
/** util-linux `script` runs a command on a real pseudo-terminal, as a person's terminal does. */
const hasScript = spawnSync('script', ['--version']).status === 0 && spawnSync('pnpm', ['--version']).status === 0;

let dataDir: string;
let taken: Server;
let takenPort: number;
beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'dev-terminal-'));
  taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  takenPort = (taken.address() as { port: number }).port;
});
afterAll(async () => {
  await new Promise<void>((resolve) => taken?.close(() => resolve()));
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const stripAnsi = (text: string) => stripVTControlCharacters(text).replaceAll('\r', '');

/**
 * `pnpm dev` from the repository root, on a free API port, its own data folder
 * and a web port another program holds; `stop` is called once the banner is out.
 */
async function runPnpmDev(p: { command: string; args: string[]; stop: (child: ReturnType<typeof spawn>) => void }) {
  const env: Record<string, string | undefined> = {
    ...process.env,
    PORT: '0',
    WEB_PORT: String(takenPort),
    EMBEDDED_DATA_DIR: dataDir,
  };
  delete env.NODE_ENV; // set by the test runner; a person's shell has none
  const child = spawn(p.command, p.args, { cwd: root, env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  let output = '';
  const collect = (chunk: Buffer) => (output += chunk.toString());
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 90_000;
  while (!/web: +.*\n\n/.test(stripAnsi(output))) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`pnpm dev did not print its banner:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const api = /API listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stripAnsi(output))?.[1];
  const health = await fetch(`${api}/healthz`);
  p.stop(child);
  const code = await exited;
  // As root in a closed checkout the cluster lives under the system temp dir; the log says where.
  const cluster = /dataDir: "([^"]+)"|"dataDir":"([^"]+)"/.exec(stripAnsi(output));
  const clusterDir = cluster?.[1] ?? cluster?.[2];
  if (clusterDir && !clusterDir.startsWith(dataDir)) await rm(path.dirname(clusterDir), { recursive: true, force: true });
  return { code, output: stripAnsi(output), healthStatus: health.status };
}

describe.runIf(hasScript)('pnpm dev in a terminal and outside one', () => {
  it('in a terminal: readable logs, the web app said NOT STARTED when its port is taken, and Ctrl-C ends quietly with exit 0', async () => {
    const { code, output, healthStatus } = await runPnpmDev({
      command: 'script',
      // `script` runs its command through `$SHELL -c`. A person's interactive shell gives `pnpm dev` a
      // foreground process group of its own, so Ctrl-C never reaches the shell; a `sh -c` that stays in
      // between would be interrupted itself (dash dies of it, exit 130), so `exec` hands the terminal
      // to pnpm as a person's shell does, whichever shell `$SHELL` names.
      args: ['-qfec', 'exec pnpm dev', '/dev/null'],
      // What Ctrl-C is: the terminal's interrupt character, which signals the whole foreground group.
      stop: (child) => child.stdin?.write('\x03'),
    });
    expect(healthStatus).toBe(200);
    expect(output).toContain(
      `  web:    NOT STARTED: port ${takenPort} is in use by another program; stop it, or set WEB_PORT to a free port\n`,
    );
    expect(output).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: embedded Postgres started$/m);
    expect(output).toMatch(/INFO: shutting down\n +signal: "SIGINT"/);
    expect(output).toMatch(/INFO: worker stopped/);
    expect(output).not.toMatch(/^\{"level"/m);
    // One warning, the taken port's, in one line; nothing else above info, no stack, no dump.
    expect(
      output.split('\n').filter((line) => /WARN|ERROR|FATAL/.test(line)),
      output,
    ).toEqual([expect.stringMatching(/WARN: web app not served: port \d+ is in use by another program/)]);
    for (const noise of ['    at ', 'secretKey', '57P01', 'ERR_PNPM', 'ELIFECYCLE']) expect(output, noise).not.toContain(noise);
    expect(code).toBe(0);
  }, 120_000);

  // Outside a terminal pnpm relays no signal to its script's process group, so the server is run as
  // `pnpm dev` runs it, and signalled itself, as a process manager does.
  it('outside a terminal: JSON lines, and SIGINT ends it quietly with exit 0', async () => {
    const { code, output, healthStatus } = await runPnpmDev({
      command: process.execPath,
      args: ['--import', 'tsx', 'apps/server/src/main.ts'],
      stop: (child) => child.kill('SIGINT'),
    });
    expect(healthStatus).toBe(200);
    const logLines = output.split('\n').filter((line) => line.startsWith('{'));
    const messages = logLines.map((line) => (JSON.parse(line) as { msg: string }).msg);
    expect(messages, output).toEqual(expect.arrayContaining(['embedded Postgres started', 'shutting down', 'worker stopped']));
    expect(output).toContain(`  web:    NOT STARTED: port ${takenPort} is in use`);
    expect(
      logLines.filter((line) => !line.startsWith('{"level":30')),
      output,
    ).toEqual([expect.stringMatching(/^\{"level":40,.*"msg":"web app not served: port \d+ is in use by another program/)]);
    for (const noise of ['secretKey', 'Error']) expect(output, noise).not.toContain(noise);
    expect(code).toBe(0);
  }, 120_000);
});
