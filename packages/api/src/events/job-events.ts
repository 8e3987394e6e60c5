/** Tells subscribers that a job may have changed; they re-read it themselves. */
export interface JobEvents {
  subscribe(jobId: string, onChange: () => void): () => void;
}

export interface JobEventHub extends JobEvents {
  /** One job changed (e.g. a Postgres notification arrived). */
  publish(jobId: string): void;
  /** Anything may have changed (e.g. notifications were missed during a reconnect). */
  publishAll(): void;
  readonly subscriberCount: number;
}

/** In-process fan-out; one per API process, fed by the database's job notifications. */
export function createJobEventHub(): JobEventHub {
  const byJob = new Map<string, Set<() => void>>();
  let count = 0;
  const fire = (listeners: Iterable<() => void>) => {
    for (const listener of listeners) listener();
  };
  return {
    subscribe(jobId, onChange) {
      let set = byJob.get(jobId);
      if (!set) byJob.set(jobId, (set = new Set()));
      set.add(onChange);
      count += 1;
      return () => {
        if (set.delete(onChange)) count -= 1;
        if (set.size === 0) byJob.delete(jobId);
      };
    },
    publish(jobId) {
      const set = byJob.get(jobId);
      if (set) fire([...set]);
    },
    publishAll() {
      for (const set of [...byJob.values()]) fire([...set]);
    },
    get subscriberCount() {
      return count;
    },
  };
}
