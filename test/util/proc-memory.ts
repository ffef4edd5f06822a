// Resident memory of processes from /proc (Linux): what a test asserts memory bounds on.
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcMemory {
  /** Resident now (VmRSS), bytes. */
  readonly rss: number;
  /** Peak resident so far (VmHWM), bytes. */
  readonly hwm: number;
  /** Anonymous resident (RssAnon: heaps, ORT buffers), bytes. */
  readonly anon: number;
  /** File-backed resident (RssFile: code, mapped files), bytes. */
  readonly file: number;
}

export const MiB = 1024 ** 2;

export function procMemory(pid: number): ProcMemory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string): number => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB$`, 'm').exec(status);
    if (!m) throw new Error(`no ${key} for pid ${pid}`);
    return Number(m[1]) * 1024;
  };
  return { rss: kb('VmRSS'), hwm: kb('VmHWM'), anon: kb('RssAnon'), file: kb('RssFile') };
}

/** Every live descendant of `pid` (a browser's renderer and GPU processes), from /proc/<n>/stat. */
export function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // Field 4 is the parent id; the command name (field 2) may hold spaces, so parse after ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parent.set(Number(name), ppid);
    } catch {
      // the process exited between the listing and the read: it is no descendant any more
    }
  }
  const out: number[] = [];
  const frontier = [pid];
  while (frontier.length > 0 && out.length < parent.size) {
    const p = frontier.pop() as number;
    for (const [child, pp] of parent)
      if (pp === p) {
        out.push(child);
        frontier.push(child);
      }
  }
  return out;
}

/** The command line of `pid` as its arguments ('' once it exited). */
export function commandLine(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      .split('\0')
      .filter((s) => s.length > 0);
  } catch {
    return [];
  }
}
