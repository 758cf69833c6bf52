/**
 * CPU and memory of processes over a measured window, from Linux's /proc:
 * CPU = utime + stime of /proc/<pid>/stat (clock ticks; 100 per second on Linux), RSS = VmRSS of
 * /proc/<pid>/status. RSS is polled during the window to catch its peak. The whole machine's busy
 * time (/proc/stat) shows how much CPU was left, and what other processes took.
 */
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';

const CLOCK_TICKS_PER_SECOND = 100;

export interface ProcessTarget {
  name: string;
  pid: number;
}

export interface ProcessUsage {
  name: string;
  pid: number;
  /** user + system CPU seconds spent in the window. */
  cpuSeconds: number;
  /** Of one core, over the window. */
  cpuPercent: number;
  rssMb: number;
  peakRssMb: number;
}

/** user + system CPU seconds of a process so far; undefined when it is gone. */
export async function cpuSeconds(pid: number): Promise<number | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (!stat) return undefined;
  // Fields after "(comm)", which may contain spaces: state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

/** Resident memory in MB; undefined when the process is gone. */
export async function rssMb(pid: number): Promise<number | undefined> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => undefined);
  const kb = status && /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
  return kb ? Number(kb) / 1024 : undefined;
}

export interface MachineUsage {
  cpus: number;
  /** Cores' worth of CPU busy over the window, all processes. */
  busyCores: number;
  /** CPU seconds of processes other than the sampled ones (other work on this machine). */
  otherCpuSeconds: number;
}

/** Busy and total CPU seconds of the whole machine so far (/proc/stat, first line). */
async function machineCpu(): Promise<{ busy: number; total: number }> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n', 1)[0]!;
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.split(/\s+/).slice(1).map(Number) as number[];
  const busy = user! + nice! + system! + irq! + softirq! + steal!;
  return { busy: busy / CLOCK_TICKS_PER_SECOND, total: (busy + idle! + iowait!) / CLOCK_TICKS_PER_SECOND };
}

export class ProcessSampler {
  private startCpu = new Map<number, number>();
  private startMachine = { busy: 0, total: 0 };
  private peak = new Map<number, number>();
  private startedAt = 0;
  private timer: NodeJS.Timeout | undefined;

  private readonly targets: ProcessTarget[];
  private readonly rssIntervalMs: number;

  constructor(targets: ProcessTarget[], rssIntervalMs: number = 250) {
    this.targets = targets;
    this.rssIntervalMs = rssIntervalMs;
  }

  async start(): Promise<void> {
    this.startedAt = performance.now();
    this.startMachine = await machineCpu();
    for (const t of this.targets) this.startCpu.set(t.pid, (await cpuSeconds(t.pid)) ?? 0);
    this.peak.clear();
    await this.pollRss();
    this.timer = setInterval(() => void this.pollRss(), this.rssIntervalMs);
    this.timer.unref();
  }

  /** Ends the window and reports each process's usage in it. */
  async stop(): Promise<{ windowSeconds: number; usage: ProcessUsage[]; machine: MachineUsage }> {
    clearInterval(this.timer);
    const windowSeconds = (performance.now() - this.startedAt) / 1000;
    const machine = await machineCpu();
    await this.pollRss();
    const usage: ProcessUsage[] = [];
    for (const t of this.targets) {
      const cpu = ((await cpuSeconds(t.pid)) ?? Number.NaN) - (this.startCpu.get(t.pid) ?? 0);
      usage.push({
        name: t.name,
        pid: t.pid,
        cpuSeconds: cpu,
        cpuPercent: (cpu / windowSeconds) * 100,
        rssMb: (await rssMb(t.pid)) ?? Number.NaN,
        peakRssMb: this.peak.get(t.pid) ?? Number.NaN,
      });
    }
    const busy = machine.busy - this.startMachine.busy;
    const ours = usage.reduce((sum, u) => sum + (Number.isNaN(u.cpuSeconds) ? 0 : u.cpuSeconds), 0);
    return {
      windowSeconds,
      usage,
      machine: { cpus: availableParallelism(), busyCores: busy / windowSeconds, otherCpuSeconds: Math.max(0, busy - ours) },
    };
  }

  private async pollRss(): Promise<void> {
    for (const t of this.targets) {
      const rss = await rssMb(t.pid);
      if (rss !== undefined) this.peak.set(t.pid, Math.max(rss, this.peak.get(t.pid) ?? 0));
    }
  }
}
