import { GetQueueAttributesCommand, type Message } from '@aws-sdk/client-sqs';
import pg from 'pg';

import { AwsUnavailableError, type MessageQueue, type ReceivedMessage, type ReceiveParams, type SendOptions } from '@coach/aws';
import { isDatabaseUnavailable, sql, type Database, type Kysely } from '@coach/db';

import { inParallel as mapInParallel } from './http-tally.ts';
import type { TestServer } from './server.ts';

/**
 * Shared tools of the fault-injection scenarios: raw HTTP calls with a hang
 * bound, a ledger of every result a job receives, Postgres backends ended from
 * outside, and queue wrappers that fail the way SQS does.
 */

/** One answer of the API over HTTP, or `hung` when none came within the bound. */
export type Answer =
  | { kind: 'ok'; status: number; data: unknown }
  | { kind: 'error'; status: number; appCode: string | undefined; message: string }
  | { kind: 'hung' };

/**
 * Calls one procedure over real HTTP with plain fetch (no client retries), so
 * the test sees every answer exactly as a phone would.
 */
export async function callApi(
  server: Pick<TestServer, 'trpcUrl'>,
  token: string,
  procedure: string,
  input: unknown,
  { method = 'POST', timeoutMs = 15_000 }: { method?: 'GET' | 'POST'; timeoutMs?: number } = {},
): Promise<Answer> {
  const url =
    method === 'GET'
      ? `${server.trpcUrl}/${procedure}?input=${encodeURIComponent(JSON.stringify(input))}`
      : `${server.trpcUrl}/${procedure}`;
  let response: Response;
  let text: string;
  try {
    response = await fetch(url, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: method === 'POST' ? JSON.stringify(input) : undefined,
      signal: AbortSignal.timeout(timeoutMs),
    });
    text = await response.text();
  } catch (error) {
    if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) return { kind: 'hung' };
    throw error;
  }
  const body = JSON.parse(text) as {
    result?: { data: unknown };
    error?: { message: string; data?: { appCode?: string } };
  };
  if (body.error) {
    return { kind: 'error', status: response.status, appCode: body.error.data?.appCode, message: body.error.message };
  }
  return { kind: 'ok', status: response.status, data: body.result?.data };
}

