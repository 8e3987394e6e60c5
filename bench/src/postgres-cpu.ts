import { readdirSync, readFileSync } from 'node:fs';

/** Linux's USER_HZ: /proc reports CPU time in ticks of 1/100 s. */
const TICK_MICROS = 10_000;

interface ProcStat {
  ppid: string;
  /** utime + stime of the process itself. */
  own: number;
  /** cutime + cstime: CPU of its children that have exited and been reaped. */
  reaped: number;
}

function readStat(pid: string): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "(comm) ": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return {
      ppid: fields[1] ?? '',
      own: Number(fields[11]) + Number(fields[12]),
      reaped: Number(fields[13]) + Number(fields[14]),
    };
  } catch {
    return undefined;
  }
}

/**
 * CPU time (µs, 10 ms resolution) of one PostgreSQL cluster: its postmaster,
 * every live child (backends, WAL writer, …) and the children that already
 * exited (counted in the postmaster's reaped time), so the figure only grows
 * even when pooled connections close. Postgres shares the machine's cores with
 * the servers under test, so its cost per request bounds what they can reach.
 * Undefined where /proc is not available.
 */
export function createPostgresCpuReader(port: number): () => number | undefined {
  let postmaster: string | undefined;
  const marker = `\0-p\0${port}\0`;
  const pids = () => readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  const findPostmaster = () =>
    pids().find((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker);
      } catch {
        return false;
      }
    });
  return () => {
    try {
      postmaster ??= findPostmaster();
      if (!postmaster) return undefined;
      const master = readStat(postmaster);
      if (!master) return undefined;
      let ticks = master.own + master.reaped;
      for (const pid of pids()) {
        const stat = readStat(pid);
        if (stat?.ppid === postmaster) ticks += stat.own;
      }
      return ticks * TICK_MICROS;
    } catch {
      return undefined;
    }
  };
}
