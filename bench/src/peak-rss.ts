import { readFileSync } from 'node:fs';

/**
 * This process's peak resident set (KiB). Linux's VmHWM belongs to the
 * process's own address space; getrusage's maxRSS is not usable in a child,
 * because on Linux it starts from the RSS of the parent that forked it.
 */
export function peakRssKiB(): number {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (match?.[1]) return Number(match[1]);
  } catch {
    // Not Linux: fall through.
  }
  return process.resourceUsage().maxRSS;
}