/** Words that would mean a database or driver detail reached a caller. */
export const INTERNAL_DETAIL =
  /postgres|pg_|sql|relation|terminat|connection|econn|kysely|violates|backend|stack|\bat\s+\S+\s\(/i;

/**
 * Records every write of a terminal outcome (result or failure) on a job, even
 * one that overwrites an earlier one, so "one result per job" is observed
 * rather than inferred from the final row.
 */
export async function installResultLedger(db: Kysely<Database>): Promise<void> {
  await sql`create table if not exists fault_result_writes (
    job_id uuid not null, status text not null, at timestamptz not null default clock_timestamp())`.execute(db);
  await sql`create or replace function fault_record_result() returns trigger language plpgsql as $$
    begin
      insert into fault_result_writes (job_id, status) values (new.id, new.status);
      return new;
    end $$`.execute(db);
  await sql`drop trigger if exists fault_record_result on video_analysis_jobs`.execute(db);
  await sql`create trigger fault_record_result after update on video_analysis_jobs for each row
    when (new.status in ('completed', 'failed')
          and (old.status is distinct from new.status or old.result is distinct from new.result))
    execute function fault_record_result()`.execute(db);
}

/** Terminal writes per job id, from the ledger. */
export async function resultWrites(db: Kysely<Database>): Promise<Map<string, number>> {
  const { rows } = await sql<{ jobId: string; writes: string }>`
    select job_id, count(*) as writes from fault_result_writes group by job_id`.execute(db);
  return new Map(rows.map((r) => [r.jobId, Number(r.writes)]));
}

/** A connection string for the cluster's maintenance database, next to `dbUrl`. */
function maintenanceUrl(dbUrl: string): { url: string; database: string } {
  const url = new URL(dbUrl);
  const database = decodeURIComponent(url.pathname.slice(1));
  url.pathname = '/postgres';
  url.search = '';
  return { url: url.toString(), database };
}

/**
 * Ends, from a separate connection, the backends of `dbUrl`'s database (only
 * those of `applicationName` when given), the way a failover, a DBA or an idle
 * reaper does. Repeats every `intervalMs` until stopped.
 */
export async function startBackendTerminator(
  dbUrl: string,
  { intervalMs, applicationName }: { intervalMs: number; applicationName?: string },
): Promise<{ stop(): Promise<{ rounds: number; terminated: number }> }> {
  const { url, database } = maintenanceUrl(dbUrl);
  const admin = new pg.Client({ connectionString: url });
  admin.on('error', () => {});
  await admin.connect();
  let rounds = 0;
  let terminated = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const { rows } = await admin.query<{ ended: boolean }>(
        `select pg_terminate_backend(pid) as ended from pg_stat_activity
          where datname = $1 and pid <> pg_backend_pid() and backend_type = 'client backend'
            and ($2::text is null or application_name = $2)`,
        [database, applicationName ?? null],
      );
      rounds += 1;
      terminated += rows.filter((r) => r.ended).length;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  let stopping: Promise<{ rounds: number; terminated: number }> | undefined;
  return {
    /** Stops the terminations; calling it again answers the same figures. */
    stop() {
      stopped = true;
      stopping ??= (async () => {
        try {
          await loop;
        } finally {
          await admin.end();
        }
        return { rounds, terminated };
      })();
      return stopping;
    },
  };
}

/** `dbUrl` with an application name, so a terminator can single out one process's pool. */
export function withApplicationName(dbUrl: string, name: string): string {
  const url = new URL(dbUrl);
  url.searchParams.set('application_name', name);
  return url.toString();
}

/**
 * Makes every insert into `table` end its own database connection
 * mid-statement: the API sees exactly what a connection dropped at that point
 * looks like. Returns the function that removes the fault.
 */
export async function dropConnectionOnInsert(
  db: Kysely<Database>,
  table: 'video_analysis_jobs' | 'outbox_messages',
): Promise<() => Promise<void>> {
  await sql`create or replace function fault_drop_connection() returns trigger language plpgsql as $$
    begin
      perform pg_terminate_backend(pg_backend_pid());
      return new;
    end $$`.execute(db);
  await sql`create trigger fault_drop_connection before insert on ${sql.table(table)}
    for each row execute function fault_drop_connection()`.execute(db);
  return async () => {
    // The pool may still hold a connection the fault ended whose close has not arrived yet (under
    // load it lands after the query's error): retry on the next connection rather than leave the fault on.
    for (let attempt = 1; ; attempt++) {
      try {
        await sql`drop trigger if exists fault_drop_connection on ${sql.table(table)}`.execute(db);
        return;
      } catch (error) {
        if (attempt >= 5 || !isDatabaseUnavailable(error)) throw error;
      }
    }
  };
}

/**
 * Ends the connection of `applicationName` at every write it makes to a job
 * during the job's first attempt after the claim (progress, lease renewals,
 * the result, the release), mid-statement: that attempt can record nothing,
 * and the job must still finish exactly once through a later one.
 */
export async function dropWritesOfFirstAttempt(db: Kysely<Database>, applicationName: string): Promise<void> {
  await sql`create or replace function fault_drop_first_attempt() returns trigger language plpgsql as $$
    begin
      perform pg_terminate_backend(pg_backend_pid());
      return new;
    end $$`.execute(db);
  await sql`create trigger fault_drop_first_attempt before update on video_analysis_jobs for each row
    when (old.attempts = 1 and new.attempts = 1 and old.status = 'processing'
          and current_setting('application_name') = ${sql.lit(applicationName)})
    execute function fault_drop_first_attempt()`.execute(db);
}

/**
 * The real queue, recording every message SQS accepted through it. With
 * `loseReplyOf`, chosen sends reach SQS but their reply is lost: the message is
 * stored, and the caller gets the timeout it would see if the answer never came.
 */
export class RecordingQueue implements MessageQueue {
  /** Sends SQS accepted and answered: `ms` from the call to the answer. */
  readonly accepted: { messageId: string; body: string; replyLost: boolean; ms: number }[] = [];

  constructor(
    private readonly inner: MessageQueue,
    private readonly loseReplyOf: (body: string) => boolean = () => false,
  ) {}

  async send(body: string, options?: SendOptions) {
    const started = performance.now();
    const sent = await this.inner.send(body, options);
    const replyLost = this.loseReplyOf(body);
    this.accepted.push({ messageId: sent.messageId, body, replyLost, ms: performance.now() - started });
    if (replyLost) {
      const timeout = new Error('The operation was aborted due to timeout');
      timeout.name = 'TimeoutError';
      throw new AwsUnavailableError('send message', { cause: timeout });
    }
    return sent;
  }
  receive(params: ReceiveParams): Promise<ReceivedMessage[]> {
    return this.inner.receive(params);
  }
  delete(receiptHandle: string) {
    return this.inner.delete(receiptHandle);
  }
  changeVisibility(receiptHandle: string, timeoutSeconds: number) {
    return this.inner.changeVisibility(receiptHandle, timeoutSeconds);
  }
  ping() {
    return this.inner.ping();
  }
}

/** Messages in a queue, visible, in flight or delayed. */
export async function queueDepth(server: Pick<TestServer, 'sqs'>, queueUrl: string): Promise<number> {
  const { Attributes } = await server.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    }),
  );
  return (
    Number(Attributes?.ApproximateNumberOfMessages ?? 0) +
    Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0) +
    Number(Attributes?.ApproximateNumberOfMessagesDelayed ?? 0)
  );
}

