import pg from 'pg';

export interface NotificationListenerOptions {
  connectionString: string;
  channel: string;
  onNotification(payload: string): void;
  /** Called after every (re)connect: notifications sent while disconnected are lost, so listeners re-read state. */
  onConnected?(): void;
  onError?(error: Error): void;
  reconnectDelayMs?: number;
}

export interface NotificationListener {
  close(): Promise<void>;
}

/**
 * Holds one dedicated connection that LISTENs on `channel`, reconnecting after
 * failures. Pooled connections cannot LISTEN reliably, hence its own client.
 */
export async function listenForNotifications(options: NotificationListenerOptions): Promise<NotificationListener> {
  let client: pg.Client | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;

  const connect = async (): Promise<void> => {
    // keepAlive: a silently dropped connection is noticed and replaced.
    const next = new pg.Client({ connectionString: options.connectionString, keepAlive: true });
    next.on('notification', (message) => {
      if (message.channel === options.channel && message.payload) options.onNotification(message.payload);
    });
    next.on('error', () => {}); // until connected, failures surface from connect() instead
    try {
      await next.connect();
      await next.query(`listen ${pg.escapeIdentifier(options.channel)}`);
    } catch (error) {
      await next.end().catch(() => {});
      throw error;
    }
    next.removeAllListeners('error');
    next.on('error', (error) => {
      options.onError?.(error);
      scheduleReconnect();
    });
    next.on('end', () => scheduleReconnect());
    client = next;
    options.onConnected?.();
  };

  const scheduleReconnect = () => {
    if (closed || retry) return;
    const dead = client;
    client = undefined;
    dead?.removeAllListeners('end');
    void dead?.end().catch(() => {});
    retry = setTimeout(() => {
      retry = undefined;
      connect().catch((error: unknown) => {
        options.onError?.(error instanceof Error ? error : new Error(String(error)));
        scheduleReconnect();
      });
    }, options.reconnectDelayMs ?? 1_000);
  };

  await connect();
  return {
    async close() {
      closed = true;
      clearTimeout(retry);
      const current = client;
      client = undefined;
      current?.removeAllListeners('end');
      await current?.end().catch(() => {});
    },
  };
}

/** The channel the video_analysis_jobs trigger notifies, with the job id as payload. */
export const JOB_EVENTS_CHANNEL = 'job_events';
