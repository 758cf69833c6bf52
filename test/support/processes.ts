/**
 * Processes as Linux's /proc shows them, for tests and the test runner that must prove nothing was
 * left running: who descends from whom, who is in a process group, and whether a process recorded
 * earlier (not a later one that reused its id) still runs.
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcessStat {
  /** The state letter (`Z`: a zombie, finished and waiting for its parent). */
  state: string;
  ppid: number;
  pgrp: number;
  /** Start time since boot, in clock ticks: tells a reused process id apart. */
  started: string;
}

export interface ProcessId {
  pid: number;
  started: string;
}

export function stat(pid: number): ProcessStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may contain spaces.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0]!, ppid: Number(fields[1]), pgrp: Number(fields[2]), started: fields[19]! };
  } catch {
    return undefined;
  }
}

function allProcesses(): { pid: number; stat: ProcessStat }[] {
  const found: { pid: number; stat: ProcessStat }[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const s = stat(pid);
    if (s) found.push({ pid, stat: s });
  }
  return found;
}

/** Every live descendant of `root`. */
export function descendants(root: number): ProcessId[] {
  const children = new Map<number, ProcessId[]>();
  for (const { pid, stat: s } of allProcesses()) children.set(s.ppid, [...(children.get(s.ppid) ?? []), { pid, started: s.started }]);
  const found: ProcessId[] = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      found.push(child);
      queue.push(child.pid);
    }
  }
  return found;
}

/** The running members of process group `pgid` (zombies and the leader itself left out), with their command lines. */
export function groupMembers(pgid: number): { pid: number; command: string }[] {
  return allProcesses()
    .filter(({ pid, stat: s }) => s.pgrp === pgid && pid !== pgid && s.state !== 'Z')
    .map(({ pid }) => {
      let command = '';
      try {
        command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
      } catch {
        // Gone while we looked.
      }
      return { pid, command };
    });
}

/** Whether that process (not a later one with the same id) still runs; a zombie does not. */
export function alive({ pid, started }: ProcessId): boolean {
  const s = stat(pid);
  return s !== undefined && s.started === started && s.state !== 'Z';
}

/** Sends `signal` to every process in group `pgid`; nothing to do when none is left. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}