/** Message count per job id, from analysis-job message bodies. */
export function messagesPerJob(bodies: (string | undefined)[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const body of bodies) {
    const jobId = (JSON.parse(body ?? '{}') as { job_id?: string }).job_id ?? '(none)';
    counts.set(jobId, (counts.get(jobId) ?? 0) + 1);
  }
  return counts;
}

/** Bodies of drained SQS messages. */
export const bodiesOf = (messages: Message[]) => messages.map((m) => m.Body);

/** Runs `count` indexed tasks with at most `concurrency` in flight; results in index order. */
export function inParallel<T>(count: number, concurrency: number, task: (index: number) => Promise<T>): Promise<T[]> {
  return mapInParallel(
    Array.from({ length: count }, (_, index) => index),
    concurrency,
    (index) => task(index),
  );
}

/** A session for `token`'s user, over HTTP. */
export async function createSession(server: Pick<TestServer, 'trpcUrl'>, token: string): Promise<string> {
  const answer = await callApi(server, token, 'sessions.create', { title: 'Faults', playerIds: [] });
  if (answer.kind !== 'ok') throw new Error(`sessions.create failed: ${JSON.stringify(answer)}`);
  return (answer.data as { sessionId: string }).sessionId;
}

/** initiate + the PUT to storage: a job whose file has arrived and that waits for `complete`. */
export async function uploadedJob(
  server: Pick<TestServer, 'trpcUrl'>,
  token: string,
  sessionId: string,
  body: Uint8Array,
  options: { sampleFps?: number; includeFrames?: boolean } = {},
): Promise<string> {
  const answer = await callApi(server, token, 'upload.initiate', {
    sessionId,
    sizeBytes: body.byteLength,
    contentType: 'video/mp4',
    ...options,
  });
  if (answer.kind !== 'ok') throw new Error(`upload.initiate failed: ${JSON.stringify(answer)}`);
  const upload = answer.data as { jobId: string; presignedUrl: string; headers: Record<string, string> };
  const put = await fetch(upload.presignedUrl, { method: 'PUT', headers: upload.headers, body });
  if (put.status !== 200) throw new Error(`PUT to storage answered ${put.status}`);
  return upload.jobId;
}
