/**
 * CPU pinning with util-linux's `taskset`: the gateway under test gets a core to itself, everything
 * else (subgraphs, load generator) the others, so the gateways are measured on the same one core
 * and the load does not steal from them. Without `taskset`, or on one core, nothing is pinned and
 * the report says so.
 */
import { execFile } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface CpuPlan {
  /** The core list (taskset -c) for the gateway under test. */
  gateway: string;
  /** The core list for the rest. */
  rest: string;
}

/** The last core for the gateway, the others for the rest; undefined when there is one core or no taskset. */
export async function planCpus(): Promise<CpuPlan | undefined> {
  const cpus = availableParallelism();
  if (cpus < 2) return undefined;
  const available = await run('taskset', ['--version']).then(
    () => true,
    () => false,
  );
  if (!available) return undefined;
  return { gateway: String(cpus - 1), rest: cpus === 2 ? '0' : `0-${cpus - 2}` };
}

/** Pins every thread of `pid` (threads made later inherit it) to the cores of `list`. */
export async function pin(pid: number, list: string): Promise<void> {
  await run('taskset', ['--all-tasks', '--pid', '--cpu-list', list, String(pid)]);
}

/** The core list `pid` may run on now (to put it back after). */
export async function affinityOf(pid: number): Promise<string> {
  const { stdout } = await run('taskset', ['--pid', '--cpu-list', String(pid)]);
  const list = /:\s*(\S+)\s*$/.exec(stdout.trim())?.[1];
  if (!list) throw new Error(`taskset printed no core list for ${pid}: ${stdout}`);
  return list;
}
